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
            let scale = operands[0]!.floats, shift = operands[1]!.floats
            let mean = operands[2]!.floats, variance = operands[3]!.floats
            var bias = [Float](repeating: 0, count: outputChannels)
            if convolution.node.inputs.count > 2, !convolution.node.inputs[2].isEmpty {
                guard let given = constants[convolution.node.inputs[2]], given.elementType == .float,
                      given.elementCount == outputChannels else { continue }
                bias = given.floats
            }
            var foldedWeights = weights.floats
            let perChannel = weights.elementCount / max(outputChannels, 1)
            for channel in 0..<outputChannels {
                let factor = scale[channel] / Float((Double(variance[channel]) + epsilon).squareRoot())
                for offset in channel * perChannel..<(channel + 1) * perChannel {
                    foldedWeights[offset] *= factor
                }
                bias[channel] = (bias[channel] - mean[channel]) * factor + shift[channel]
            }
            var fused = convolution
            fused.node.inputs = [
                convolution.node.inputs[0],
                addConstant(try Tensor(shape: weights.shape, floats: foldedWeights), basedOn: convolution.node.inputs[1]),
                addConstant(try Tensor(shape: [outputChannels], floats: bias), basedOn: convolution.node.name + "_bias"),
            ]
            fused.node.outputs = [normalization.node.outputs[0]]
            // Rebuild so the operator sees its new inputs (Conv reads nothing from them at build time, but stay honest).
            fused.op = try rebuild(fused)
            nodes[producerIndex] = fused
            nodes[index] = nil
        }
        compact()
    }

    /// Builds the operator again for a node whose inputs or attributes a pass changed.
    func rebuild(_ typedNode: TypedNode) throws -> any Operator {
        guard let definition = OperatorRegistry.standard.definition(
            domain: typedNode.node.domain, opType: typedNode.node.opType, opset: typedNode.opset)
        else { return typedNode.op }
        return try definition.build(OperatorContext(node: typedNode.node, opset: typedNode.opset))
    }
}
