// The mutable graph the optimization passes rewrite: nodes in order, constants, load-time types, graph outputs.

struct GraphRewriter {
    /// nil marks a node a pass removed; `compact()` drops them.
    var nodes: [TypedNode?]
    var constants: [String: Tensor]
    /// Load-time types (symbolic dims kept), updated as passes add values.
    var types: [String: TensorType]
    let graphOutputs: Set<String>
    let source: String
    private var nameCounter = 0

    init(_ graph: TypedGraph) {
        nodes = graph.nodes
        constants = graph.constants
        types = graph.types
        graphOutputs = Set(graph.outputs.map(\.name))
        source = graph.source
    }

    /// Indices of the live nodes that read `value`.
    func consumers(of value: String) -> [Int] {
        nodes.indices.filter { index in nodes[index]?.node.inputs.contains(value) ?? false }
    }

    /// The index of the live node producing `value`.
    func producer(of value: String) -> Int? {
        nodes.indices.first { index in nodes[index]?.node.outputs.contains(value) ?? false }
    }

    /// Whether `value` feeds exactly one node input and is not a graph output — the condition for fusing its
    /// producer with its consumer without anyone else seeing the intermediate.
    func hasSingleUse(_ value: String) -> Bool {
        guard !graphOutputs.contains(value) else { return false }
        let uses = nodes.reduce(0) { count, node in
            count + (node?.node.inputs.filter { $0 == value }.count ?? 0)
        }
        return uses == 1
    }

    /// What inference knows about a node's inputs (types and constant values).
    func inferenceInputs(of node: Node) -> [InferenceValue?] {
        node.inputs.map { name in
            guard !name.isEmpty, let type = types[name] else { return nil }
            return InferenceValue(type: type, constant: constants[name])
        }
    }

    /// A value name no model uses: `base` + a marker onnxrun reserves.
    mutating func freshName(_ base: String) -> String {
        nameCounter += 1
        return "\(base)#onnxrun\(nameCounter)"
    }

    /// Adds a constant under a fresh name and returns the name.
    mutating func addConstant(_ tensor: Tensor, basedOn base: String) -> String {
        let name = freshName(base)
        constants[name] = tensor
        types[name] = TensorType(elementType: tensor.elementType, fixedShape: tensor.shape)
        return name
    }

    mutating func compact() {
        nodes = nodes.filter { $0 != nil }
    }

    /// Drops nodes whose outputs nobody reads (and that are no graph output), repeatedly.
    mutating func removeDeadNodes() {
        var changed = true
        while changed {
            changed = false
            var used = graphOutputs
            for node in nodes.compactMap({ $0 }) { used.formUnion(node.node.inputs) }
            for index in nodes.indices {
                guard let node = nodes[index] else { continue }
                if !node.node.outputs.contains(where: { !$0.isEmpty && used.contains($0) }) {
                    nodes[index] = nil
                    changed = true
                }
            }
        }
        compact()
        // Constants only the removed nodes read (weights replaced by folded ones, folded-away subgraphs) go too.
        var used = graphOutputs
        for node in nodes.compactMap({ $0 }) { used.formUnion(node.node.inputs) }
        constants = constants.filter { used.contains($0.key) }
    }

    /// Builds the operator again for a node whose inputs or attributes a pass changed.
    func rebuild(_ typedNode: TypedNode) throws -> any Operator {
        guard let definition = OperatorRegistry.standard.definition(
            domain: typedNode.node.domain, opType: typedNode.node.opType, opset: typedNode.opset)
        else { return typedNode.op }
        return try definition.build(OperatorContext(node: typedNode.node, opset: typedNode.opset))
    }

    /// Folds `conv(x) * scale[c] + shift[c]` (per output channel c; scale nil = 1) into the Conv at `index`:
    /// weights W * scale, bias b * scale + shift. The Conv then produces `output` (the folded node's output).
    /// Returns false, changing nothing, unless the weights and any bias are float constants of matching size.
    mutating func foldChannelAffine(intoConvolutionAt index: Int, scale: [Float]?, shift: [Float],
                                    output: String) throws -> Bool {
        guard let convolution = nodes[index], convolution.node.inputs.count >= 2,
              let weights = constants[convolution.node.inputs[1]], weights.elementType == .float, weights.rank >= 3
        else { return false }
        let channels = weights.shape[0]
        guard shift.count == channels, scale.map({ $0.count == channels }) ?? true else { return false }
        var bias = [Float](repeating: 0, count: channels)
        if convolution.node.inputs.count > 2, !convolution.node.inputs[2].isEmpty {
            guard let given = constants[convolution.node.inputs[2]], given.elementType == .float,
                  given.elementCount == channels else { return false }
            bias = given.floats
        }
        var weightsName = convolution.node.inputs[1]
        if let scale {
            var values = weights.floats
            let perChannel = values.count / max(channels, 1)
            for channel in 0..<channels {
                for offset in channel * perChannel..<(channel + 1) * perChannel { values[offset] *= scale[channel] }
                bias[channel] *= scale[channel]
            }
            weightsName = addConstant(try Tensor(shape: weights.shape, floats: values), basedOn: weightsName)
        }
        for channel in 0..<channels { bias[channel] += shift[channel] }
        var folded = convolution
        folded.node.inputs = [
            convolution.node.inputs[0], weightsName,
            addConstant(try Tensor(shape: [channels], floats: bias), basedOn: convolution.node.name + "_bias"),
        ]
        folded.node.outputs = [output]
        folded.op = try rebuild(folded)
        nodes[index] = folded
        return true
    }
}
