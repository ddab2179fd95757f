// Rewrite: a zero, constant-mode Pad of the spatial axes followed by a Conv becomes the Conv's own padding.

/// Exporters of TF-"SAME" models (EfficientNet-Lite, Keras' `correct_pad` before stride-2 depthwise convs) emit Pad
/// before Conv; onnxruntime folds it too. Padding with zeros then convolving equals convolving with larger pads, so
/// the Pad goes when it pads with zeros by constant amounts (`ZeroPaddingOperator`), the reader takes them into its
/// pads (`PadAbsorbing`: explicit pads, spatial axes only), and nothing else reads the padded tensor.
///
/// tf2onnx pads the NHWC tensor and transposes it to NCHW for the Conv (Pad -> Transpose -> Conv): a Transpose
/// (`AxisPermutingOperator`) that is the Pad's only reader and whose output only the Conv reads is looked through —
/// it then transposes the unpadded tensor and the pads follow their axes.
struct FoldPadIntoConvolution: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let pad = graph.nodes[index], let padding = pad.op as? ZeroPaddingOperator,
                  let padded = pad.node.outputs.first, let reader = graph.soleConsumer(of: padded),
                  var pads = padding.constantZeroPads(graph.inferenceInputs(of: pad.node))
            else { continue }
            // Through a Transpose: its output, unpadded, with the type it then has.
            var transposed: (output: String, type: TensorType)?
            if let permuting = reader.node.op as? AxisPermutingOperator {
                guard let output = reader.node.node.outputs.first,
                      let permutation = permuting.axisPermutation(rank: pads.count / 2),
                      let unpadded = graph.types[pad.node.inputs[0]], let shape = unpadded.shape,
                      shape.count == permutation.count, pads.count == 2 * shape.count
                else { continue }
                let rank = permutation.count
                pads = permutation.map { pads[$0] } + permutation.map { pads[rank + $0] }
                transposed = (output, TensorType(elementType: unpadded.elementType, shape: permutation.map { shape[$0] }))
            }
            let convolutionInput = transposed?.output ?? padded
            guard let consumer = graph.soleConsumer(of: convolutionInput),
                  let absorbing = consumer.node.op as? PadAbsorbing, consumer.node.node.inputs.first == convolutionInput,
                  var node = absorbing.absorbingPads(pads, into: consumer.node.node)
            else { continue }
            if let transposed {
                var transpose = reader.node
                transpose.node.inputs[0] = pad.node.inputs[0]
                graph.replace(at: reader.index, with: transpose)
                graph.types[transposed.output] = transposed.type
            } else {
                node.inputs[0] = pad.node.inputs[0]
            }
            var folded = consumer.node
            folded.node = node
            folded.op = try graph.rebuild(folded)
            graph.replace(at: consumer.index, with: folded)
            graph.remove(at: index)
        }
        graph.compact()
    }
}
