// QuantizeLinear and DequantizeLinear: the Q/DQ pairs of quantized (QDQ) models, per tensor, per axis or per block.
//
// Specs: https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html, onnx__DequantizeLinear.html
// Opset history: 10 (per tensor), 13 (per axis: `axis`), 19 (float8 types, saturate), 21 (block_size, int4/int16,
// output_dtype for QuantizeLinear), 23, 24 (more types), 25. Implemented: float32 scales; int8, uint8, int16,
// uint16 quantized values (and int32 for DequantizeLinear); float8 and int4 are unsupported element types, as are
// opset 23's precision/output_dtype other than float32.
// Arity: x, scale, optional zero_point -> y.
// Quantize: y = saturate(round_half_to_even(x / scale) + zero_point). Dequantize: y = (x - zero_point) * scale.

import Foundation

struct QuantizeLinearOperator: Operator {
    let isQuantize: Bool
    let axis: Int
    let blockSize: Int
    /// QuantizeLinear's output type when no zero point gives it (output_dtype, default uint8).
    let outputType: ElementType?

    init(_ context: OperatorContext, quantize: Bool) throws {
        try context.expectInputs(2...3)
        isQuantize = quantize
        axis = try context.int("axis", default: 1)
        blockSize = try context.int("block_size", default: 0)
        guard blockSize >= 0 else { throw context.invalid("block_size \(blockSize) is negative") }
        // Opset 23: QuantizeLinear's division precision and DequantizeLinear's output type; float32 only here.
        for name in quantize ? ["precision"] : ["output_dtype"] {
            if let code = try context.int(name), code != 0, code != Int(ElementType.float.rawValue) {
                throw context.unsupported("\(name) \(code) is not supported (float32 only)")
            }
        }
        if quantize, let code = try context.int("output_dtype"), code != 0 {
            guard let type = ElementType(rawValue: Int32(truncatingIfNeeded: code)) else {
                throw context.unsupported("output_dtype \(code) is not supported")
            }
            outputType = type
        } else {
            outputType = nil
        }
    }

    private static let quantizedTypes: [ElementType] = [.int8, .uint8, .int16, .uint16]

    private func resultType(_ inputs: [ElementType?]) throws -> ElementType {
        if isQuantize {
            let type = inputs[2] ?? outputType ?? .uint8
            guard Self.quantizedTypes.contains(type) else { throw unsupportedType(type, "quantized output") }
            return type
        }
        return .float
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "x").type
        let scale = try requiredInput(inputs, 1, "scale").type
        try requireFloat(scale, "scale")
        if isQuantize {
            try requireFloat(x, "x")
        } else {
            guard (Self.quantizedTypes + [.int32]).contains(x.elementType) else { throw unsupportedType(x.elementType, "x") }
        }
        let type = try resultType([nil, nil, optionalInput(inputs, 2)?.type.elementType])
        try checkParameters(x: x, scale: inputs[1], zeroPoint: optionalInput(inputs, 2), quantizedType: isQuantize ? type : x.elementType)
        return [TensorType(elementType: type, shape: x.shape)]
    }

    /// Load-time checks: scales finite and positive, the zero point of the quantized type (0 for int32), and
    /// scale and zero point shaped for per-tensor, per-axis or blocked quantization of `x`.
    private func checkParameters(x: TensorType, scale: InferenceValue?, zeroPoint: InferenceValue?,
                                 quantizedType: ElementType) throws {
        try QuantizationParameterCheck.scale(scale, "scale")
        try QuantizationParameterCheck.zeroPoint(zeroPoint, "zero_point", type: quantizedType)
        guard let scaleShape = scale?.type.fixedShape else { return }
        if let zeroShape = zeroPoint?.type.fixedShape, zeroShape != scaleShape {
            throw ONNXRunError(.invalidModel, "zero_point \(describeShape(zeroShape)) and scale \(describeShape(scaleShape)) "
                                   + "have different shapes")
        }
        if blockSize == 0 && product(scaleShape) == 1 && scaleShape.count <= 1 { return }
        guard let shape = x.shape else { return }
        guard let axis = normalizedAxis(axis, rank: shape.count) else {
            throw ONNXRunError(.invalidModel, "axis \(self.axis) is out of range for x \(x)")
        }
        guard let length = shape[axis].value else { return }
        if blockSize == 0 {
            guard scaleShape == [length] else {
                throw ONNXRunError(.invalidModel, "scale \(describeShape(scaleShape)) must be one value or one per index of "
                                       + "axis \(axis) of x \(x) (\(length))")
            }
            return
        }
        let blocks = length == 0 ? 0 : (length - 1) / blockSize + 1
        let expected = shape.enumerated().map { $0.offset == axis ? Dimension.fixed(blocks) : $0.element }
        guard scaleShape.count == shape.count,
              zip(scaleShape, expected).allSatisfy({ $1.value == nil || $1.value == $0 }) else {
            throw ONNXRunError(.invalidModel, "blocked scale \(describeShape(scaleShape)) must have x's shape \(x) with axis "
                                   + "\(axis) in blocks of \(blockSize) (\(blocks))")
        }
    }

    /// For every element of `x`, the index of its scale (and zero point): one per tensor, per axis index or per block.
    private func parameterIndices(_ x: Tensor, _ scale: Tensor) throws -> [Int] {
        let count = x.elementCount
        if scale.elementCount == 1 && blockSize == 0 { return [Int](repeating: 0, count: count) }
        guard let axis = normalizedAxis(axis, rank: x.rank) else {
            throw runtimeError("axis \(self.axis) is out of range", [x, scale])
        }
        let length = x.shape[axis], inner = product(x.shape[(axis + 1)...])
        if blockSize == 0 {
            guard scale.rank == 1, scale.elementCount == length else {
                throw runtimeError("per-axis scale must have \(length) values", [x, scale])
            }
            return (0..<count).map { ($0 / inner) % length }
        }
        // Blocked: scale has x's shape with the axis divided (rounded up) into blocks.
        var expected = x.shape
        expected[axis] = length == 0 ? 0 : (length - 1) / blockSize + 1
        guard scale.shape == expected else {
            throw runtimeError("blocked scale must have shape \(describeShape(expected))", [x, scale])
        }
        let blocks = expected[axis]
        return (0..<count).map { index in
            let outer = index / (length * inner), position = (index / inner) % length, innerIndex = index % inner
            return (outer * blocks + position / blockSize) * inner + innerIndex
        }
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "x")
        let scale = try requiredInput(inputs, 1, "scale")
        let zeroPoint = optionalInput(inputs, 2)
        try requireFloat(scale, "scale")
        let type = try resultType([nil, nil, zeroPoint?.elementType])
        let indices = try parameterIndices(x, scale)
        if let zeroPoint, zeroPoint.shape != scale.shape {
            throw runtimeError("zero_point must have the scale's shape", inputs)
        }
        let scales = scale.floats
        let zeros = zeroPoint?.integerValues.map { Double($0) } ?? [Double](repeating: 0, count: scales.count)
        if isQuantize {
            try requireFloat(x, "x")
            let (low, high): (Double, Double) = switch type {
            case .int8: (-128, 127)
            case .uint8: (0, 255)
            case .int16: (-32768, 32767)
            default: (0, 65535)
            }
            let values = x.floats.enumerated().map { index, value -> Int64 in
                let parameter = indices[index]
                // Divided in float, as onnxruntime does, then rounded half to even.
                let quantized = Double((value / scales[parameter]).rounded(.toNearestOrEven)) + zeros[parameter]
                return Int64(quantized.isNaN ? 0 : Swift.min(Swift.max(quantized, low), high))
            }
            return [try castTensor(Tensor(shape: x.shape, computed: values), to: type)]
        }
        guard (Self.quantizedTypes + [.int32]).contains(x.elementType) else { throw unsupportedType(x.elementType, "x") }
        if let zeroPoint, zeroPoint.elementType != x.elementType {
            throw runtimeError("zero_point must have x's type", inputs)
        }
        let values = x.integerValues.enumerated().map { index, value in
            Float(Double(value) - zeros[indices[index]]) * scales[indices[index]]
        }
        return [Tensor(shape: x.shape, computed: values)]
    }
}
