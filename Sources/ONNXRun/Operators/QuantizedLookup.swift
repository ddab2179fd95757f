// com.microsoft QLinearSigmoid, QLinearLeakyRelu and QLinearConcat: quantized operators that onnxruntime computes
// through a 256-entry table (dequantize every possible input, apply the function in float32, quantize).
//
// Spec: https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md (com.microsoft, version 1).
// QLinearSigmoid, QLinearLeakyRelu (attribute alpha, default 0.01): X, X_scale, X_zero_point (optional), Y_scale,
// Y_zero_point (optional) -> Y. QLinearConcat (attribute axis): Y_scale, Y_zero_point, then (X, X_scale,
// X_zero_point) per input -> Y; an input with the output's scale and zero point is copied, others requantized.
// Table entry for x: quantize(f(X_scale * (x - X_zero_point))). Sigmoid is MLAS's rational approximation (the one
// Eigen uses, evaluated with fused multiply-adds on x86), not the exact function: it decides ties in the rounding.

/// The 256 (or fewer) possible outputs of an 8-bit quantized function, indexed by `input - type's lowest`.
private func lookupTable(type: ElementType, input: QuantizationParameters, output: QuantizationParameters,
                         _ function: (Float) -> Float) -> [Int64] {
    let range = type.quantizedRange ?? 0...255
    return range.map { value in
        quantized(function(input.dequantized(value)), scale: output.scale, zeroPoint: output.zeroPoint, range: range)
    }
}

/// `x` mapped through `table` (built for x's type).
private func applying(_ table: [Int64], to x: Tensor) throws -> Tensor {
    let lowest = x.elementType.quantizedRange?.lowerBound ?? 0
    let values = x.integerValues.map { table[Int($0 - lowest)] }
    return try castTensor(Tensor(shape: x.shape, computed: values), to: x.elementType)
}

/// MLAS's logistic function (MlasComputeLogistic, FMA3 kernel): a rational approximation on [-18, 18].
func approximateLogistic(_ x: Float) -> Float {
    if x.isNaN { return x }
    let value = min(max(x, -18), 18)
    let square = value * value
    var p = square.multipliedAdding(4.37031012579801e-11, 1.15627324459942e-07)
    p = p.multipliedAdding(square, 6.08574864600143e-05)
    p = p.multipliedAdding(square, 8.51377133304701e-03)
    p = p.multipliedAdding(square, 2.48287947061529e-01)
    p *= value
    var q = square.multipliedAdding(6.10247389755681e-13, 5.76102136993427e-09)
    q = q.multipliedAdding(square, 6.29106785017040e-06)
    q = q.multipliedAdding(square, 1.70198817374094e-03)
    q = q.multipliedAdding(square, 1.16817656904453e-01)
    q = q.multipliedAdding(square, 9.93151921023180e-01)
    return min(max(p / q + 0.5, 0), 1)
}

private extension Float {
    /// `self * factor + addend` with one rounding (a fused multiply-add).
    func multipliedAdding(_ factor: Float, _ addend: Float) -> Float {
        addend.addingProduct(self, factor)
    }
}

struct QuantizedActivationOperator: Operator {
    enum Function: Sendable {
        case sigmoid
        case leakyRelu(alpha: Float)
    }

    let function: Function

    init(_ context: OperatorContext, sigmoid: Bool) throws {
        try context.expectInputs(4...5)
        function = sigmoid ? .sigmoid : .leakyRelu(alpha: try context.float("alpha", default: 0.01))
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        _ = try UnaryQuantization.check(inputs)
        return [try requiredInput(inputs, 0, "X").type]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        guard [.int8, .uint8].contains(x.elementType) else { throw unsupportedType(x.elementType, "X") }
        let parameters = try UnaryQuantization(inputs)
        let (input, output) = (parameters.input, parameters.output)
        let table = switch function {
        case .sigmoid: lookupTable(type: x.elementType, input: input, output: output, approximateLogistic)
        case .leakyRelu(let alpha): lookupTable(type: x.elementType, input: input, output: output) { $0 >= 0 ? $0 : alpha * $0 }
        }
        return [try applying(table, to: x)]
    }
}

struct QuantizedConcatOperator: Operator {
    /// Concat of the requantized inputs.
    let concat: ConcatOperator

    init(_ context: OperatorContext) throws {
        let count = context.node.inputs.count
        guard count >= 5, (count - 2) % 3 == 0, context.node.outputs.count == 1 else {
            throw context.invalid("expects Y_scale, Y_zero_point and (X, X_scale, X_zero_point) per input, has \(count) inputs")
        }
        var node = context.node
        node.inputs = stride(from: 2, to: count, by: 3).map { node.inputs[$0] }
        node.opType = "Concat"
        concat = try ConcatOperator(OperatorContext(node: node, opset: 13))
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let outputZero = try requiredInput(inputs, 1, "Y_zero_point").type
        let type = try requireQuantized8Bit(outputZero, "Y_zero_point")
        try QuantizationParameterCheck.pair(scale: try requiredInput(inputs, 0, "Y_scale"), zeroPoint: inputs[1], "Y", type: type)
        var data: [InferenceValue?] = []
        for start in stride(from: 2, to: inputs.count, by: 3) {
            let x = try requiredInput(inputs, start, "X")
            guard x.type.elementType == type else {
                throw ONNXRunError(.invalidModel, "input \(start) is \(x.type.elementType), the output is \(type)")
            }
            try QuantizationParameterCheck.pair(scale: try requiredInput(inputs, start + 1, "X_scale"),
                                                zeroPoint: try requiredInput(inputs, start + 2, "X_zero_point"),
                                                "X\((start - 2) / 3)", type: type)
            data.append(InferenceValue(type: x.type))
        }
        return try concat.inferOutputs(data)
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let output = try QuantizationParameters(scale: try requiredInput(inputs, 0, "Y_scale"),
                                                zeroPoint: try requiredInput(inputs, 1, "Y_zero_point"), "Y")
        let type = try requiredInput(inputs, 1, "Y_zero_point").elementType
        var data: [Tensor?] = []
        for start in stride(from: 2, to: inputs.count, by: 3) {
            let x = try requiredInput(inputs, start, "X")
            guard x.elementType == type else { throw runtimeError("inputs must have the output's type \(type)", [x]) }
            let input = try QuantizationParameters(scale: try requiredInput(inputs, start + 1, "X_scale"),
                                                   zeroPoint: try requiredInput(inputs, start + 2, "X_zero_point"), "X")
            let same = input.scale == output.scale && input.zeroPoint == output.zeroPoint
            data.append(same ? x : try applying(lookupTable(type: type, input: input, output: output) { $0 }, to: x))
        }
        return try concat.run(data)
    }
}
