public enum ONNXRunVisionPlaceholder {}
