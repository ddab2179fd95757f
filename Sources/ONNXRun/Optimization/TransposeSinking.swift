// Rewrite: Transposes carried down through the elementwise operators they feed; inverse pairs cancel.

/// tf2onnx converts a Keras (NHWC) model by wrapping each Conv in Transposes — to NCHW before it, back to NHWC
/// after — and leaves the activations, residual Adds and squeeze-excite products between convolutions on NHWC
/// tensors: Conv -> Transpose -> Relu -> Transpose -> Conv. An elementwise operator commutes with a Transpose (a
/// constant operand permuted back to match), so each Transpose is carried down through the elementwise operators
/// reading it and made only where another operator reads its value; one that meets its inverse disappears. The
/// Conv then has its activation, residual Add and next Conv next to it, as in a torch export, for the fusions after.
///
/// Carried through: activations with parameters known at load (`ActivationOperator`), and numpy-broadcasting binary
/// arithmetic (`BinaryArithmeticOperator`, opset >= 7) whose operands are values transposed by the same permutation
/// or constants. Broadcasting is per axis, so it commutes with permuting every operand's axes alike.
struct SinkTransposes: GraphRewrite {
    /// A value not computed (yet): `permutation` of `source`, made by `transpose` when something needs it.
    private struct Pending {
        var source: String
        var permutation: [Int]
        var transpose: TypedNode
    }

    func apply(to graph: inout GraphRewriter) throws {
        var pending: [String: Pending] = [:]
        // Pending values a Transpose was made for: still pending for elementwise readers, which read the source.
        var made: Set<String> = []
        // Values a cancelled pair of Transposes made: the value each equals.
        var renamed: [String: String] = [:]
        var rewritten: [TypedNode] = []

        func materialize(_ value: String) {
            guard let entry = pending[value], made.insert(value).inserted else { return }
            var transpose = entry.transpose
            // One carried below an operator is named after the value it makes.
            if transpose.node.outputs != [value] { transpose.node.name = value }
            transpose.node.inputs = [entry.source]
            transpose.node.outputs = [value]
            rewritten.append(transpose)
        }

        for case var typedNode? in graph.nodes {
            typedNode.node.inputs = typedNode.node.inputs.map { renamed[$0] ?? $0 }
            let inputs = typedNode.node.inputs
            if let permuting = typedNode.op as? AxisPermutingOperator, inputs.count == 1,
               let output = typedNode.node.outputs.first, typedNode.node.outputs.count == 1,
               !graph.graphOutputs.contains(output), let rank = graph.types[inputs[0]]?.shape?.count,
               let permutation = permuting.axisPermutation(rank: rank) {
                if let before = pending[inputs[0]],
                   permutation.indices.allSatisfy({ before.permutation[permutation[$0]] == $0 }) {
                    renamed[output] = before.source
                } else {
                    materialize(inputs[0])
                    pending[output] = Pending(source: inputs[0], permutation: permutation, transpose: typedNode)
                }
                continue
            }
            if let moved = movedAbove(typedNode, pending, &graph) {
                let output = typedNode.node.outputs[0]
                rewritten.append(moved.node)
                pending[output] = Pending(source: moved.node.node.outputs[0], permutation: moved.permutation,
                                          transpose: moved.transpose)
                if graph.graphOutputs.contains(output) { materialize(output) }
                continue
            }
            inputs.forEach(materialize)
            rewritten.append(typedNode)
        }
        graph.setNodes(rewritten)
    }

    /// The node computing on the untransposed values, writing a new value of the untransposed type, when it is an
    /// elementwise operator reading pending values of one permutation; nil otherwise.
    private func movedAbove(_ typedNode: TypedNode, _ pending: [String: Pending], _ graph: inout GraphRewriter)
        -> (node: TypedNode, permutation: [Int], transpose: TypedNode)? {
        let node = typedNode.node
        let readsPending = node.inputs.map { pending[$0] }
        guard let first = readsPending.compactMap({ $0 }).first, node.outputs.count == 1,
              readsPending.allSatisfy({ $0 == nil || $0?.permutation == first.permutation }),
              let outputType = graph.types[node.outputs[0]], let outputShape = outputType.shape,
              outputShape.count == first.permutation.count
        else { return nil }
        let inputs = graph.inferenceInputs(of: node)
        if let activation = typedNode.op as? ActivationOperator {
            // Its other inputs are its parameters (constants, since the activation is known at load).
            guard readsPending[0] != nil, readsPending.dropFirst().allSatisfy({ $0 == nil }),
                  activation.activation(inputs) != nil else { return nil }
        } else {
            guard typedNode.op is BinaryArithmeticOperator, typedNode.opset >= 7, node.inputs.count == 2 else { return nil }
        }
        let permutation = first.permutation
        let inverse = inversePermutation(permutation)
        var moved = typedNode
        for (position, name) in node.inputs.enumerated() where !name.isEmpty {
            if let entry = readsPending[position] {
                moved.node.inputs[position] = entry.source
                continue
            }
            guard let constant = inputs[position]?.constant, constant.rank <= permutation.count else { return nil }
            // A binary operand is laid out like the others; an activation's parameters are scalars.
            guard typedNode.op is BinaryArithmeticOperator, constant.elementCount > 1 else { continue }
            moved.node.inputs[position] = graph.addConstant(constant.permutingAxes(inverse), basedOn: name)
        }
        let output = graph.freshName(node.outputs[0])
        moved.node.outputs = [output]
        graph.types[output] = TensorType(elementType: outputType.elementType, shape: inverse.map { outputShape[$0] })
        return (moved, permutation, first.transpose)
    }
}
