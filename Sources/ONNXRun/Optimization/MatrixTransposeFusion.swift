// Rewrite: a matrix product reads a Transpose's input directly when that Transpose only swaps the last two axes.

/// For operators declaring `MatrixTransposeAbsorbing` (the batched MatMul packs B either way round): an input made
/// by a Transpose whose permutation keeps every axis but the last two, which it swaps, read by that operator alone
/// and no graph output, is read untransposed; the Transpose goes.
struct AbsorbMatrixTransposes: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard var typedNode = graph.nodes[index], let absorbing = typedNode.op as? MatrixTransposeAbsorbing
            else { continue }
            for (position, input) in typedNode.node.inputs.enumerated() where !input.isEmpty {
                guard graph.hasSingleUse(input), let producerIndex = graph.producer(of: input),
                      let producer = graph.nodes[producerIndex], producer.node.inputs.count == 1,
                      let rank = graph.types[producer.node.inputs[0]]?.shape?.count, rank >= 2,
                      let permutation = (producer.op as? AxisPermutingOperator)?.axisPermutation(rank: rank),
                      permutation == Array(0..<(rank - 2)) + [rank - 1, rank - 2],
                      let op = absorbing.absorbingMatrixTranspose(ofInput: position) else { continue }
                typedNode.op = op
                typedNode.node.inputs[position] = producer.node.inputs[0]
                graph.remove(at: producerIndex)
                graph.replace(at: index, with: typedNode)
                break
            }
        }
        graph.compact()
    }
}
