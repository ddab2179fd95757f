// com.microsoft QLinearGlobalAveragePool and QLinearAveragePool: average pooling of quantized tensors, as
// onnxruntime's QOperator models use them (the classifier's global pool, Inception-style average pools).
//
// Spec: https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md (com.microsoft, version 1).
// QLinearGlobalAveragePool: X, x_scale, x_zero_point, y_scale, y_zero_point -> Y; attribute channels_last (0: NC...,
// 1: N...C). Arithmetic (MLAS): the integer sum of a plane minus x_zero_point * size, times
// x_scale / (y_scale * size) in float32, rounded half to even, plus y_zero_point, saturated.
// QLinearAveragePool: X, x_scale, x_zero_point (optional), y_scale, y_zero_point (optional) -> Y; AveragePool's
// attributes plus channels_last. onnxruntime dequantizes X to float32, averages like AveragePool, and quantizes
// `nearbyint(y / y_scale + y_zero_point)`; a window covering the whole unpadded image takes the integer global path.

struct QuantizedGlobalAveragePoolOperator: Operator {
    let channelsLast: Bool

    init(_ context: OperatorContext) throws {
        try context.expectInputs(5...5)
        channelsLast = try context.int("channels_last", default: 0) != 0
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        let type = try UnaryQuantization.check(inputs)
        guard let shape = x.shape else { return [x] }
        guard shape.count >= 3 else { throw ONNXRunError(.invalidModel, "X must have rank 3 or more, is \(x)") }
        let spatial = channelsLast ? 1..<(shape.count - 1) : 2..<shape.count
        var output = shape
        for axis in spatial { output[axis] = .fixed(1) }
        return [TensorType(elementType: type, shape: output)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        var x = try requiredInput(inputs, 0, "X")
        guard x.rank >= 3 else { throw runtimeError("X must have rank 3 or more", [x]) }
        if channelsLast { x = movingAxis(x, from: x.rank - 1, to: 1) }
        var y = try globalAverage(x, try UnaryQuantization(inputs))
        if channelsLast { y = movingAxis(y, from: 1, to: y.rank - 1) }
        return [y]
    }
}

struct QuantizedAveragePoolOperator: Operator {
    let channelsLast: Bool
    /// AveragePool's reference kernel, run on the dequantized values.
    let pool: PoolOperator
    let window: WindowAttributes
    let kernelShape: [Int]

    init(_ context: OperatorContext) throws {
        try context.expectInputs(4...5)
        channelsLast = try context.int("channels_last", default: 0) != 0
        // The float pooling is AveragePool's (opset 19 reads the same attributes; there are no dilations here).
        var node = context.node
        node.inputs = [node.inputs[0]]
        node.opType = "AveragePool"
        pool = try PoolOperator(OperatorContext(node: node, opset: 19), maximum: false)
        window = pool.window
        kernelShape = pool.kernelShape
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        let type = try UnaryQuantization.check(inputs)
        guard var shape = x.shape else { return [x] }
        if channelsLast, shape.count >= 3 { shape = movedAxis(shape, from: shape.count - 1, to: 1) }
        var output = try pool.inferOutputs([InferenceValue(type: TensorType(elementType: .float, shape: shape))])[0].shape
        if channelsLast, let outputShape = output { output = movedAxis(outputShape, from: 1, to: outputShape.count - 1) }
        return [TensorType(elementType: type, shape: output)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        var x = try requiredInput(inputs, 0, "X")
        guard x.rank >= 3, [.int8, .uint8].contains(x.elementType), let range = x.elementType.quantizedRange else {
            throw runtimeError("X must be int8 or uint8 with rank 3 or more", [x])
        }
        let parameters = try UnaryQuantization(inputs)
        if channelsLast { x = movingAxis(x, from: x.rank - 1, to: 1) }
        let padsAreZero = (window.pads ?? []).allSatisfy { $0 == 0 } && [.notSet, .valid].contains(window.autoPad)
        var y: Tensor
        if padsAreZero && Array(x.shape[2...]) == kernelShape {
            y = try globalAverage(x, parameters)
        } else {
            let input = parameters.input
            let floats = Tensor(shape: x.shape, computed: x.integerValues.map { input.dequantized($0) })
            let averages = try pool.run([floats])[0]
            let output = parameters.output
            let values = averages.floats.map { average -> Int64 in
                let level = (average / output.scale + Float(output.zeroPoint)).rounded(.toNearestOrEven)
                return level.isNaN ? output.zeroPoint : Int64(min(max(level, Float(range.lowerBound)), Float(range.upperBound)))
            }
            y = try castTensor(Tensor(shape: averages.shape, computed: values), to: x.elementType)
        }
        if channelsLast { y = movingAxis(y, from: 1, to: y.rank - 1) }
        return [y]
    }
}

// MARK: - Shared

/// Integer global average of each NC plane, requantized as MLAS does.
private func globalAverage(_ x: Tensor, _ parameters: UnaryQuantization) throws -> Tensor {
    guard [.int8, .uint8].contains(x.elementType), let range = x.elementType.quantizedRange else {
        throw runtimeError("X must be int8 or uint8", [x])
    }
    let planes = x.shape[0] * x.shape[1], size = product(x.shape[2...])
    let scale = parameters.input.scale / (parameters.output.scale * Float(size))
    let bias = -parameters.input.zeroPoint * Int64(size)
    let values = x.integerValues
    let averages = (0..<planes).map { plane -> Int64 in
        let sum = values[(plane * size)..<((plane + 1) * size)].reduce(bias, +)
        return roundedQuantized(Float(sum) * scale, zeroPoint: parameters.output.zeroPoint, range: range)
    }
    return try castTensor(Tensor(shape: Array(x.shape[0..<2]) + Array(repeating: 1, count: x.rank - 2), computed: averages),
                          to: x.elementType)
}

/// `shape` with the dimension at `source` moved to `destination`.
private func movedAxis<Value>(_ shape: [Value], from source: Int, to destination: Int) -> [Value] {
    var result = shape
    let moved = result.remove(at: source)
    result.insert(moved, at: destination)
    return result
}

/// `tensor` with axis `source` moved to `destination` (the others keep their order): NHWC <-> NCHW.
private func movingAxis(_ tensor: Tensor, from source: Int, to destination: Int) -> Tensor {
    let strides = contiguousStrides(tensor.shape)
    let shape = movedAxis(tensor.shape, from: source, to: destination)
    return tensor.gathering(offsets: stridedOffsets(shape: shape, strides: movedAxis(strides, from: source, to: destination)),
                            shape: shape)
}
