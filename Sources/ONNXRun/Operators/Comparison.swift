// Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor, Not and Where: the boolean operators exporters emit
// in shape subgraphs, with numpy broadcasting.
//
// Specs: https://onnx.ai/onnx/operators/onnx__Equal.html (and the others alike), onnx__Where.html
// Opset history: Equal/Less/Greater 1 (legacy broadcast attribute), 7 (numpy broadcasting), 9/11/13/19 (more types);
// LessOrEqual/GreaterOrEqual 12, 16; And/Or/Xor 1 (legacy broadcast), 7; Not 1; Where 9, 16.
// Registered from opset 7 (the legacy broadcast forms are not implemented). Arity: A, B -> bool C; Where: condition,
// X, Y -> output.

enum Comparison: Sendable {
    case equal, less, greater, lessOrEqual, greaterOrEqual, and, or, xor
}

struct ComparisonOperator: Operator {
    let comparison: Comparison

    init(_ context: OperatorContext, _ comparison: Comparison) throws {
        try context.expectInputs(2...2)
        self.comparison = comparison
    }

    private var isLogical: Bool { [.and, .or, .xor].contains(comparison) }

    private func checkTypes(_ a: ElementType, _ b: ElementType) throws {
        guard a == b else { throw ONNXRunError(.invalidModel, "inputs have different types \(a) and \(b)") }
        let supported: [ElementType] = isLogical ? [.bool]
            : [.float, .double, .int64, .int32, .int16, .int8, .uint8, .uint16, .uint32, .uint64]
                + (comparison == .equal ? [.bool] : [])
        guard supported.contains(a) else { throw unsupportedType(a) }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type, b = try requiredInput(inputs, 1, "B").type
        try checkTypes(a.elementType, b.elementType)
        return [TensorType(elementType: .bool, shape: try broadcastDimensions([a.shape, b.shape]))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let a = try requiredInput(inputs, 0, "A"), b = try requiredInput(inputs, 1, "B")
        try checkTypes(a.elementType, b.elementType)
        switch a.elementType {
        case .bool:
            return [try broadcastBinary(a, b, Bool.self) { (left: Bool, right: Bool) -> Bool in
                switch comparison {
                case .and: left && right
                case .or: left || right
                case .xor: left != right
                default: left == right
                }
            }]
        case .float: return [try compare(a, b, Float.self)]
        case .double: return [try compare(a, b, Double.self)]
        case .int64: return [try compare(a, b, Int64.self)]
        case .int32: return [try compare(a, b, Int32.self)]
        case .int16: return [try compare(a, b, Int16.self)]
        case .int8: return [try compare(a, b, Int8.self)]
        case .uint8: return [try compare(a, b, UInt8.self)]
        case .uint16: return [try compare(a, b, UInt16.self)]
        case .uint32: return [try compare(a, b, UInt32.self)]
        case .uint64: return [try compare(a, b, UInt64.self)]
        default: throw unsupportedType(a.elementType)
        }
    }

    private func compare<Value: TensorElement & Comparable>(_ a: Tensor, _ b: Tensor, _ type: Value.Type) throws -> Tensor {
        let comparison = self.comparison
        return try broadcastBinary(a, b, Value.self) { (left: Value, right: Value) -> Bool in
            switch comparison {
            case .equal: left == right
            case .less: left < right
            case .greater: left > right
            case .lessOrEqual: left <= right
            case .greaterOrEqual: left >= right
            default: false
            }
        }
    }
}

struct NotOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        guard x.elementType == .bool else { throw unsupportedType(x.elementType) }
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        guard x.elementType == .bool else { throw unsupportedType(x.elementType) }
        return [Tensor(shape: x.shape, computed: x.scalars(as: Bool.self).map { !$0 })]
    }
}

// MARK: - Where

struct WhereOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(3...3)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let condition = try requiredInput(inputs, 0, "condition").type
        let x = try requiredInput(inputs, 1, "X").type, y = try requiredInput(inputs, 2, "Y").type
        guard condition.elementType == .bool else { throw unsupportedType(condition.elementType, "condition") }
        guard x.elementType == y.elementType, x.elementType != .string else {
            throw ONNXRunError(.invalidModel, "X \(x) and Y \(y) must have the same (non-string) type")
        }
        return [TensorType(elementType: x.elementType, shape: try broadcastDimensions([condition.shape, x.shape, y.shape]))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let condition = try requiredInput(inputs, 0, "condition")
        let x = try requiredInput(inputs, 1, "X"), y = try requiredInput(inputs, 2, "Y")
        guard condition.elementType == .bool, x.elementType == y.elementType, x.elementType != .string else {
            throw runtimeError("condition must be bool, X and Y of one type", inputs)
        }
        guard let shape = broadcastShape([condition.shape, x.shape, y.shape]) else {
            throw runtimeError("shapes do not broadcast", inputs)
        }
        _ = try checkedCount(shape, inputs)
        let conditionOffsets = broadcastOffsets(from: condition.shape, to: shape)
        let xOffsets = broadcastOffsets(from: x.shape, to: shape)
        let yOffsets = broadcastOffsets(from: y.shape, to: shape)
        let flags = condition.scalars(as: Bool.self)
        // Select from X's elements followed by Y's.
        let combined = try ConcatOperator.joinFlat(x, y)
        let offsets = conditionOffsets.indices.map { flags[conditionOffsets[$0]] ? xOffsets[$0] : x.elementCount + yOffsets[$0] }
        return [combined.gathering(offsets: offsets, shape: shape)]
    }
}
