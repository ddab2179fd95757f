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
                  let x = operand(of: add, .add, constant: 3, in: graph)
            else { continue }
            // clip -> (scale by 1/6 -> gate by x) or (gate by x -> scale by 1/6).
            guard let first = singleConsumer(of: clip.node.outputs[0], in: graph),
                  let second = singleConsumer(of: graph.nodes[first]!.node.outputs[0], in: graph)
            else { continue }
            let (firstNode, secondNode) = (graph.nodes[first]!, graph.nodes[second]!)
            let scalesFirst = isSixth(firstNode, in: graph) && isGate(secondNode, by: x, in: graph)
            let gatesFirst = isGate(firstNode, by: x, in: graph) && isSixth(secondNode, in: graph)
            guard scalesFirst || gatesFirst, secondNode.node.outputs.count == 1 else { continue }
            let node = Node(name: secondNode.node.name, opType: "HardSwish", domain: onnxrunDomain, inputs: [x],
                            outputs: secondNode.node.outputs)
            for removed in [addIndex, index, first] { graph.remove(at: removed) }
            graph.replace(at: second, with: TypedNode(node: node, op: ElementwiseActivation(function: .hardSwish),
                                                      opset: secondNode.opset))
        }
        graph.compact()
    }

    /// The node's single output's only reader, when the output is no graph output.
    private func singleConsumer(of value: String, in graph: GraphRewriter) -> Int? {
        guard graph.hasSingleUse(value), let index = graph.consumers(of: value).first,
              graph.nodes[index]?.node.outputs.count == 1 else { return nil }
        return index
    }

    /// The other operand of `node` when it is the float arithmetic `operation` with the scalar constant `value`
    /// (on either side for the commutative ones, on the right otherwise).
    private func operand(of node: TypedNode, _ operation: ArithmeticOperation, constant value: Float,
                         in graph: GraphRewriter) -> String? {
        guard let arithmetic = node.op as? BinaryArithmeticOperator, arithmetic.operation == operation,
              node.node.inputs.count == 2 else { return nil }
        let commutative = operation == .add || operation == .multiply
        for position in commutative ? [1, 0] : [1] {
            guard let constant = graph.constants[node.node.inputs[position]], constant.elementType == .float,
                  constant.elementCount == 1, constant.floats[0] == value else { continue }
            let other = node.node.inputs[1 - position]
            // The constant must not broadcast the other operand to a higher rank.
            guard let type = graph.types[other], let rank = type.shape?.count, constant.rank <= rank,
                  type.elementType == .float else { return nil }
            return other
        }
        return nil
    }

    private func isSixth(_ node: TypedNode, in graph: GraphRewriter) -> Bool {
        operand(of: node, .divide, constant: 6, in: graph) != nil
            || operand(of: node, .multiply, constant: Float(1) / 6, in: graph) != nil
    }

    /// `x * other` (either order), x unbroadcast: the product has x's type.
    private func isGate(_ node: TypedNode, by x: String, in graph: GraphRewriter) -> Bool {
        guard let arithmetic = node.op as? BinaryArithmeticOperator, arithmetic.operation == .multiply,
              node.node.inputs.count == 2, node.node.inputs.contains(x),
              let output = graph.types[node.node.outputs[0]] else { return false }
        return output == graph.types[x]
    }
}
