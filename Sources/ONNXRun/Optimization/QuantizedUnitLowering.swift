// Rewrite: QDQ units (DequantizeLinear -> float operator -> QuantizeLinear) become the integer operator onnxruntime
// runs for them (`QuantizedLowering`), so a QDQ model computes what onnxruntime computes, not the float path.
//
// The float path is what the ONNX spec says (and what `OptimizationLevel.none` runs); onnxruntime fuses every unit
// into QLinearConv, QGemm, QLinearAdd..., whose rounding differs by a quantum here and there, and those differences
// compound over a deep network (13 quanta at the logits of MobileNetV2 0.35@96). Legal when the float operator's
// output has the QuantizeLinear as its single use and is no graph output; its inputs come from DequantizeLinear
// nodes, live or folded at load (constant weights and biases).

struct LowerQuantizedUnits: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let typed = graph.nodes[index], let lowering = typed.op as? QuantizedLowering,
                  typed.node.outputs.count == 1, let output = typed.node.outputs.first, graph.hasSingleUse(output),
                  let quantizeIndex = graph.consumers(of: output).first, let quantize = graph.nodes[quantizeIndex],
                  let quantizing = quantize.op as? LinearQuantizationOperator, quantizing.isQuantize,
                  quantize.node.inputs.first == output,
                  let outputOperand = quantizing.quantizedOperand(of: quantize.node, types: graph.types) else { continue }
            let inputOperands = typed.node.inputs.map { dequantizedOperand($0, graph: graph) }
            guard inputOperands.contains(where: { $0 != nil }) else { continue }
            let completed = inputOperands.map { $0.map { withZeroPoint($0, graph: &graph) } }
            guard let lowered = lowering.lowered(typed.node, inputs: completed, output: withZeroPoint(outputOperand, graph: &graph))
            else { continue }
            let opset = lowered.domain.isEmpty ? typed.opset : 1
            guard let definition = graph.registry.definition(domain: lowered.domain, opType: lowered.opType, opset: opset) else {
                continue
            }
            let node = Node(name: typed.node.name, opType: lowered.opType, domain: lowered.domain, inputs: lowered.inputs,
                            outputs: quantize.node.outputs, attributes: lowered.attributes)
            let op = try definition.build(OperatorContext(node: node, opset: opset))
            graph.remove(at: quantizeIndex)
            graph.replace(at: index, with: TypedNode(node: node, op: op, opset: opset))
        }
        // The DequantizeLinear nodes the integer operators bypass go now: until then they still read those operators'
        // outputs, which would keep a QLinearConv's output from its single use (no residual QLinearAdd fusion).
        graph.removeDeadNodes()
    }

    /// The quantized operand behind `value` when a DequantizeLinear produced it (a live node, or one folded at load).
    private func dequantizedOperand(_ value: String, graph: GraphRewriter) -> QuantizedOperand? {
        guard !value.isEmpty else { return nil }
        let source = graph.producer(of: value).flatMap { graph.nodes[$0] } ?? graph.foldedDequantizations[value]
        guard let source, let dequantizing = source.op as? LinearQuantizationOperator, !dequantizing.isQuantize else {
            return nil
        }
        return dequantizing.quantizedOperand(of: source.node, types: graph.types)
    }

    /// `operand` with an explicit zero point (a zero constant shaped like the scale when the model left it out).
    private func withZeroPoint(_ operand: QuantizedOperand, graph: inout GraphRewriter) -> QuantizedOperand {
        guard operand.zeroPoint.isEmpty, let shape = graph.types[operand.scale]?.fixedShape else { return operand }
        var completed = operand
        completed.zeroPoint = graph.addConstant(Tensor(zeros: operand.elementType, shape: shape),
                                                basedOn: operand.values + "_zero_point")
        return completed
    }
}
