// The list of standard ONNX operators onnxrun implements; the registry and the README's table come from it.

enum StandardOperators {
    static let all: [OperatorDefinition] = []
}
