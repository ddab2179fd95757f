// Rewrite: GELU written out with Erf, x * 0.5 * (1 + erf(x / sqrt(2))), becomes one Gelu activation.

/// Matches `x / sqrt(2)` (or `x * (1 / sqrt(2))`) -> Erf -> `+ 1`, then the halving and the gate by x in any of
/// the orders exporters write: `(x * a) * 0.5` (torch's `F.gelu` at opset < 20), `x * (a * 0.5)`, and
/// `(x * 0.5) * a` (`0.5 * x * (1 + erf(...))` in Python), every intermediate read once. The chain becomes one
/// `ElementwiseActivation(.gelu)` reading x, which a Linear or convolution before it then absorbs into its store
/// (ConvNeXt's MLP). The operators are found by their hooks (`ElementwiseFunctionOperator`,
/// `BinaryArithmeticOperator`).
struct FuseDecomposedGelu: GraphRewrite {
    /// Exporters write sqrt(2) and its inverse rounded to float32 or double.
    private static let constantTolerance: Float = 1e-6

    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let erf = graph.nodes[index], let function = erf.op as? ElementwiseFunctionOperator,
                  function.elementwiseFunction == .errorFunction,
                  erf.node.outputs.count == 1, let erfInput = erf.node.inputs.first,
                  graph.hasSingleUse(erfInput), let scaleIndex = graph.producer(of: erfInput),
                  let scale = graph.nodes[scaleIndex],
                  let x = graph.operand(of: scale, .divide, constant: Float(2).squareRoot(),
                                        tolerance: Self.constantTolerance)
                      ?? graph.operand(of: scale, .multiply, constant: 1 / Float(2).squareRoot(),
                                       tolerance: Self.constantTolerance),
                  let addIndex = graph.singleOutputConsumer(of: erf.node.outputs[0]),
                  let add = graph.nodes[addIndex], graph.operand(of: add, .add, constant: 1) == erf.node.outputs[0],
                  let first = graph.singleOutputConsumer(of: add.node.outputs[0])
            else { continue }
            let firstNode = graph.nodes[first]!
            var removed = [scaleIndex, index, addIndex, first]
            let last: Int
            if graph.isGate(firstNode, by: x) || isHalving(firstNode, of: add.node.outputs[0], in: graph) {
                // (x * a) * 0.5 or x * (a * 0.5): the second node does the other half.
                guard let second = graph.singleOutputConsumer(of: firstNode.node.outputs[0]) else { continue }
                let secondNode = graph.nodes[second]!
                let complete = graph.isGate(firstNode, by: x)
                    ? isHalving(secondNode, of: firstNode.node.outputs[0], in: graph)
                    : graph.isGate(secondNode, by: x)
                guard complete else { continue }
                last = second
            } else {
                // (x * 0.5) * a: the halved x comes from its own node, read only here.
                guard let arithmetic = firstNode.op as? BinaryArithmeticOperator, arithmetic.operation == .multiply,
                      firstNode.node.inputs.count == 2,
                      let halved = firstNode.node.inputs.first(where: { $0 != add.node.outputs[0] }),
                      graph.hasSingleUse(halved), let halfIndex = graph.producer(of: halved),
                      let half = graph.nodes[halfIndex], isHalving(half, of: x, in: graph),
                      graph.types[firstNode.node.outputs[0]] == graph.types[x]
                else { continue }
                removed.append(halfIndex)
                last = first
            }
            let lastNode = graph.nodes[last]!
            let node = Node(name: lastNode.node.name, opType: "Gelu", domain: onnxrunDomain, inputs: [x],
                            outputs: lastNode.node.outputs)
            for position in removed where position != last { graph.remove(at: position) }
            graph.replace(at: last, with: TypedNode(node: node, op: ElementwiseActivation(function: .gelu),
                                                    opset: lastNode.opset))
        }
        graph.compact()
    }

    /// `value * 0.5` or `value / 2`.
    private func isHalving(_ node: TypedNode, of value: String, in graph: GraphRewriter) -> Bool {
        graph.operand(of: node, .multiply, constant: 0.5) == value || graph.operand(of: node, .divide, constant: 2) == value
    }
}
