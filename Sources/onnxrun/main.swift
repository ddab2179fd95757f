import ONNXRun
print("onnxrun")
