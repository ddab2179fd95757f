// Pass: Conv followed by an inference BatchNormalization becomes one Conv with scaled weights and a new bias.

extension GraphRewriter {
    /// y = (conv(x, W) + b - mean) * scale / sqrt(var + eps) + B = conv(x, W * s) + (b - mean) * s + B,
    /// with s = scale / sqrt(var + eps) per output channel. Legal when every BatchNormalization operand and the
    /// conv's weights and bias are constants and nothing else reads the conv's output.
    mutating func foldBatchNormalizationIntoConvolution() throws {
        for index in nodes.indices {
            guard let normalization = nodes[index], normalization.node.opType == "BatchNormalization",
                  normalization.node.domain.isEmpty,
                  normalization.node.outputs.dropFirst().allSatisfy(\.isEmpty),
                  normalization.node.inputs.count == 5,
                  let producerIndex = producer(of: normalization.node.inputs[0]),
                  let convolution = nodes[producerIndex], convolution.node.opType == "Conv",
                  convolution.node.domain.isEmpty,
                  hasSingleUse(normalization.node.inputs[0]),
                  let weights = constants[convolution.node.inputs[1]], weights.elementType == .float,
                  weights.rank >= 3
            else { continue }
            let context = OperatorContext(node: normalization.node, opset: normalization.opset)
            // Opsets before 9 had `spatial`; 0 means per-activation statistics, which this fold doesn't handle.
            if normalization.opset < 9, try context.int("spatial", default: 1) == 0 { continue }
            let epsilon = Double(try context.float("epsilon", default: 1e-5))
            let outputChannels = weights.shape[0]
            let operands = normalization.node.inputs[1...4].map { constants[$0] }
            guard operands.allSatisfy({ $0?.elementType == .float && $0?.elementCount == outputChannels }) else {
                continue
            }
            let gamma = operands[0]!.floats, beta = operands[1]!.floats
            let mean = operands[2]!.floats, variance = operands[3]!.floats
            let scale = (0..<outputChannels).map { gamma[$0] / Float((Double(variance[$0]) + epsilon).squareRoot()) }
            let shift = (0..<outputChannels).map { beta[$0] - mean[$0] * scale[$0] }
            if try foldChannelAffine(intoConvolutionAt: producerIndex, scale: scale, shift: shift,
                                     output: normalization.node.outputs[0]) {
                nodes[index] = nil
            }
        }
        compact()
    }
}
