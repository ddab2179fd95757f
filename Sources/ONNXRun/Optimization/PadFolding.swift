// Rewrite: a zero, constant-mode Pad of the spatial axes followed by a Conv becomes the Conv's own padding.

/// Exporters of TF-"SAME" models (EfficientNet-Lite) emit Pad before Conv; onnxruntime keeps it and pays 30-45 %.
/// Padding with zeros then convolving equals convolving with larger pads, so the Pad goes when it pads with zeros
/// by constant amounts (`ZeroPaddingOperator`), the reader takes them into its pads (`PadAbsorbing`: explicit pads,
/// spatial axes only), and nothing else reads the padded tensor.
struct FoldPadIntoConvolution: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let pad = graph.nodes[index], let padding = pad.op as? ZeroPaddingOperator,
                  let padded = pad.node.outputs.first, graph.hasSingleUse(padded),
                  let consumerIndex = graph.consumers(of: padded).first, let convolution = graph.nodes[consumerIndex],
                  let absorbing = convolution.op as? PadAbsorbing, convolution.node.inputs.first == padded,
                  let pads = padding.constantZeroPads(graph.inferenceInputs(of: pad.node)),
                  var node = absorbing.absorbingPads(pads, into: convolution.node)
            else { continue }
            node.inputs[0] = pad.node.inputs[0]
            var folded = convolution
            folded.node = node
            folded.op = try graph.rebuild(folded)
            graph.replace(at: consumerIndex, with: folded)
            graph.remove(at: index)
        }
        graph.compact()
    }
}
