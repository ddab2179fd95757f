// The mutable graph the rewrites work on: nodes in order, constants, load-time types, and a producer/consumer index.

struct GraphRewriter {
    /// nil marks a node a rewrite removed; `compact()` drops them.
    private(set) var nodes: [TypedNode?]
    var constants: [String: Tensor]
    /// Load-time types (symbolic dims kept), updated as rewrites add values.
    var types: [String: TensorType]
    let graphOutputs: Set<String>
    let source: String
    /// Builds operators again for nodes whose attributes a rewrite changed: the session's registry, so a custom
    /// registry stays in force after optimization.
    let registry: OperatorRegistry
    private var nameCounter = 0
    /// Index of the live node producing each value.
    private var producers: [String: Int] = [:]
    /// Indices of the live nodes reading each value, once per input position that reads it.
    private var readers: [String: [Int]] = [:]

    init(_ graph: TypedGraph, registry: OperatorRegistry) {
        nodes = graph.nodes
        constants = graph.constants
        types = graph.types
        graphOutputs = Set(graph.outputs.map(\.name))
        source = graph.source
        self.registry = registry
        reindex()
    }

    // MARK: Queries

    /// Indices of the live nodes that read `value` (a node reading it twice appears twice).
    func consumers(of value: String) -> [Int] { readers[value] ?? [] }

    /// The index of the live node producing `value`; nil for graph inputs and constants.
    func producer(of value: String) -> Int? { producers[value] }

    /// Whether `value` feeds exactly one node input and is not a graph output — the condition for fusing its
    /// producer with its consumer without anyone else seeing the intermediate.
    func hasSingleUse(_ value: String) -> Bool {
        !graphOutputs.contains(value) && consumers(of: value).count == 1
    }

    /// The node reading `value` and its index, when `value` has a single use (`hasSingleUse`).
    func soleConsumer(of value: String) -> (index: Int, node: TypedNode)? {
        guard hasSingleUse(value), let index = consumers(of: value).first, let node = nodes[index] else { return nil }
        return (index, node)
    }

    /// Whether `value` is a graph input, a constant, or produced by a node before `index`.
    func isAvailable(_ value: String, before index: Int) -> Bool {
        guard let producerIndex = producer(of: value) else { return true }
        return producerIndex < index
    }

    /// What inference knows about a node's inputs (types and constant values).
    func inferenceInputs(of node: Node) -> [InferenceValue?] {
        node.inputs.map { name in
            guard !name.isEmpty, let type = types[name] else { return nil }
            return InferenceValue(type: type, constant: constants[name])
        }
    }

    // MARK: Edits (each keeps the index current)

    /// Puts `node` at `index` in place of what was there.
    mutating func replace(at index: Int, with node: TypedNode) {
        unindexNode(at: index)
        nodes[index] = node
        indexNode(at: index)
    }

    mutating func remove(at index: Int) {
        unindexNode(at: index)
        nodes[index] = nil
    }

    /// Drops removed nodes (indices change).
    mutating func compact() {
        nodes = nodes.filter { $0 != nil }
        reindex()
    }

    /// Replaces every node at once (a pass that rebuilds the order, like the layout pass).
    mutating func setNodes(_ newNodes: [TypedNode]) {
        nodes = newNodes
        reindex()
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

    /// Builds the operator again for a node whose attributes a rewrite changed.
    func rebuild(_ typedNode: TypedNode) throws -> any Operator {
        guard let definition = registry.definition(domain: typedNode.node.domain, opType: typedNode.node.opType,
                                                   opset: typedNode.opset)
        else { return typedNode.op }
        return try definition.build(OperatorContext(node: typedNode.node, opset: typedNode.opset))
    }

    /// Drops nodes whose outputs nobody reads (and that are no graph output), repeatedly, then the constants only
    /// they read (weights replaced by folded ones, folded-away subgraphs).
    mutating func removeDeadNodes() {
        var changed = true
        while changed {
            changed = false
            for index in nodes.indices {
                guard let node = nodes[index] else { continue }
                let isRead = node.node.outputs.contains { !$0.isEmpty && (graphOutputs.contains($0) || !consumers(of: $0).isEmpty) }
                if !isRead {
                    remove(at: index)
                    changed = true
                }
            }
        }
        compact()
        constants = constants.filter { graphOutputs.contains($0.key) || !consumers(of: $0.key).isEmpty }
    }

    // MARK: Index upkeep

    private mutating func reindex() {
        producers = [:]
        readers = [:]
        for index in nodes.indices { indexNode(at: index) }
    }

    private mutating func indexNode(at index: Int) {
        guard let node = nodes[index]?.node else { return }
        for output in node.outputs where !output.isEmpty { producers[output] = index }
        for input in node.inputs where !input.isEmpty { readers[input, default: []].append(index) }
    }

    private mutating func unindexNode(at index: Int) {
        guard let node = nodes[index]?.node else { return }
        for output in node.outputs where producers[output] == index { producers[output] = nil }
        for input in Set(node.inputs) where !input.isEmpty {
            readers[input]?.removeAll { $0 == index }
            if readers[input]?.isEmpty == true { readers[input] = nil }
        }
    }
}
