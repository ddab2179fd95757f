// com.microsoft QLinearAdd and QLinearMul: elementwise sum and product of two quantized tensors, requantized, with
// numpy broadcasting — what onnxruntime's quantization tool writes for Add and Mul in QOperator format.
//
// Spec: https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md (com.microsoft, version 1).
// Arity: A, A_scale, A_zero_point (optional), B, B_scale, B_zero_point (optional), C_scale, C_zero_point (optional)
// -> C; int8 or uint8, every scale and zero point per tensor.
// Arithmetic (MLAS, x86 with AVX2): Add computes `zc - (sa/sc * za + sb/sc * zb)` once, then per element
// `a * sa/sc + (b * sb/sc + that)` with fused multiply-adds; an operand that is one value throughout is folded into
// the constant part first (multiply, then add). Mul computes `float((a - za) * (b - zb)) * (sa * sb / sc) + zc`.
// Both round half to even and saturate.

struct QuantizedBinaryOperator: Operator {
    enum Operation: Sendable { case add, multiply }
    let operation: Operation

    init(_ context: OperatorContext, _ operation: Operation) throws {
        try context.expectInputs(7...8)
        self.operation = operation
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type, b = try requiredInput(inputs, 3, "B").type
        let type = try requireQuantized8Bit(a, "A")
        guard b.elementType == type else { throw ONNXRunError(.invalidModel, "A is \(type) but B is \(b.elementType)") }
        for (name, scale, zero) in [("A", 1, 2), ("B", 4, 5), ("C", 6, 7)] {
            try QuantizationParameterCheck.pair(scale: try requiredInput(inputs, scale, "\(name)_scale"),
                                                zeroPoint: optionalInput(inputs, zero), name, type: type)
        }
        return [TensorType(elementType: type, shape: try broadcastDimensions([a.shape, b.shape]))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let a = try requiredInput(inputs, 0, "A"), b = try requiredInput(inputs, 3, "B")
        guard [.int8, .uint8].contains(a.elementType), b.elementType == a.elementType,
              let range = a.elementType.quantizedRange else {
            throw runtimeError("A and B must both be int8 or uint8", [a, b])
        }
        let aParameters = try QuantizationParameters(scale: try requiredInput(inputs, 1, "A_scale"),
                                                     zeroPoint: optionalInput(inputs, 2), "A")
        let bParameters = try QuantizationParameters(scale: try requiredInput(inputs, 4, "B_scale"),
                                                     zeroPoint: optionalInput(inputs, 5), "B")
        let cParameters = try QuantizationParameters(scale: try requiredInput(inputs, 6, "C_scale"),
                                                     zeroPoint: optionalInput(inputs, 7), "C")
        guard let shape = broadcastShape([a.shape, b.shape]) else { throw runtimeError("A and B do not broadcast", [a, b]) }
        let count = try checkedCount(shape, [a, b])
        let aValues = a.integerValues, bValues = b.integerValues
        let aOffsets = broadcastOffsets(from: a.shape, to: shape), bOffsets = broadcastOffsets(from: b.shape, to: shape)
        var values = [Int64](repeating: 0, count: count)
        switch operation {
        case .add:
            let aRatio = aParameters.scale / cParameters.scale, bRatio = bParameters.scale / cParameters.scale
            let fixed = Float(cParameters.zeroPoint)
                - (aRatio * Float(aParameters.zeroPoint) + bRatio * Float(bParameters.zeroPoint))
            // An operand of one element is folded into the constant part (onnxruntime's scalar kernels).
            let aIsScalar = a.elementCount == 1, bIsScalar = b.elementCount == 1 && !aIsScalar
            for index in 0..<count {
                let aValue = Float(aValues[aOffsets[index]]), bValue = Float(bValues[bOffsets[index]])
                let sum: Float
                if aIsScalar {
                    sum = (fixed + aValue * aRatio).addingProduct(bValue, bRatio)
                } else if bIsScalar {
                    sum = (fixed + bValue * bRatio).addingProduct(aValue, aRatio)
                } else {
                    sum = fixed.addingProduct(bValue, bRatio).addingProduct(aValue, aRatio)
                }
                values[index] = roundedQuantized(sum, zeroPoint: 0, range: range)
            }
        case .multiply:
            let ratio = aParameters.scale * bParameters.scale / cParameters.scale
            let zero = Float(cParameters.zeroPoint)
            for index in 0..<count {
                let product = (aValues[aOffsets[index]] - aParameters.zeroPoint) * (bValues[bOffsets[index]] - bParameters.zeroPoint)
                values[index] = roundedQuantized(Float(product) * ratio + zero, zeroPoint: 0, range: range)
            }
        }
        return [try castTensor(Tensor(shape: shape, computed: values), to: a.elementType)]
    }
}
