// Rewrite: the layer normalization exporters write as nine nodes becomes the one fused kernel.

/// Finds, over the last axis of a float input x with a fixed size there (torch's `F.layer_norm` at opset < 17,
/// onnxruntime's LayerNormFusion pattern):
///
///     mean = ReduceMean(x, [-1]); d = Sub(x, mean); variance = ReduceMean(Pow(d, 2) or Mul(d, d), [-1])
///     y = Div(d, Sqrt(Add(variance, epsilon)))  [then Mul(y, scale)]  [then Add(y, bias)]
///
/// with constant epsilon, scale and bias, every intermediate read only inside the chain and no graph output. The
/// last node of the chain becomes `FusedLayerNormalization` reading x; the others go.
struct FuseLayerNormalization: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let match = try match(at: index, in: graph), let first = graph.nodes[index],
                  let last = match.chain.last, let lastNode = graph.nodes[last] else { continue }
            for removed in match.chain.dropLast() { graph.remove(at: removed) }
            let node = Node(name: first.node.name + "+" + lastNode.node.name, opType: "FusedLayerNorm",
                            domain: onnxrunDomain, inputs: [match.input], outputs: lastNode.node.outputs)
            graph.replace(at: last, with: TypedNode(node: node, op: match.op, opset: lastNode.opset))
        }
        graph.compact()
    }

    private struct Match {
        var input: String
        /// Indices of the chain's nodes, the last one producing the normalized output.
        var chain: [Int]
        var op: FusedLayerNormalization
    }

    /// The chain starting with the ReduceMean at `index`, if it is one.
    private func match(at index: Int, in graph: GraphRewriter) throws -> Match? {
        guard let mean = graph.nodes[index], let x = mean.node.inputs.first, let type = graph.types[x],
              type.elementType == .float, let shape = type.shape, let size = shape.last?.value, size > 0,
              isMeanOverLastAxis(mean, rank: shape.count, in: graph),
              let (subtractIndex, subtract) = soleConsumer(of: mean.node.outputs[0], in: graph),
              arithmetic(subtract) == .subtract, subtract.node.inputs == [x, mean.node.outputs[0]]
        else { return nil }
        // d feeds the square (Pow(d, 2): one read; Mul(d, d): two) and the Div.
        let deviation = subtract.node.outputs[0]
        guard !graph.graphOutputs.contains(deviation) else { return nil }
        let readers = Array(Set(graph.consumers(of: deviation))).sorted()
        guard readers.count == 2, graph.consumers(of: deviation).count <= 3 else { return nil }
        guard let squareIndex = readers.first(where: { isSquare(graph.nodes[$0], of: deviation, in: graph) }),
              let divideIndex = readers.first(where: { $0 != squareIndex }), let divide = graph.nodes[divideIndex],
              arithmetic(divide) == .divide, divide.node.inputs.first == deviation,
              let square = graph.nodes[squareIndex],
              let (varianceIndex, variance) = soleConsumer(of: square.node.outputs[0], in: graph),
              variance.node.inputs.first == square.node.outputs[0],
              isMeanOverLastAxis(variance, rank: shape.count, in: graph),
              let (addIndex, add) = soleConsumer(of: variance.node.outputs[0], in: graph), arithmetic(add) == .add,
              let epsilon = scalarOperand(of: add, other: variance.node.outputs[0], in: graph),
              let (rootIndex, root) = soleConsumer(of: add.node.outputs[0], in: graph),
              (root.op as? ElementwiseFunctionOperator)?.elementwiseFunction == .squareRoot,
              let (rootReaderIndex, _) = soleConsumer(of: root.node.outputs[0], in: graph),
              rootReaderIndex == divideIndex, divide.node.inputs == [deviation, root.node.outputs[0]]
        else { return nil }
        var chain = [index, subtractIndex, squareIndex, varianceIndex, addIndex, rootIndex, divideIndex]
        var scale = [Float](repeating: 1, count: size)
        var bias: [Float]?
        var output = divide.node.outputs[0]
        if let (mulIndex, mul) = soleConsumer(of: output, in: graph), arithmetic(mul) == .multiply,
           let values = channelOperand(of: mul, other: output, size: size, rank: shape.count, in: graph) {
            scale = values
            chain.append(mulIndex)
            output = mul.node.outputs[0]
        }
        if let (addIndex, add) = soleConsumer(of: output, in: graph), arithmetic(add) == .add,
           let values = channelOperand(of: add, other: output, size: size, rank: shape.count, in: graph) {
            bias = values
            chain.append(addIndex)
        }
        let op = try FusedLayerNormalization(axis: -1, epsilon: epsilon, scale: scale, bias: bias)
        return Match(input: x, chain: chain, op: op)
    }

    // MARK: Pieces of the pattern

    /// The single reader of `value`, when it has one output (every node of the pattern does).
    private func soleConsumer(of value: String, in graph: GraphRewriter) -> (Int, TypedNode)? {
        guard let (index, node) = graph.soleConsumer(of: value), node.node.outputs.count == 1 else { return nil }
        return (index, node)
    }

    private func arithmetic(_ node: TypedNode) -> ArithmeticOperation? {
        guard node.node.inputs.count == 2 else { return nil }
        return (node.op as? BinaryArithmeticOperator)?.operation
    }

    private func isMeanOverLastAxis(_ node: TypedNode, rank: Int, in graph: GraphRewriter) -> Bool {
        guard let reduction = node.op as? ReductionOperator, reduction.reduction == .mean, reduction.keepDimensions,
              node.node.outputs.count == 1 else { return false }
        return reduction.reducedAxes(graph.inferenceInputs(of: node.node), rank: rank) == [rank - 1]
    }

    /// Pow(d, 2) or Mul(d, d).
    private func isSquare(_ node: TypedNode?, of value: String, in graph: GraphRewriter) -> Bool {
        guard let node, node.node.outputs.count == 1 else { return false }
        switch arithmetic(node) {
        case .multiply: return node.node.inputs == [value, value]
        case .power:
            guard node.node.inputs.first == value, let exponent = graph.constants[node.node.inputs[1]],
                  exponent.elementCount == 1, exponent.elementType == .float || exponent.elementType == .double
            else { return false }
            return exponent.elementType == .float ? exponent.floats == [2] : exponent.scalars(as: Double.self) == [2]
        default: return false
        }
    }

    /// The one float value of the binary node's other operand, a constant scalar (any rank, one element).
    private func scalarOperand(of node: TypedNode, other value: String, in graph: GraphRewriter) -> Float? {
        guard let position = node.node.inputs.firstIndex(of: value),
              let constant = graph.constants[node.node.inputs[1 - position]], constant.elementType == .float,
              constant.elementCount == 1, constant.rank <= 1 else { return nil }
        return constant.floats.first
    }

    /// The binary node's other operand when it is a float constant over the last axis only ([size], [1, size]...,
    /// no higher rank than x), so the product or sum keeps x's shape.
    private func channelOperand(of node: TypedNode, other value: String, size: Int, rank: Int,
                                in graph: GraphRewriter) -> [Float]? {
        guard let position = node.node.inputs.firstIndex(of: value),
              let constant = graph.constants[node.node.inputs[1 - position]], constant.elementType == .float,
              constant.rank <= rank, constant.shape.last == size, constant.elementCount == size else { return nil }
        return constant.floats
    }
}
