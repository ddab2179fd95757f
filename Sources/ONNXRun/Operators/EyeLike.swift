// EyeLike: a 2-D tensor of the input's shape with ones on the k-th diagonal.
//
// Spec: https://onnx.ai/onnx/operators/onnx__EyeLike.html
// Opset history: 9, 22. Arity: input (2-D) -> output of `dtype` (default: the input's type).

struct EyeLikeOperator: Operator {
    let type: ElementType?
    let k: Int

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        k = try context.int("k", default: 0)
        if let code = try context.int("dtype") {
            guard let type = ElementType(rawValue: Int32(truncatingIfNeeded: code)), type != .string else {
                throw context.unsupported("dtype \(code) is not supported")
            }
            self.type = type
        } else {
            type = nil
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        return [TensorType(elementType: type ?? input.elementType, shape: input.shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        guard input.rank == 2 else { throw runtimeError("input must be 2-D", inputs) }
        let rows = input.shape[0], columns = input.shape[1]
        let values = (0..<(rows * columns)).map { Int64($0 % columns - $0 / columns == k ? 1 : 0) }
        return [try castTensor(Tensor(shape: input.shape, computed: values), to: type ?? input.elementType)]
    }
}
