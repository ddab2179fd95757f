// Pass: the convolution chain runs channels-last (NHWC); transforms are inserted only at the chain's edges.

extension GraphRewriter {
    /// FusedConv (and FusedExpandDepthwiseConv) reads and writes NHWC. Its NCHW inputs get a transform (one per
    /// value, shared by all readers); GlobalAveragePool of an NHWC value reads it directly; any other reader of an
    /// NHWC value, and a graph output, gets the NCHW tensor back through a transform.
    mutating func assignChannelsLastLayout() throws {
        var channelsLast: Set<String> = []
        var toChannelsLast: [String: String] = [:]
        var toChannelsFirst: [String: String] = [:]
        var rewritten: [TypedNode] = []

        func transform(_ value: String, _ direction: LayoutTransform.Direction, opset: Int) -> String {
            let name = freshName(value + (direction == .toChannelsLast ? "_nhwc" : "_nchw"))
            let node = Node(name: name, opType: direction == .toChannelsLast ? "ToNHWC" : "ToNCHW",
                            domain: "ai.onnxrun", inputs: [value], outputs: [name])
            rewritten.append(TypedNode(node: node, op: LayoutTransform(direction: direction), opset: opset))
            return name
        }

        for case var typedNode? in nodes {
            let isFused = typedNode.op is FusedConvolution || typedNode.op is FusedExpandDepthwiseConvolution
            for (position, input) in typedNode.node.inputs.enumerated() where !input.isEmpty {
                let wantsChannelsLast = isFused
                if wantsChannelsLast && !channelsLast.contains(input) {
                    if toChannelsLast[input] == nil {
                        toChannelsLast[input] = channelsLastSource(of: input)
                            ?? transform(input, .toChannelsLast, opset: typedNode.opset)
                    }
                    typedNode.node.inputs[position] = toChannelsLast[input]!
                } else if !wantsChannelsLast && channelsLast.contains(input) {
                    if typedNode.node.opType == "GlobalAveragePool" && typedNode.node.domain.isEmpty {
                        typedNode.op = ChannelsLastGlobalAveragePool()
                        continue
                    }
                    if toChannelsFirst[input] == nil {
                        toChannelsFirst[input] = transform(input, .toChannelsFirst, opset: typedNode.opset)
                    }
                    typedNode.node.inputs[position] = toChannelsFirst[input]!
                }
            }
            if isFused {
                let output = typedNode.node.outputs[0]
                if graphOutputs.contains(output) {
                    // The graph output keeps its name and NCHW layout; the conv writes a private NHWC value.
                    let privateName = freshName(output + "_nhwc")
                    typedNode.node.outputs[0] = privateName
                    rewritten.append(typedNode)
                    let back = Node(name: output + "_nchw", opType: "ToNCHW", domain: "ai.onnxrun",
                                    inputs: [privateName], outputs: [output])
                    rewritten.append(TypedNode(node: back, op: LayoutTransform(direction: .toChannelsFirst),
                                               opset: typedNode.opset))
                    channelsLast.insert(privateName)
                    continue
                }
                channelsLast.insert(output)
            }
            rewritten.append(typedNode)
        }
        nodes = rewritten
    }

    /// When `value` is Transpose(perm [0, 3, 1, 2]) of an NHWC tensor — how tf2onnx feeds a Keras model's NHWC
    /// input to Conv — that tensor is already the channels-last form: use it, and the Transpose goes if unused.
    private func channelsLastSource(of value: String) -> String? {
        guard let index = producer(of: value), let transpose = nodes[index], transpose.node.opType == "Transpose",
              transpose.node.domain.isEmpty, transpose.node.inputs.count == 1,
              case .ints([0, 3, 1, 2])? = transpose.node.attributes["perm"],
              let type = types[transpose.node.inputs[0]], type.elementType == .float, type.shape?.count == 4
        else { return nil }
        return transpose.node.inputs[0]
    }
}
