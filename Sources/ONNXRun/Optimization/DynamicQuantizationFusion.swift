// Rewrite: onnxruntime's dynamic quantization chains become one float operator on the int8 kernels.

/// `quantize_dynamic` writes, for each Conv or MatMul with constant weights:
///
///     (q, s, z) = DynamicQuantizeLinear(x);  m = Mul(s, w_scale)
///     i = ConvInteger(q, w, z, w_zero_point)   (or MatMulInteger)
///     y = Add(Mul(Cast(i, float), m), bias)   (the Add only when there is a bias)
///
/// The integer operator answers `DynamicallyQuantizable` with an operator computing y from x, which takes the
/// DynamicQuantizeLinear's place; the other nodes go. Legal when q, z, s, i, its Cast and m each have their single
/// use in the chain and none is a graph output, and w_scale and bias are constants (the operator checks their shapes).
struct FuseDynamicQuantization: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let quantize = graph.nodes[index], quantize.op is DynamicQuantizingOperator,
                  quantize.node.outputs.count == 3, let chain = chain(from: quantize.node, graph: graph),
                  let product = graph.nodes[chain.product], let quantizable = product.op as? DynamicallyQuantizable,
                  let fused = try quantizable.dynamicallyQuantized(graph.inferenceInputs(of: product.node),
                                                                   weightScale: chain.weightScale, bias: chain.bias)
            else { continue }
            var node = product.node
            node.opType = fused.opType
            node.domain = onnxrunDomain
            node.inputs = [quantize.node.inputs[0]] + fused.extraInputs
            node.outputs = [chain.output]
            for removed in chain.removed { graph.remove(at: removed) }
            graph.replace(at: index, with: TypedNode(node: node, op: fused.op, opset: product.opset))
        }
        graph.compact()
    }

    private struct Chain {
        var product: Int
        var weightScale: Tensor
        var bias: Tensor?
        /// The value the fused operator computes.
        var output: String
        /// The chain's nodes after the DynamicQuantizeLinear.
        var removed: [Int]
    }

    private func chain(from quantize: Node, graph: GraphRewriter) -> Chain? {
        let (values, scale, zeroPoint) = (quantize.outputs[0], quantize.outputs[1], quantize.outputs[2])
        guard let (productIndex, product) = graph.soleConsumer(of: values), product.op is DynamicallyQuantizable,
              product.node.inputs.count >= 3, product.node.inputs[0] == values, product.node.inputs[2] == zeroPoint,
              graph.hasSingleUse(zeroPoint), product.node.outputs.count == 1,
              let (scaleIndex, scaleProduct) = graph.soleConsumer(of: scale),
              let weightScale = multiplication(scaleProduct, by: scale, graph: graph),
              let weightScaleTensor = graph.constants[weightScale],
              let (castIndex, cast) = graph.soleConsumer(of: product.node.outputs[0]),
              (cast.op as? ElementTypeConverting)?.targetElementType == .float,
              let (rescaleIndex, rescale) = graph.soleConsumer(of: cast.node.outputs[0]),
              graph.soleConsumer(of: scaleProduct.node.outputs[0])?.index == rescaleIndex,
              multiplication(rescale, by: cast.node.outputs[0], graph: graph) == scaleProduct.node.outputs[0]
        else { return nil }
        var chain = Chain(product: productIndex, weightScale: weightScaleTensor, output: rescale.node.outputs[0],
                          removed: [scaleIndex, productIndex, castIndex, rescaleIndex])
        if let (biasIndex, addition) = graph.soleConsumer(of: rescale.node.outputs[0]),
           let arithmetic = addition.op as? BinaryArithmeticOperator, arithmetic.operation == .add,
           addition.node.inputs.count == 2, let position = addition.node.inputs.firstIndex(of: chain.output),
           let bias = graph.constants[addition.node.inputs[1 - position]], bias.elementType == .float {
            chain.bias = bias
            chain.output = addition.node.outputs[0]
            chain.removed.append(biasIndex)
        }
        return chain
    }

    /// The other operand's name when `node` is a two-input Mul reading `value`.
    private func multiplication(_ node: TypedNode, by value: String, graph: GraphRewriter) -> String? {
        guard let arithmetic = node.op as? BinaryArithmeticOperator, arithmetic.operation == .multiply,
              node.node.inputs.count == 2, node.node.outputs.count == 1,
              let position = node.node.inputs.firstIndex(of: value) else { return nil }
        return node.node.inputs[1 - position]
    }
}
