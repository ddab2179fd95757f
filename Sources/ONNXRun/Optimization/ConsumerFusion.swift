// Rewrite: an operator absorbs the node that reads its output, as the operator declares (`ConsumerFusing`).

/// Legal when the intermediate value has a single use and is no graph output (the operator checks the rest, e.g.
/// that a residual operand is computed before it). Producers are visited from the last to the first, so a consumer
/// has absorbed its own activation before its producer considers it (a depthwise conv with its clamp, then the
/// expansion before it); each producer keeps fusing while its new consumer fuses. The fused node takes the
/// producer's place: its inputs, and any extra input (checked to be available before the producer), are ready there.
struct FuseWithConsumers: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices.reversed() {
            while let producer = graph.nodes[index], let fusing = producer.op as? ConsumerFusing,
                  producer.node.outputs.count == 1, let output = producer.node.outputs.first,
                  graph.hasSingleUse(output), let consumerIndex = graph.consumers(of: output).first,
                  let consumer = graph.nodes[consumerIndex],
                  let position = consumer.node.inputs.firstIndex(of: output),
                  let fused = try fusing.fusing(FusionCandidate(
                      node: consumer.node, op: consumer.op, inputs: graph.inferenceInputs(of: consumer.node),
                      producedInput: position, producerInputs: producer.node.inputs,
                      producerInputValues: graph.inferenceInputs(of: producer.node),
                      isAvailableBeforeProducer: { [graph] value in graph.isAvailable(value, before: index) })) {
                var node = producer.node
                node.opType = fused.opType
                node.domain = onnxrunDomain
                node.inputs += fused.extraInputs
                node.outputs = consumer.node.outputs
                node.name += "+" + consumer.node.name
                graph.remove(at: consumerIndex)
                graph.replace(at: index, with: TypedNode(node: node, op: fused.op, opset: producer.opset))
            }
        }
        graph.compact()
    }
}
