// What the quantized operators share: integer ranges, onnxruntime's rounding, and the load-time checks of scales and
// zero points.
//
// onnxruntime (MLAS) quantizes as `clamp(x / scale, low - zp, high - zp)` rounded half to even, plus the zero
// point; requantizes an integer accumulator as `float(acc) * multiplier`, then the same. The reference kernels
// follow that arithmetic step by step (float32, same operation order), so they agree with it bit for bit.

extension ElementType {
    /// The values a quantized element type holds; nil for types that are not quantized integers.
    var quantizedRange: ClosedRange<Int64>? {
        switch self {
        case .int8: -128...127
        case .uint8: 0...255
        case .int16: -32768...32767
        case .uint16: 0...65535
        case .int32: Int64(Int32.min)...Int64(Int32.max)
        default: nil
        }
    }
}

/// `value` (already divided by the scale) rounded half to even, plus `zeroPoint`, saturated to `range`. NaN gives the
/// zero point.
func roundedQuantized(_ value: Float, zeroPoint: Int64, range: ClosedRange<Int64>) -> Int64 {
    guard !value.isNaN else { return min(max(zeroPoint, range.lowerBound), range.upperBound) }
    let low = Float(range.lowerBound - zeroPoint), high = Float(range.upperBound - zeroPoint)
    return Int64(min(max(value, low), high).rounded(.toNearestOrEven)) + zeroPoint
}

/// onnxruntime's QuantizeLinear of one value: `x / scale` in float32, rounded half to even, plus the zero point,
/// saturated.
func quantized(_ value: Float, scale: Float, zeroPoint: Int64, range: ClosedRange<Int64>) -> Int64 {
    roundedQuantized(value / scale, zeroPoint: zeroPoint, range: range)
}

/// The scale and zero point of a per-tensor quantized value, read at run time.
struct QuantizationParameters {
    var scale: Float
    var zeroPoint: Int64

    /// Reads a one-element float scale and an optional one-element zero point (0 when absent).
    init(scale: Tensor, zeroPoint: Tensor?, _ name: String) throws {
        try requireFloat(scale, "\(name) scale")
        guard scale.elementCount == 1 else { throw runtimeError("\(name) scale must have one value", [scale]) }
        self.scale = scale.floats[0]
        if let zeroPoint {
            // Quantized types only (at most 32 bits), so the integer arithmetic on it cannot overflow.
            guard zeroPoint.elementType.quantizedRange != nil, zeroPoint.elementCount == 1,
                  let value = zeroPoint.integerValues.first else {
                throw runtimeError("\(name) zero point must be one quantized integer", [zeroPoint])
            }
            self.zeroPoint = value
        } else {
            self.zeroPoint = 0
        }
    }

    /// `scale * (q - zeroPoint)` in float32, as onnxruntime dequantizes.
    func dequantized(_ value: Int64) -> Float {
        scale * Float(value - zeroPoint)
    }
}

// MARK: - Load-time checks

/// Checks of a quantized operator's scales and zero points, run at load (from `inferOutputs`) whenever they are
/// constants, so a malformed model fails when it is loaded, naming the node, instead of computing garbage.
enum QuantizationParameterCheck {
    /// A scale must be float32, and every value finite and positive.
    static func scale(_ value: InferenceValue?, _ name: String) throws {
        guard let value else { return }
        guard value.type.elementType == .float else {
            throw ONNXRunError(.unsupported, "\(name) must be float32, is \(value.type.elementType)")
        }
        guard let tensor = value.constant else { return }
        if let bad = tensor.floats.first(where: { !($0.isFinite && $0 > 0) }) {
            throw ONNXRunError(.invalidModel, "\(name) must be finite and positive, has \(bad)")
        }
    }

    /// A zero point must have the quantized value's type (so it lies in that type's range); an int32 zero point
    /// (bias dequantization) must be 0.
    static func zeroPoint(_ value: InferenceValue?, _ name: String, type: ElementType) throws {
        guard let value else { return }
        guard value.type.elementType == type else {
            throw ONNXRunError(.invalidModel, "\(name) is \(value.type.elementType), the quantized values are \(type)")
        }
        if type == .int32, let tensor = value.constant, let bad = tensor.integerValues.first(where: { $0 != 0 }) {
            throw ONNXRunError(.invalidModel, "\(name) of int32 values must be 0, has \(bad)")
        }
    }

    /// A scale or zero point that must be one value (per tensor) or `count` values (one per row, column or
    /// channel; `count` nil when not known at load), as a scalar or a 1-D tensor.
    static func count(_ value: InferenceValue?, _ name: String, perTensorOr count: Int? = nil) throws {
        guard let value, let shape = value.type.fixedShape else { return }
        let elements = product(shape)
        if elements == 1 && shape.count <= 1 { return }
        guard let count else {
            throw ONNXRunError(.invalidModel, "\(name) must be a scalar or have one value, has shape \(describeShape(shape))")
        }
        guard shape.count == 1, elements == count else {
            throw ONNXRunError(.invalidModel,
                               "\(name) must have 1 or \(count) values (one per channel), has shape \(describeShape(shape))")
        }
    }

    /// A scale/zero-point pair of one quantized value: scale valid, zero point typed like the values, both with
    /// the same shape, 1 or `count` values.
    static func pair(scale: InferenceValue?, zeroPoint: InferenceValue?, _ name: String, type: ElementType?,
                     perTensorOr count: Int? = nil) throws {
        try self.scale(scale, "\(name)_scale")
        if let type { try self.zeroPoint(zeroPoint, "\(name)_zero_point", type: type) }
        try self.count(scale, "\(name)_scale", perTensorOr: count)
        try self.count(zeroPoint, "\(name)_zero_point", perTensorOr: count)
        if let scaleShape = scale?.type.fixedShape, let zeroShape = zeroPoint?.type.fixedShape,
           product(scaleShape) != product(zeroShape) {
            throw ONNXRunError(.invalidModel, "\(name)_scale \(describeShape(scaleShape)) and \(name)_zero_point "
                                   + "\(describeShape(zeroShape)) have different shapes")
        }
    }
}

/// The operands of a one-input quantized operator (X, x_scale, x_zero_point, y_scale, y_zero_point: pooling,
/// activations, softmax), read at run time.
struct UnaryQuantization {
    let input: QuantizationParameters
    let output: QuantizationParameters

    init(_ inputs: [Tensor?]) throws {
        input = try QuantizationParameters(scale: try requiredInput(inputs, 1, "x_scale"), zeroPoint: optionalInput(inputs, 2), "x")
        output = try QuantizationParameters(scale: try requiredInput(inputs, 3, "y_scale"), zeroPoint: optionalInput(inputs, 4), "y")
    }

    /// Load-time checks of such an operator: X int8 or uint8, both scale/zero-point pairs valid and of X's type.
    /// Returns X's element type.
    static func check(_ inputs: [InferenceValue?]) throws -> ElementType {
        let type = try requireQuantized8Bit(try requiredInput(inputs, 0, "X").type, "X")
        try QuantizationParameterCheck.pair(scale: try requiredInput(inputs, 1, "x_scale"), zeroPoint: optionalInput(inputs, 2),
                                            "x", type: type)
        try QuantizationParameterCheck.pair(scale: try requiredInput(inputs, 3, "y_scale"), zeroPoint: optionalInput(inputs, 4),
                                            "y", type: type)
        return type
    }
}

/// The element type of a quantized input (int8 or uint8), or an unsupported-type error.
func requireQuantized8Bit(_ type: TensorType, _ name: String) throws -> ElementType {
    guard [.int8, .uint8].contains(type.elementType) else { throw unsupportedType(type.elementType, name) }
    return type.elementType
}
