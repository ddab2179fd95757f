// Rewrite: the hard swish some exporters write out, x * clip(x + 3, 0, 6) / 6, becomes one HardSwish.

/// Matches `Add(x, 3) -> Clip(0, 6)` followed by either `/ 6` (or `* 1/6`) then `* x` (a hard sigmoid, then the
/// gate), or `* x` then `/ 6` (torch's `x * relu6(x + 3) / 6`), every intermediate read once. The chain becomes
/// one `ElementwiseActivation(.hardSwish)` reading x, which a convolution before it then absorbs. The operators
/// are found by their hooks (`BinaryArithmeticOperator`, `ActivationOperator`); the results agree to rounding
/// (`x / 6 + 1/2` instead of `(x + 3) / 6`).
struct FuseDecomposedHardSwish: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let clip = graph.nodes[index], let activation = clip.op as? ActivationOperator,
                  activation.activation(graph.inferenceInputs(of: clip.node)) == .clamp(ClampBounds(minimum: 0, maximum: 6)),
                  clip.node.outputs.count == 1, let clipInput = clip.node.inputs.first,
                  graph.hasSingleUse(clipInput), let addIndex = graph.producer(of: clipInput),
                  let add = graph.nodes[addIndex],
                  let x = graph.operand(of: add, .add, constant: 3)
            else { continue }
            // clip -> (scale by 1/6 -> gate by x) or (gate by x -> scale by 1/6).
            guard let first = graph.singleOutputConsumer(of: clip.node.outputs[0]),
                  let second = graph.singleOutputConsumer(of: graph.nodes[first]!.node.outputs[0])
            else { continue }
            let (firstNode, secondNode) = (graph.nodes[first]!, graph.nodes[second]!)
            let scalesFirst = isSixth(firstNode, in: graph) && graph.isGate(secondNode, by: x)
            let gatesFirst = graph.isGate(firstNode, by: x) && isSixth(secondNode, in: graph)
            guard scalesFirst || gatesFirst, secondNode.node.outputs.count == 1 else { continue }
            let node = Node(name: secondNode.node.name, opType: "HardSwish", domain: onnxrunDomain, inputs: [x],
                            outputs: secondNode.node.outputs)
            for removed in [addIndex, index, first] { graph.remove(at: removed) }
            graph.replace(at: second, with: TypedNode(node: node, op: ElementwiseActivation(function: .hardSwish),
                                                      opset: secondNode.opset))
        }
        graph.compact()
    }

    private func isSixth(_ node: TypedNode, in graph: GraphRewriter) -> Bool {
        graph.operand(of: node, .divide, constant: 6) != nil
            || graph.operand(of: node, .multiply, constant: Float(1) / 6) != nil
    }
}
