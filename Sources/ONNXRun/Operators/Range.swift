// Range: start, start + delta, ... up to (excluding) limit, for float, double, int32, int64 scalars.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Range.html
// Opset history: 11. Arity: start, limit, delta (scalars of one type) -> 1-D output of
// max(ceil((limit - start) / delta), 0) elements.

struct RangeOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(3...3)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let start = try requiredInput(inputs, 0, "start")
        let types = try (0..<3).map { try requiredInput(inputs, $0, "start/limit/delta").type.elementType }
        guard [.float, .double, .int64, .int32, .int16].contains(types[0]), types.allSatisfy({ $0 == types[0] }) else {
            throw unsupportedType(types[0])
        }
        if let constants = Optional(inputs.compactMap { $0?.constant }), constants.count == 3 {
            return [TensorType(elementType: start.type.elementType, fixedShape: [try count(constants)])]
        }
        return [TensorType(elementType: start.type.elementType, shape: [.unknown])]
    }

    private func count(_ tensors: [Tensor]) throws -> Int {
        guard tensors.allSatisfy({ $0.elementCount == 1 }) else {
            throw runtimeError("start, limit and delta must be scalars", tensors)
        }
        if let integers = Optional(tensors.compactMap { $0.integers?.first }), integers.count == 3 {
            let (start, limit, delta) = (integers[0], integers[1], integers[2])
            guard delta != 0 else { throw runtimeError("delta is 0", tensors) }
            let distance = limit.subtractingReportingOverflow(start)
            guard !distance.overflow else { throw runtimeError("range is too large", tensors) }
            let quotient = distance.partialValue.dividedReportingOverflow(by: delta).partialValue
            let remainder = distance.partialValue.remainderReportingOverflow(dividingBy: delta).partialValue
            let steps = quotient + (remainder != 0 && (remainder > 0) == (delta > 0) ? 1 : 0)
            guard steps <= maximumComputedElementCount else { throw runtimeError("range is too large", tensors) }
            return max(steps, 0)
        }
        let values = tensors.map { $0.doubleValue(at: 0) ?? .nan }
        let steps = ((values[1] - values[0]) / values[2]).rounded(.up)
        if steps.isNaN || steps <= 0 { return 0 }
        guard steps <= Double(maximumComputedElementCount) else { throw runtimeError("range is too large", tensors) }
        return Int(steps)
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let tensors = try (0..<3).map { try requiredInput(inputs, $0, "start/limit/delta") }
        let type = tensors[0].elementType
        guard tensors.allSatisfy({ $0.elementType == type }) else { throw runtimeError("inputs differ in type", inputs) }
        let count = try count(tensors)
        switch type {
        case .float:
            let start = tensors[0].floats[0], delta = tensors[2].floats[0]
            // Accumulate as onnxruntime does (start + i * delta in float).
            return [Tensor(shape: [count], computed: (0..<count).map { start + Float($0) * delta })]
        case .double:
            let start = tensors[0].scalars(as: Double.self)[0], delta = tensors[2].scalars(as: Double.self)[0]
            return [Tensor(shape: [count], computed: (0..<count).map { start + Double($0) * delta })]
        case .int64, .int32, .int16:
            let start = Int64(tensors[0].integers?[0] ?? 0), delta = Int64(tensors[2].integers?[0] ?? 0)
            let values = (0..<count).map { start &+ Int64($0) &* delta }
            return [try castTensor(Tensor(shape: [count], computed: values), to: type)]
        default:
            throw unsupportedType(type)
        }
    }
}
