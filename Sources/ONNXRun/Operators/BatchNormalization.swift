// BatchNormalization (inference): Y = (X - mean) / sqrt(var + epsilon) * scale + B, per channel.
//
// Spec: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html
// Opset history: 1 (consumed_inputs, is_test, spatial), 6 (is_test, spatial), 7 (is_test removed), 9 (spatial
// removed: always per channel), 14 (training_mode), 15 (scale/B and mean/var may have other float types).
// Arity: X, scale, B, input_mean, input_var -> Y (training outputs are not supported).
// spatial = 0 (opsets 1-8): the statistics have shape X.shape[1...] (one per channel and position).

struct BatchNormalizationOperator: Operator {
    let epsilon: Float
    let isSpatial: Bool

    init(_ context: OperatorContext) throws {
        try context.expectInputs(5...5, outputs: 1...5)
        epsilon = try context.float("epsilon", default: 1e-5)
        isSpatial = context.opset < 9 ? try context.int("spatial", default: 1) != 0 : true
        if try context.int("training_mode", default: 0) != 0 {
            throw context.unsupported("training_mode = 1 is not supported (inference only)")
        }
        if context.opset < 7, try context.int("is_test", default: 0) == 0,
           (1..<context.node.outputs.count).contains(where: { context.hasOutput($0) }) {
            throw context.unsupported("training mode (is_test = 0 with statistics outputs) is not supported")
        }
        if (1..<context.node.outputs.count).contains(where: { context.hasOutput($0) }) {
            throw context.unsupported("the running statistics outputs exist only in training mode, which is not supported")
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        for (index, name) in [(1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var")] {
            try requireFloat(try requiredInput(inputs, index, name).type, name)
        }
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        let parameters = try [(1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var")].map {
            try requiredInput(inputs, $0.0, $0.1)
        }
        try requireFloat(x, "X")
        for parameter in parameters { try requireFloat(parameter, "statistics") }
        guard x.rank >= 2 else { throw runtimeError("X must have rank 2 or more", inputs) }
        let channels = x.shape[1]
        let spatialSize = product(x.shape[2...])
        // Per channel, or per channel and position (spatial = 0).
        let parameterCount = isSpatial ? channels : channels * spatialSize
        guard parameters.allSatisfy({ $0.elementCount == parameterCount }) else {
            throw runtimeError("scale, B, mean and var must have \(parameterCount) elements", inputs)
        }
        let scale = parameters[0].floats, bias = parameters[1].floats
        let mean = parameters[2].floats, variance = parameters[3].floats
        let multiplier = (0..<parameterCount).map { scale[$0] / (variance[$0] + epsilon).squareRoot() }
        var values = x.floats
        let sampleSize = channels * spatialSize
        for index in values.indices {
            let withinSample = index % max(sampleSize, 1)
            let parameter = isSpatial ? withinSample / max(spatialSize, 1) : withinSample
            values[index] = (values[index] - mean[parameter]) * multiplier[parameter] + bias[parameter]
        }
        return [Tensor(shape: x.shape, computed: values)]
    }
}

// MARK: - Optimizer hooks

extension BatchNormalizationOperator: ChannelAffineOperator {
    /// `(x - mean) * gamma / sqrt(var + eps) + beta = x * s + (beta - mean * s)` with s = gamma / sqrt(var + eps),
    /// when the four statistics are float constants with one value per channel.
    func channelAffine(_ inputs: [InferenceValue?], producedInput: Int, channels: Int, rank: Int)
        -> (scale: [Float]?, shift: [Float])?
    {
        guard isSpatial, producedInput == 0, inputs.count == 5 else { return nil }
        let operands = inputs[1...4].map { $0?.constant }
        guard operands.allSatisfy({ $0?.elementType == .float && $0?.elementCount == channels }) else { return nil }
        let values = operands.map { $0?.floats ?? [] }
        let (gamma, beta, mean, variance) = (values[0], values[1], values[2], values[3])
        let scale = (0..<channels).map { gamma[$0] / Float((Double(variance[$0]) + Double(epsilon)).squareRoot()) }
        let shift = (0..<channels).map { beta[$0] - mean[$0] * scale[$0] }
        return (scale, shift)
    }
}

extension BatchNormalizationOperator: ConstantInputPacking {
    /// With constant statistics and no convolution before it to fold into: one pass of `x * s + t` per channel,
    /// which may absorb the Relu after it and has an NHWC variant.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard let x = inputs.first??.type, x.elementType == .float, let shape = x.shape, shape.count >= 2,
              let channels = shape[1].value, channels > 0,
              let (scale, shift) = channelAffine(inputs, producedInput: 0, channels: channels, rank: shape.count)
        else { return nil }
        return PackedOperator(op: ChannelAffine(scale: scale ?? [Float](repeating: 1, count: channels), shift: shift),
                              opType: "ChannelAffine", remainingInputs: [0])
    }
}

