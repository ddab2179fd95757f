// Add, Sub, Mul, Div, Pow, Mod: elementwise arithmetic with multidirectional (numpy) broadcasting, float and integer.
//
// Specs: https://onnx.ai/onnx/operators/onnx__Add.html (Sub, Mul, Div alike), onnx__Pow.html, onnx__Mod.html
// Opset history (Add/Sub/Mul/Div): 1 (consumed_inputs, legacy broadcast/axis), 6 (legacy broadcast/axis: B is
// broadcast onto A starting at `axis` when broadcast = 1), 7 (numpy broadcasting), 13 (bfloat16), 14 (more integer
// types). Pow: 1 (legacy broadcast), 7 (numpy), 12 (exponent type may differ), 13, 15. Mod: 10 (fmod), 13.
// Arity: A, B -> C.

import Foundation

enum ArithmeticOperation: Sendable {
    case add, subtract, multiply, divide, power, modulo, floatModulo, maximum, minimum
}

struct ElementwiseBinaryOperator: BinaryArithmeticOperator {
    let operation: ArithmeticOperation
    /// Opset < 7 only: how B lines up with A.
    enum LegacyBroadcast: Sendable {
        /// broadcast = 0 (or opset >= 7): numpy rules.
        case none
        /// broadcast = 1 without axis: B's dimensions line up with A's last ones.
        case trailing
        /// broadcast = 1 with axis: B's dimensions line up with A's starting at this axis.
        case axis(Int)
    }

    let legacyBroadcast: LegacyBroadcast

    init(_ context: OperatorContext, _ operation: ArithmeticOperation) throws {
        try context.expectInputs(2...2)
        var operation = operation
        if operation == .modulo, try context.int("fmod", default: 0) == 1 { operation = .floatModulo }
        self.operation = operation
        if context.opset < 7, try context.int("broadcast", default: 0) == 1 {
            legacyBroadcast = try context.int("axis").map { .axis($0) } ?? .trailing
        } else {
            legacyBroadcast = .none
        }
    }

    /// B's shape made numpy-compatible with A's under the legacy (opset < 7) broadcast rule.
    private func legacyShape<Value>(_ a: [Value], _ b: [Value], one: Value) throws -> [Value] {
        let axis: Int
        switch legacyBroadcast {
        case .none: return b
        case .trailing: axis = a.count - b.count
        case .axis(let value): axis = value < 0 ? value + a.count : value
        }
        guard axis >= 0, axis + b.count <= a.count else {
            throw ONNXRunError(.invalidModel, "legacy broadcast at axis \(axis) does not fit B (rank \(b.count)) into A (rank \(a.count))")
        }
        return [Value](repeating: one, count: axis) + b + [Value](repeating: one, count: a.count - axis - b.count)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type
        let b = try requiredInput(inputs, 1, "B").type
        try checkTypes(a.elementType, b.elementType)
        var bShape = b.shape
        if let aShape = a.shape, let shape = bShape { bShape = try legacyShape(aShape, shape, one: Dimension.fixed(1)) }
        return [TensorType(elementType: a.elementType, shape: try broadcastDimensions([a.shape, bShape]))]
    }

    private func checkTypes(_ a: ElementType, _ b: ElementType) throws {
        guard arithmeticTypes.contains(a) else { throw unsupportedType(a) }
        // Pow (opset 12+) takes an exponent of another numeric type.
        if operation == .power {
            guard arithmeticTypes.contains(b) else { throw unsupportedType(b, "exponent") }
        } else if a != b {
            throw ONNXRunError(.invalidModel, "inputs have different types \(a) and \(b)")
        }
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let a = try requiredInput(inputs, 0, "A")
        var b = try requiredInput(inputs, 1, "B")
        try checkTypes(a.elementType, b.elementType)
        // A no-op except for the legacy (opset < 7) broadcast.
        do { b = b.viewed(as: try legacyShape(a.shape, b.shape, one: 1)) } catch let error as ONNXRunError {
            throw error.adding(shapes: [a.description, b.description])
        }
        if b.elementType != a.elementType { b = try castTensor(b, to: a.elementType) }
        return [try arithmetic(operation, a, b)]
    }
}

// MARK: - Kernels

/// The element types `arithmetic` implements.
let arithmeticTypes: [ElementType] = [.float, .double, .int64, .int32, .int16, .int8, .uint64, .uint32, .uint16, .uint8]

/// `operation(a, b)` elementwise with numpy broadcasting; `a` and `b` have the same element type.
func arithmetic(_ operation: ArithmeticOperation, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    switch a.elementType {
    case .float: try broadcastBinary(a, b, Float.self, floatingOperation(operation))
    case .double: try broadcastBinary(a, b, Double.self, floatingOperation(operation))
    case .int64: try broadcastBinary(a, b, Int64.self, integerOperation(operation))
    case .int32: try broadcastBinary(a, b, Int32.self, integerOperation(operation))
    case .int16: try broadcastBinary(a, b, Int16.self, integerOperation(operation))
    case .int8: try broadcastBinary(a, b, Int8.self, integerOperation(operation))
    case .uint64: try broadcastBinary(a, b, UInt64.self, integerOperation(operation))
    case .uint32: try broadcastBinary(a, b, UInt32.self, integerOperation(operation))
    case .uint16: try broadcastBinary(a, b, UInt16.self, integerOperation(operation))
    case .uint8: try broadcastBinary(a, b, UInt8.self, integerOperation(operation))
    default: throw unsupportedType(a.elementType)
    }
}

private func floatingOperation<Value: BinaryFloatingPoint & TensorElement>(
    _ operation: ArithmeticOperation
) -> (Value, Value) -> Value {
    switch operation {
    case .add: { $0 + $1 }
    case .subtract: { $0 - $1 }
    case .multiply: { $0 * $1 }
    case .divide: { $0 / $1 }
    case .power: { Value(Foundation.pow(Double($0), Double($1))) }
    // Float Mod without fmod is rejected by the spec; C fmod for both.
    case .modulo, .floatModulo: { $0.truncatingRemainder(dividingBy: $1) }
    // NaN propagates, as in onnxruntime.
    case .maximum: { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
    case .minimum: { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
    }
}

private func integerOperation<Value: FixedWidthInteger & TensorElement>(
    _ operation: ArithmeticOperation
) -> (Value, Value) -> Value {
    switch operation {
    // Wrapping arithmetic: overflow in a model's integers must not trap.
    case .add: { $0 &+ $1 }
    case .subtract: { $0 &- $1 }
    case .multiply: { $0 &* $1 }
    // Truncates toward zero as C++ (onnxruntime) does; division by zero gives 0 instead of trapping.
    case .divide: { $1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue }
    case .power: { integerPower($0, $1) }
    // Mod (fmod = 0): the result takes the divisor's sign, like Python's %.
    case .modulo: { a, b in
        guard b != 0 else { return 0 }
        let remainder = a.remainderReportingOverflow(dividingBy: b).partialValue
        return remainder != 0 && (remainder < 0) != (b < 0) ? remainder &+ b : remainder
    }
    case .floatModulo: { $1 == 0 ? 0 : $0.remainderReportingOverflow(dividingBy: $1).partialValue }
    case .maximum: { Swift.max($0, $1) }
    case .minimum: { Swift.min($0, $1) }
    }
}

private func integerPower<Value: FixedWidthInteger>(_ base: Value, _ exponent: Value) -> Value {
    if exponent < 0 {
        // Only 1 and -1 have integral reciprocals.
        if base == 1 { return 1 }
        if Value.isSigned && base == 0 &- 1 { return exponent & 1 == 0 ? 1 : base }
        return 0
    }
    var result: Value = 1, factor = base, remaining = exponent
    while remaining > 0 {
        if remaining & 1 == 1 { result = result &* factor }
        factor = factor &* factor
        remaining >>= 1
    }
    return result
}

/// Applies `operation` to `a` and `b` (both of `Value` type) with numpy broadcasting.
func broadcastBinary<Value: TensorElement, Result: TensorElement>(
    _ a: Tensor, _ b: Tensor, _ type: Value.Type, _ operation: (Value, Value) -> Result
) throws -> Tensor {
    guard let shape = broadcastShape([a.shape, b.shape]) else {
        throw runtimeError("shapes do not broadcast", [a, b])
    }
    let count = try checkedCount(shape, [a, b])
    var values = [Result]()
    values.reserveCapacity(count)
    a.withUnsafeBufferPointer(as: Value.self) { left in
        b.withUnsafeBufferPointer(as: Value.self) { right in
            if a.shape == b.shape {
                for index in 0..<count { values.append(operation(left[index], right[index])) }
            } else if b.elementCount == 1 {
                let scalar = right[0]
                for index in 0..<count { values.append(operation(left[index], scalar)) }
            } else {
                let leftOffsets = broadcastOffsets(from: a.shape, to: shape)
                let rightOffsets = broadcastOffsets(from: b.shape, to: shape)
                for index in 0..<count {
                    values.append(operation(left[leftOffsets[index]], right[rightOffsets[index]]))
                }
            }
        }
    }
    return Tensor(shape: shape, computed: values)
}

// MARK: - Optimizer hooks

extension ElementwiseBinaryOperator: ChannelAffineOperator {
    /// tf2onnx leaves BatchNormalization after convolutions as Mul(scale) -> Add(shift): `x * s`, `x + t` and
    /// `x - t` with a per-channel constant are affines (`t - x` and division are not folded: not exact).
    func channelAffine(_ inputs: [InferenceValue?], producedInput: Int, channels: Int, rank: Int)
        -> (scale: [Float]?, shift: [Float])?
    {
        guard case .none = legacyBroadcast, inputs.count == 2, let operand = inputs[1 - producedInput]?.constant,
              let values = perChannelValues(operand, channels: channels, rank: rank)
        else { return nil }
        switch operation {
        case .multiply: return (values, [Float](repeating: 0, count: channels))
        case .add: return (nil, values)
        case .subtract where producedInput == 0: return (nil, values.map { -$0 })
        default: return nil
        }
    }

    /// The operand's value per channel when it broadcasts along axis 1 of a rank-`rank` tensor without growing it:
    /// a single value, `[C, 1, ..., 1]` (rank - 1 dims) or `[1, C, 1, ..., 1]` (rank dims).
    private func perChannelValues(_ operand: Tensor, channels: Int, rank: Int) -> [Float]? {
        guard operand.elementType == .float, rank >= 2 else { return nil }
        let values = operand.floats
        if operand.elementCount == 1 { return [Float](repeating: values[0], count: channels) }
        let spatialOnes = [Int](repeating: 1, count: rank - 2)
        guard operand.shape == [channels] + spatialOnes || operand.shape == [1, channels] + spatialOnes else { return nil }
        return values
    }
}
