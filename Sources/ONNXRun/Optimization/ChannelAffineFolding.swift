// Rewrite: a per-channel affine after a convolution (BatchNormalization, Mul/Add/Sub by a per-channel constant)
// becomes part of the convolution's weights and bias.

/// `conv(x, W) * s + t = conv(x, W * s) + (b * s + t)` per output channel. Legal when the affine's operands are
/// constants that broadcast per channel without growing the result (`ChannelAffineOperator`), the conv's weights
/// and bias are float constants (`ChannelAffineAbsorbing`), and nothing else reads the conv's output. tf2onnx
/// leaves BatchNormalization as Mul -> Add: visiting nodes in order folds the Mul, then the Add into the same conv.
/// When tf2onnx transposes the conv's output to NHWC before them (Conv -> Transpose -> Mul -> Add), the affine is
/// looked through the Transpose (`AxisPermutingOperator`, read only by the affine): its broadcasting constants
/// (`BinaryArithmeticOperator`) are permuted back to the conv's layout, and the Transpose then writes the affine's
/// output.
struct FoldChannelAffineIntoConvolution: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let affine = graph.nodes[index], let affineOperator = affine.op as? ChannelAffineOperator,
                  affine.node.outputs.count >= 1, affine.node.outputs.dropFirst().allSatisfy(\.isEmpty)
            else { continue }
            for (position, input) in affine.node.inputs.enumerated() where !input.isEmpty {
                guard let producerIndex = graph.producer(of: input), graph.hasSingleUse(input),
                      let producer = graph.nodes[producerIndex], let inputType = graph.types[input],
                      graph.types[affine.node.outputs[0]] == inputType
                else { continue }
                var convolutionIndex = producerIndex
                var affineInputs = graph.inferenceInputs(of: affine.node)
                var transpose: TypedNode?
                if let permuting = producer.op as? AxisPermutingOperator {
                    // Only broadcasting operands follow their axes through it (BatchNormalization's are per axis 1).
                    guard affine.op is BinaryArithmeticOperator, let rank = inputType.shape?.count, let permutation = permuting.axisPermutation(rank: rank),
                          let transposedInput = producer.node.inputs.first,
                          let convolutionIndexBefore = graph.producer(of: transposedInput),
                          graph.hasSingleUse(transposedInput),
                          let permuted = Self.permutedBack(affineInputs, except: position, through: permutation,
                                                           producedType: graph.types[transposedInput])
                    else { continue }
                    convolutionIndex = convolutionIndexBefore
                    affineInputs = permuted
                    transpose = producer
                }
                guard let convolution = graph.nodes[convolutionIndex],
                      let absorbing = convolution.op as? ChannelAffineAbsorbing,
                      let shape = affineInputs[position]?.type.shape, shape.count >= 3, let channels = shape[1].value,
                      let perChannel = affineOperator.channelAffine(
                          affineInputs, producedInput: position, channels: channels, rank: shape.count),
                      let absorbed = try absorbing.absorbing(
                          scale: perChannel.scale, shift: perChannel.shift,
                          inputs: graph.inferenceInputs(of: convolution.node))
                else { continue }
                var folded = convolution
                folded.node.inputs = [
                    convolution.node.inputs[0], graph.addConstant(absorbed.weights, basedOn: convolution.node.inputs[1]),
                    graph.addConstant(absorbed.bias, basedOn: convolution.node.name + "_bias"),
                ]
                if var transpose {
                    transpose.node.outputs = [affine.node.outputs[0]]
                    graph.replace(at: producerIndex, with: transpose)
                } else {
                    folded.node.outputs = [affine.node.outputs[0]]
                }
                graph.replace(at: convolutionIndex, with: folded)
                graph.remove(at: index)
                break
            }
        }
        graph.compact()
    }

    /// The affine's inputs as they would be before a Transpose by `permutation`: the produced input with the
    /// untransposed type, every other input a constant (padded to the rank with leading 1s) transposed back.
    /// nil when another input is not a constant of at most that rank.
    private static func permutedBack(_ inputs: [InferenceValue?], except producedInput: Int, through permutation: [Int],
                                     producedType: TensorType?) -> [InferenceValue?]? {
        guard let producedType else { return nil }
        let inverse = inversePermutation(permutation)
        var permuted = inputs
        for (position, value) in inputs.enumerated() {
            if position == producedInput {
                permuted[position] = InferenceValue(type: producedType, constant: nil)
                continue
            }
            guard let constant = value?.constant, constant.rank <= permutation.count else { return nil }
            let tensor = constant.permutingAxes(inverse)
            permuted[position] = InferenceValue(
                type: TensorType(elementType: tensor.elementType, fixedShape: tensor.shape), constant: tensor)
        }
        return permuted
    }
}
