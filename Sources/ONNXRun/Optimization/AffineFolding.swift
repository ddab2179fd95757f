// Pass: a per-channel Mul or Add by a constant after a Conv becomes part of the Conv's weights or bias.

extension GraphRewriter {
    /// tf2onnx leaves BatchNormalization after depthwise convolutions as Conv -> Mul(scale) -> Add(shift), which
    /// would keep the Clip that follows from fusing and cost two passes over the tensor. Since
    /// conv(x, W) * s + t = conv(x, W * s) + t per output channel, the Mul scales the weights and bias and the Add
    /// shifts the bias. Legal when the other operand is constant and broadcasts per output channel without
    /// growing the result (shape [C,1,1], [1,C,1,1] or a single value), and nothing else reads the conv's output.
    mutating func foldAffineIntoConvolution() throws {
        var changed = true
        while changed {
            changed = false
            for index in nodes.indices {
                guard let convolution = nodes[index], convolution.node.opType == "Conv",
                      convolution.node.domain.isEmpty, convolution.node.inputs.count >= 2,
                      let output = convolution.node.outputs.first, hasSingleUse(output),
                      let weights = constants[convolution.node.inputs[1]], weights.elementType == .float,
                      weights.rank >= 3,
                      let consumerIndex = consumers(of: output).first, let affine = nodes[consumerIndex],
                      affine.node.domain.isEmpty, affine.node.inputs.count == 2,
                      affine.node.opType == "Mul" || affine.node.opType == "Add",
                      let outputType = types[output], types[affine.node.outputs[0]] == outputType
                else { continue }
                let operandName = affine.node.inputs[0] == output ? affine.node.inputs[1] : affine.node.inputs[0]
                let channels = weights.shape[0]
                guard operandName != output, let operand = constants[operandName], operand.elementType == .float,
                      let perChannel = Self.perChannelValues(operand, channels: channels, outputRank: weights.rank)
                else { continue }
                let isScale = affine.node.opType == "Mul"
                if try foldChannelAffine(intoConvolutionAt: index, scale: isScale ? perChannel : nil,
                                         shift: isScale ? [Float](repeating: 0, count: channels) : perChannel,
                                         output: affine.node.outputs[0]) {
                    nodes[consumerIndex] = nil
                    changed = true
                }
            }
            compact()
        }
    }

    /// The operand's value per output channel, when it broadcasts along the channel axis of a conv output of
    /// rank `outputRank` (or is a single value); nil otherwise.
    private static func perChannelValues(_ operand: Tensor, channels: Int, outputRank: Int) -> [Float]? {
        let values = operand.floats
        if operand.elementCount == 1 { return [Float](repeating: values[0], count: channels) }
        // Trailing-aligned broadcasting: the channel axis is position 1 of the output, so the operand must be
        // [C, 1, ..., 1] with outputRank - 1 dims, or [1, C, 1, ..., 1] with outputRank dims.
        let shape = operand.shape
        let spatialOnes = [Int](repeating: 1, count: outputRank - 2)
        guard shape == [channels] + spatialOnes || shape == [1, channels] + spatialOnes else { return nil }
        return values
    }
}
