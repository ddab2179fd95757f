// PRelu: x for x >= 0, slope * x otherwise, with slope broadcast unidirectionally to x.
//
// Spec: https://onnx.ai/onnx/operators/onnx__PRelu.html
// Opset history: 1 (consumed_inputs), 6, 7 (numpy broadcasting), 9 (integer types), 16 (bfloat16).
// Arity: X, slope -> Y. Float32.

struct PReluOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...2)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        try requireFloat(try requiredInput(inputs, 1, "slope").type, "slope")
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X"), slope = try requiredInput(inputs, 1, "slope")
        try requireFloat(x, "X")
        try requireFloat(slope, "slope")
        guard broadcastShape([x.shape, slope.shape]) == x.shape else {
            throw runtimeError("slope does not broadcast to X", inputs)
        }
        return [try broadcastBinary(x, slope, Float.self) { $0 >= 0 ? $0 : $0 * $1 }]
    }
}
