// Rewrite: channels-last (NHWC) chains, with layout transforms inserted only at their edges.

/// Operators that run NHWC natively (`ChannelsLastOperator`: the fused convolutions) get NHWC inputs; an operator
/// with an NHWC variant (`ChannelsLastAdaptable`) reading an NHWC value switches to it, so the chain goes on
/// through it; every other reader of an NHWC value, and a graph output, gets the NCHW tensor back through a
/// transform. A transform is made once per value and shared by its readers.
struct AssignChannelsLastLayout: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        var channelsLast: Set<String> = []
        var toChannelsLast: [String: String] = [:]
        var toChannelsFirst: [String: String] = [:]
        var rewritten: [TypedNode] = []

        func transform(_ value: String, _ direction: LayoutTransform.Direction, opset: Int) -> String {
            let name = graph.freshName(value + (direction == .toChannelsLast ? "_nhwc" : "_nchw"))
            let node = Node(name: name, opType: direction == .toChannelsLast ? "ToNHWC" : "ToNCHW",
                            domain: onnxrunDomain, inputs: [value], outputs: [name])
            rewritten.append(TypedNode(node: node, op: LayoutTransform(direction: direction), opset: opset))
            return name
        }

        for case var typedNode? in graph.nodes {
            let inputs = graph.inferenceInputs(of: typedNode.node)
            var wantsChannelsLast: [Int] = []
            var producesChannelsLast = false
            if let native = typedNode.op as? ChannelsLastOperator {
                wantsChannelsLast = native.channelsLastInputs
                producesChannelsLast = true
            } else if let adaptable = typedNode.op as? ChannelsLastAdaptable,
                      let variant = adaptable.channelsLastVariant(
                          inputs, channelsLast: typedNode.node.inputs.map { channelsLast.contains($0) }) {
                typedNode.op = variant.op
                typedNode.node.opType = variant.opType
                typedNode.node.domain = onnxrunDomain
                wantsChannelsLast = variant.channelsLastInputs
                producesChannelsLast = variant.outputIsChannelsLast
            }
            for (position, input) in typedNode.node.inputs.enumerated() where !input.isEmpty {
                if wantsChannelsLast.contains(position) && !channelsLast.contains(input) {
                    if toChannelsLast[input] == nil {
                        toChannelsLast[input] = transform(input, .toChannelsLast, opset: typedNode.opset)
                    }
                    typedNode.node.inputs[position] = toChannelsLast[input]!
                } else if !wantsChannelsLast.contains(position) && channelsLast.contains(input) {
                    if toChannelsFirst[input] == nil {
                        toChannelsFirst[input] = transform(input, .toChannelsFirst, opset: typedNode.opset)
                    }
                    typedNode.node.inputs[position] = toChannelsFirst[input]!
                }
            }
            guard producesChannelsLast else {
                rewritten.append(typedNode)
                continue
            }
            var transformsBack: [TypedNode] = []
            for (position, output) in typedNode.node.outputs.enumerated() where !output.isEmpty {
                guard graph.graphOutputs.contains(output) else {
                    channelsLast.insert(output)
                    continue
                }
                // The graph output keeps its name and NCHW layout; the operator writes a private NHWC value.
                let privateName = graph.freshName(output + "_nhwc")
                typedNode.node.outputs[position] = privateName
                channelsLast.insert(privateName)
                let back = Node(name: output + "_nchw", opType: "ToNCHW", domain: onnxrunDomain,
                                inputs: [privateName], outputs: [output])
                transformsBack.append(TypedNode(node: back, op: LayoutTransform(direction: .toChannelsFirst),
                                                opset: typedNode.opset))
            }
            rewritten.append(typedNode)
            rewritten += transformsBack
        }
        graph.setNodes(rewritten)
    }
}
