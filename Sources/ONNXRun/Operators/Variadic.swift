// Max, Min, Sum, Mean: elementwise over any number of inputs, with numpy broadcasting.
//
// Specs: https://onnx.ai/onnx/operators/onnx__Max.html (Min, Sum, Mean alike)
// Opset history: 1 (consumed_inputs), 6 (same shapes), 8 (numpy broadcasting), 12 (Max/Min: integer types), 13.
// Arity: 1 or more -> 1. Float32 (Max/Min also int32/int64).

struct VariadicOperator: Operator {
    enum Kind: Sendable { case maximum, minimum, sum, mean }
    let kind: Kind

    init(_ context: OperatorContext, _ kind: Kind) throws {
        guard !context.node.inputs.isEmpty, context.node.outputs.count == 1 else {
            throw context.invalid("expects at least 1 input and 1 output")
        }
        self.kind = kind
    }

    private func checkType(_ type: ElementType) throws {
        let supported: [ElementType] = [.maximum, .minimum].contains(kind) ? arithmeticTypes : [.float, .double]
        guard supported.contains(type) else { throw unsupportedType(type) }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let types = try inputs.indices.map { try requiredInput(inputs, $0, "data").type }
        try checkType(types[0].elementType)
        guard types.allSatisfy({ $0.elementType == types[0].elementType }) else {
            throw ONNXRunError(.invalidModel, "inputs have different types: \(types)")
        }
        return [TensorType(elementType: types[0].elementType, shape: try broadcastDimensions(types.map(\.shape)))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let tensors = try inputs.indices.map { try requiredInput(inputs, $0, "data") }
        try checkType(tensors[0].elementType)
        guard tensors.allSatisfy({ $0.elementType == tensors[0].elementType }) else {
            throw runtimeError("inputs have different types", inputs)
        }
        let operation: ArithmeticOperation = switch kind {
        case .maximum: .maximum
        case .minimum: .minimum
        case .sum, .mean: .add
        }
        var result = tensors[0]
        for tensor in tensors.dropFirst() { result = try arithmetic(operation, result, tensor) }
        if kind == .mean {
            let divisor = try castTensor(Tensor(shape: [], computed: [Float(tensors.count)]), to: result.elementType)
            result = try arithmetic(.divide, result, divisor)
        }
        return [result]
    }
}
