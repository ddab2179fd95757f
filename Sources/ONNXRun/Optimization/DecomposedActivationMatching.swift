// What the rewrites of decomposed activations (hard swish, GELU) ask of the graph: scalar-constant arithmetic and
// single-reader chains, found by the operators' hooks.

extension GraphRewriter {
    /// The node reading `value` when it is that value's single use and has a single output.
    func singleOutputConsumer(of value: String) -> Int? {
        guard let (index, node) = soleConsumer(of: value), node.node.outputs.count == 1 else { return nil }
        return index
    }

    /// The other operand of `node` when it is the float arithmetic `operation` with a scalar constant within
    /// `tolerance` (relative) of `value`, on either side for the commutative operations, on the right otherwise.
    func operand(of node: TypedNode, _ operation: ArithmeticOperation, constant value: Float,
                 tolerance: Float = 0) -> String? {
        guard let arithmetic = node.op as? BinaryArithmeticOperator, arithmetic.operation == operation,
              node.node.inputs.count == 2 else { return nil }
        let commutative = operation == .add || operation == .multiply
        for position in commutative ? [1, 0] : [1] {
            guard let constant = constants[node.node.inputs[position]], constant.elementType == .float,
                  constant.elementCount == 1, abs(constant.floats[0] - value) <= tolerance * abs(value) else { continue }
            let other = node.node.inputs[1 - position]
            // The constant must not broadcast the other operand to a higher rank.
            guard let type = types[other], let rank = type.shape?.count, constant.rank <= rank,
                  type.elementType == .float else { return nil }
            return other
        }
        return nil
    }

    /// Whether `node` is `x * other` (either order) with x unbroadcast: the product has x's type.
    func isGate(_ node: TypedNode, by x: String) -> Bool {
        guard let arithmetic = node.op as? BinaryArithmeticOperator, arithmetic.operation == .multiply,
              node.node.inputs.count == 2, node.node.inputs.contains(x),
              let output = types[node.node.outputs[0]] else { return false }
        return output == types[x]
    }
}
