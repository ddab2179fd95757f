// Cast and CastLike: element type conversion between the numeric types and bool.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Cast.html, https://onnx.ai/onnx/operators/onnx__CastLike.html
// Opset history: Cast 1 (`to` as a string), 6 (`to` as an int), 9 (string types), 13 (bfloat16), 19 (saturate, for
// float8 only), 21 (int4), 23. CastLike 15, 19, 21. Strings and float8/int4 are not supported.
// Arity: Cast: input -> output; CastLike: input, target_type -> output.

struct CastOperator: Operator {
    /// nil for CastLike: the type comes from the second input.
    let target: ElementType?

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        let code: Int
        switch context.node.attributes["to"] {
        case .int(let value)?: code = value
        // Opset 1 names the type ("FLOAT", "INT64", ...).
        case .string(let name)?:
            guard let type = ElementType.allCases.first(where: { "\($0)".uppercased() == name.uppercased() })
                ?? (name.uppercased() == "FLOAT32" ? .float : nil) else {
                throw context.unsupported("cast to '\(name)' is not supported")
            }
            code = Int(type.rawValue)
        case nil: throw context.invalid("attribute 'to' is required")
        case let other?: throw context.invalid("attribute 'to' should be int, is \(other)")
        }
        guard let type = ElementType(rawValue: Int32(truncatingIfNeeded: code)), type != .string else {
            throw context.unsupported("cast to data type \(code) is not supported")
        }
        target = type
    }

    init(castLike context: OperatorContext) throws {
        try context.expectInputs(2...2)
        target = nil
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        let type = try target ?? requiredInput(inputs, 1, "target_type").type.elementType
        guard input.elementType != .string, type != .string else { throw unsupportedType(.string) }
        return [TensorType(elementType: type, shape: input.shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        let type = try target ?? requiredInput(inputs, 1, "target_type").elementType
        return [try castTensor(input, to: type)]
    }
}

// MARK: - Conversion

/// `tensor` converted to `type`. Integers convert exactly (wrapping on narrowing, as C++ static_cast does in
/// practice); floats to integers truncate toward zero, NaN becomes 0; anything to bool is `!= 0`.
func castTensor(_ tensor: Tensor, to type: ElementType) throws -> Tensor {
    if tensor.elementType == type { return tensor }
    guard tensor.elementType != .string else { throw unsupportedType(.string) }
    let count = tensor.elementCount
    let result = Tensor(zeros: type, shape: tensor.shape)
    let destination = result.freshBytes
    if tensor.elementType.isFloatingPoint {
        let values = (0..<count).map { tensor.doubleValue(at: $0) ?? 0 }
        try storeFloatingValues(values, type: type, into: destination)
    } else {
        let values = tensor.integerValues
        switch type {
        case .float, .double, .float16, .bfloat16:
            try storeFloatingValues(values.map { Double($0) }, type: type, into: destination)
        default:
            try storeIntegerValues(values, type: type, into: destination)
        }
    }
    return result
}

extension ElementType {
    var isFloatingPoint: Bool { [.float, .double, .float16, .bfloat16].contains(self) }
}

extension Tensor {
    /// The elements of an integer or bool tensor as Int64 (uint64 above Int64.max wraps).
    var integerValues: [Int64] {
        switch elementType {
        case .uint64: scalars(as: UInt64.self).map { Int64(bitPattern: $0) }
        default: (integers ?? []).map { Int64($0) }
        }
    }
}

private func storeFloatingValues(_ values: [Double], type: ElementType, into destination: UnsafeMutableRawPointer) throws {
    for (index, value) in values.enumerated() {
        switch type {
        case .float: destination.storeBytes(of: Float(value), toByteOffset: index * 4, as: Float.self)
        case .double: destination.storeBytes(of: value, toByteOffset: index * 8, as: Double.self)
        case .float16: destination.storeBytes(of: Float(value).float16Bits, toByteOffset: index * 2, as: UInt16.self)
        case .bfloat16: destination.storeBytes(of: Float(value).bfloat16Bits, toByteOffset: index * 2, as: UInt16.self)
        case .bool: destination.storeBytes(of: value != 0 ? 1 : 0, toByteOffset: index, as: UInt8.self)
        default:
            // Truncate toward zero; NaN and out-of-range values saturate instead of trapping.
            let integer: Int64
            if value.isNaN { integer = 0 }
            else if value >= 0x1p63 { integer = .max }
            else if value < -0x1p63 { integer = .min }
            else { integer = Int64(value.rounded(.towardZero)) }
            if type == .uint64 && value >= 0x1p63 {
                destination.storeBytes(of: value >= 0x1p64 ? UInt64.max : UInt64(value), toByteOffset: index * 8,
                                       as: UInt64.self)
                continue
            }
            try storeInteger(integer, at: index, type: type, into: destination)
        }
    }
}

private func storeIntegerValues(_ values: [Int64], type: ElementType, into destination: UnsafeMutableRawPointer) throws {
    for (index, value) in values.enumerated() {
        try storeInteger(value, at: index, type: type, into: destination)
    }
}

private func storeInteger(_ value: Int64, at index: Int, type: ElementType, into destination: UnsafeMutableRawPointer) throws {
    switch type {
    case .int64: destination.storeBytes(of: value, toByteOffset: index * 8, as: Int64.self)
    case .uint64: destination.storeBytes(of: UInt64(bitPattern: value), toByteOffset: index * 8, as: UInt64.self)
    case .int32: destination.storeBytes(of: Int32(truncatingIfNeeded: value), toByteOffset: index * 4, as: Int32.self)
    case .uint32: destination.storeBytes(of: UInt32(truncatingIfNeeded: value), toByteOffset: index * 4, as: UInt32.self)
    case .int16: destination.storeBytes(of: Int16(truncatingIfNeeded: value), toByteOffset: index * 2, as: Int16.self)
    case .uint16: destination.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: index * 2, as: UInt16.self)
    case .int8: destination.storeBytes(of: Int8(truncatingIfNeeded: value), toByteOffset: index, as: Int8.self)
    case .uint8: destination.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: index, as: UInt8.self)
    case .bool: destination.storeBytes(of: value != 0 ? 1 : 0, toByteOffset: index, as: UInt8.self)
    default: throw unsupportedType(type, "cast target")
    }
}
