// Rewrite: a per-channel affine after a convolution (BatchNormalization, Mul/Add/Sub by a per-channel constant)
// becomes part of the convolution's weights and bias.

/// `conv(x, W) * s + t = conv(x, W * s) + (b * s + t)` per output channel. Legal when the affine's operands are
/// constants that broadcast per channel without growing the result (`ChannelAffineOperator`), the conv's weights
/// and bias are float constants (`ChannelAffineAbsorbing`), and nothing else reads the conv's output. tf2onnx
/// leaves BatchNormalization as Mul -> Add: visiting nodes in order folds the Mul, then the Add into the same conv.
struct FoldChannelAffineIntoConvolution: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let affine = graph.nodes[index], let affineOperator = affine.op as? ChannelAffineOperator,
                  affine.node.outputs.count >= 1, affine.node.outputs.dropFirst().allSatisfy(\.isEmpty)
            else { continue }
            for (position, input) in affine.node.inputs.enumerated() where !input.isEmpty {
                guard let producerIndex = graph.producer(of: input), graph.hasSingleUse(input),
                      let convolution = graph.nodes[producerIndex],
                      let absorbing = convolution.op as? ChannelAffineAbsorbing,
                      let outputType = graph.types[input], let shape = outputType.shape, shape.count >= 3,
                      let channels = shape[1].value, graph.types[affine.node.outputs[0]] == outputType,
                      let perChannel = affineOperator.channelAffine(
                          graph.inferenceInputs(of: affine.node), producedInput: position, channels: channels,
                          rank: shape.count),
                      let absorbed = try absorbing.absorbing(
                          scale: perChannel.scale, shift: perChannel.shift,
                          inputs: graph.inferenceInputs(of: convolution.node))
                else { continue }
                var folded = convolution
                folded.node.inputs = [
                    convolution.node.inputs[0], graph.addConstant(absorbed.weights, basedOn: convolution.node.inputs[1]),
                    graph.addConstant(absorbed.bias, basedOn: convolution.node.name + "_bias"),
                ]
                folded.node.outputs = [affine.node.outputs[0]]
                graph.replace(at: producerIndex, with: folded)
                graph.remove(at: index)
                break
            }
        }
        graph.compact()
    }
}
