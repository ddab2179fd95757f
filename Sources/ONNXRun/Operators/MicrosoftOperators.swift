// The operators of onnxruntime's `com.microsoft` domain that onnxrun implements: the contrib operators its
// quantization tool writes in QOperator-format models.

enum MicrosoftOperators {
    static let domain = "com.microsoft"

    /// Every contrib operator here has one version (1); the builders accept any opset of the domain a model imports.
    static let all: [OperatorDefinition] = [
        define("QLinearAdd") { try QuantizedBinaryOperator($0, .add) },
        define("QLinearMul") { try QuantizedBinaryOperator($0, .multiply) },
        define("QLinearGlobalAveragePool") { try QuantizedGlobalAveragePoolOperator($0) },
        define("QLinearAveragePool") { try QuantizedAveragePoolOperator($0) },
        define("QLinearConcat") { try QuantizedConcatOperator($0) },
        define("QLinearSigmoid") { try QuantizedActivationOperator($0, sigmoid: true) },
        define("QLinearLeakyRelu") { try QuantizedActivationOperator($0, sigmoid: false) },
        define("QLinearSoftmax") { try QuantizedSoftmaxOperator($0) },
        define("QGemm") { try QuantizedGemmOperator($0) },
    ]

    private static func define(_ opType: String,
                               _ build: @escaping @Sendable (OperatorContext) throws -> any Operator) -> OperatorDefinition {
        OperatorDefinition(domain: domain, opType: opType, opsets: 1...Int(Int32.max), build: build)
    }
}
