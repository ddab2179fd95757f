// Rewrite: ShuffleNet's Reshape-Transpose-Reshape channel shuffle becomes one ChannelShuffle pass.

/// Finds x [N, C, H, W] -> reshape to [N, g, C/g, H, W] -> Transpose(0, 2, 1, 3, 4) -> reshape to [N, C, H, W]
/// (torchvision's `channel_shuffle`), shapes fixed at load, intermediates read only inside the pattern. The last
/// reshape becomes `ChannelShuffle(groups: g)` reading x; the other two go.
struct FuseChannelShuffle: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let split = graph.nodes[index], split.op is ElementOrderPreservingOperator,
                  let x = split.node.inputs.first, let shape = graph.types[x]?.fixedShape, shape.count == 4,
                  let grouped = outputShape(of: split, in: graph), grouped.count == 5, grouped[0] == shape[0],
                  grouped[1] * grouped[2] == shape[1], grouped[3] == shape[2], grouped[4] == shape[3],
                  split.node.outputs.count == 1,
                  let (transposeIndex, transpose) = graph.soleConsumer(of: split.node.outputs[0]),
                  (transpose.op as? AxisPermutingOperator)?.axisPermutation(rank: 5) == [0, 2, 1, 3, 4],
                  transpose.node.outputs.count == 1,
                  let (mergeIndex, merge) = graph.soleConsumer(of: transpose.node.outputs[0]),
                  merge.op is ElementOrderPreservingOperator, merge.node.inputs.first == transpose.node.outputs[0],
                  outputShape(of: merge, in: graph) == shape
            else { continue }
            let node = Node(name: split.node.name + "+" + merge.node.name, opType: "ChannelShuffle",
                            domain: onnxrunDomain, inputs: [x], outputs: merge.node.outputs)
            graph.remove(at: index)
            graph.remove(at: transposeIndex)
            graph.replace(at: mergeIndex, with: TypedNode(node: node, op: ChannelShuffle(groups: grouped[1]),
                                                          opset: merge.opset))
        }
        graph.compact()
    }

    private func outputShape(of node: TypedNode, in graph: GraphRewriter) -> [Int]? {
        guard node.node.outputs.count == 1 else { return nil }
        return graph.types[node.node.outputs[0]]?.fixedShape
    }
}
