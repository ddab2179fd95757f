// BitwiseAnd, BitwiseOr, BitwiseXor, BitwiseNot and BitShift on integer tensors, with numpy broadcasting.
//
// Specs: https://onnx.ai/onnx/operators/onnx__BitwiseAnd.html (Or, Xor, Not alike: opset 18),
// https://onnx.ai/onnx/operators/onnx__BitShift.html (opset 11; direction LEFT|RIGHT, unsigned types).
// Arity: A, B -> C (BitwiseNot: X -> Y).

struct BitwiseOperator: Operator {
    enum Operation: Sendable { case and, or, xor, not, shiftLeft, shiftRight }
    let operation: Operation

    init(_ context: OperatorContext, _ operation: Operation) throws {
        var operation = operation
        if operation == .shiftLeft {
            let direction = try context.string("direction", default: "")
            guard direction == "LEFT" || direction == "RIGHT" else {
                throw context.invalid("direction '\(direction)' is not LEFT or RIGHT")
            }
            operation = direction == "LEFT" ? .shiftLeft : .shiftRight
        }
        try context.expectInputs(operation == .not ? 1...1 : 2...2)
        self.operation = operation
    }

    private static let types: [ElementType] = [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64]

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type
        guard Self.types.contains(a.elementType) else { throw unsupportedType(a.elementType) }
        if operation == .not { return [a] }
        let b = try requiredInput(inputs, 1, "B").type
        guard b.elementType == a.elementType else { throw ONNXRunError(.invalidModel, "inputs differ in type: \(a), \(b)") }
        return [TensorType(elementType: a.elementType, shape: try broadcastDimensions([a.shape, b.shape]))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let a = try requiredInput(inputs, 0, "A")
        let b = operation == .not ? a : try requiredInput(inputs, 1, "B")
        guard Self.types.contains(a.elementType), b.elementType == a.elementType else { throw unsupportedType(a.elementType) }
        switch a.elementType {
        case .int8: return [try apply(a, b, Int8.self)]
        case .int16: return [try apply(a, b, Int16.self)]
        case .int32: return [try apply(a, b, Int32.self)]
        case .int64: return [try apply(a, b, Int64.self)]
        case .uint8: return [try apply(a, b, UInt8.self)]
        case .uint16: return [try apply(a, b, UInt16.self)]
        case .uint32: return [try apply(a, b, UInt32.self)]
        default: return [try apply(a, b, UInt64.self)]
        }
    }

    private func apply<Value: FixedWidthInteger & TensorElement>(_ a: Tensor, _ b: Tensor, _ type: Value.Type) throws -> Tensor {
        let operation = self.operation
        return try broadcastBinary(a, b, Value.self) { (left: Value, right: Value) -> Value in
            switch operation {
            case .and: left & right
            case .or: left | right
            case .xor: left ^ right
            case .not: ~left
            // Shifts of the bit width or more give 0 (masking shifts would wrap).
            case .shiftLeft: right < 0 || right >= Value.bitWidth ? 0 : left << right
            case .shiftRight: right < 0 || right >= Value.bitWidth ? 0 : left >> right
            }
        }
    }
}
