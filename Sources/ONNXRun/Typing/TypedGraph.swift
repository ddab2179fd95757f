// Load stage 2: every node gets its operator and every value a type; nodes whose inputs are all constant are folded.

/// A node with the operator built for it and the opset it was built for.
struct TypedNode: Sendable {
    var node: Node
    var op: any Operator
    var opset: Int

    /// The node's outputs when they are known without running the graph: every input is a constant, or the node
    /// is Shape/Size of a value whose shape is fixed. This is constant folding; it removes the
    /// Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains older exporters emit around Flatten, and
    /// computed-pads subgraphs. nil when the node must run.
    func evaluateBeforeRunning(_ inputs: [InferenceValue?]) throws -> [Tensor]? {
        if inputs.allSatisfy({ $0 == nil || $0?.constant != nil }) {
            return try op.run(inputs.map { $0?.constant })
        }
        if op is ShapeReadingOperator, inputs.count == 1,
           let input = inputs[0], let shape = input.type.fixedShape,
           let count = checkedElementCount(shape), count <= 1 << 24 {
            // Shape and Size read only the shape; a zero-filled stand-in of that shape gives their exact result.
            return try op.run([Tensor(zeros: input.type.elementType, shape: shape)])
        }
        return nil
    }

    /// Adds this node's name, op type and opset to an error thrown while handling it.
    func contextualize(_ error: Error, source: String, shapes: [String]? = nil) -> Error {
        guard let error = error as? ONNXRunError else { return error }
        return error.adding(file: source, node: node.name, opType: node.opType, opset: opset, shapes: shapes)
    }
}

/// The graph after operators are built, types inferred and constants folded: what optimization starts from.
struct TypedGraph: Sendable {
    var source: String
    var inputs: [ValueInfo]
    var outputs: [ValueInfo]
    /// The nodes still to execute, in topological order.
    var nodes: [TypedNode]
    /// Initializers and folded values.
    var constants: [String: Tensor]
    /// Every value's type as inferred at load (symbolic dimensions kept).
    var types: [String: TensorType]
    /// Per original node, its output types (for inspect), in the model's node order.
    var analysis: [NodeAnalysis]

    /// Builds operators for every node of `model` (reporting all unsupported ones at once), infers types, and
    /// folds nodes whose inputs are all constant.
    init(model: Model, registry: OperatorRegistry) throws {
        source = model.source
        inputs = model.graph.inputs
        outputs = model.graph.outputs
        constants = model.graph.initializers
        types = [:]
        nodes = []
        analysis = []

        let built = try Self.buildOperators(model: model, registry: registry)

        for input in inputs {
            guard let type = input.type else {
                throw ONNXRunError(.unsupported, "graph input '\(input.name)' is not a tensor", file: source)
            }
            types[input.name] = type
        }
        for (name, tensor) in constants {
            types[name] = TensorType(elementType: tensor.elementType, fixedShape: tensor.shape)
        }

        var known = KnownValues(types: types, constants: constants)
        for typedNode in built {
            let node = typedNode.node
            let step = try known.propagate(through: typedNode, source: source)
            analysis.append(NodeAnalysis(name: node.name, opType: node.opType, outputTypes: step.outputTypes,
                                         macs: (typedNode.op as? CostReporting)?.multiplyAccumulates(
                                             inputs: step.inputs.map { $0?.type }, outputs: step.outputTypes)))
            if !step.folded { nodes.append(typedNode) }
        }
        types = known.types
        constants = known.constants
    }

    private static func buildOperators(model: Model, registry: OperatorRegistry) throws -> [TypedNode] {
        struct Missing {
            var domain: String
            var opType: String
            var opset: Int?
            var nodes: [String]
        }
        var missing: [String: Missing] = [:]
        var order: [String] = []
        var built: [TypedNode] = []
        for node in model.graph.nodes {
            let opset = model.opset(for: node.domain)
            guard let opset, let definition = registry.definition(domain: node.domain, opType: node.opType,
                                                                  opset: opset) else {
                let key = "\(node.domain)|\(node.opType)|\(opset ?? -1)"
                if missing[key] == nil {
                    order.append(key)
                    missing[key] = Missing(domain: node.domain, opType: node.opType, opset: opset, nodes: [])
                }
                missing[key]?.nodes.append(node.name)
                continue
            }
            do {
                let op = try definition.build(OperatorContext(node: node, opset: opset))
                built.append(TypedNode(node: node, op: op, opset: opset))
            } catch let error as ONNXRunError {
                throw error.adding(file: model.source, node: node.name, opType: node.opType, opset: opset)
            }
        }
        guard missing.isEmpty else {
            let lines = order.compactMap { missing[$0] }.map { entry -> String in
                let domain = entry.domain.isEmpty ? "ai.onnx" : entry.domain
                let opset = entry.opset.map { "opset \($0)" } ?? "no opset import for this domain"
                let shown = entry.nodes.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
                let more = entry.nodes.count > 5 ? " and \(entry.nodes.count - 5) more" : ""
                return "\(entry.opType) (\(domain), \(opset)) used by \(shown)\(more)"
            }
            throw ONNXRunError(.unsupported,
                               "\(lines.count) operator\(lines.count == 1 ? " is" : "s are") not supported: "
                                   + lines.joined(separator: "; "),
                               file: model.source)
        }
        return built
    }
}

/// The types and constant values known so far while walking nodes in order: load-time typing and per-shape
/// planning share it, so both infer and fold the same way.
struct KnownValues {
    var types: [String: TensorType]
    var constants: [String: Tensor]

    /// Infers `typedNode`'s output types from what is known and records them. When the outputs are known without
    /// running (see `evaluateBeforeRunning`), records them as constants and reports the node folded.
    mutating func propagate(through typedNode: TypedNode, source: String) throws
        -> (inputs: [InferenceValue?], outputTypes: [TensorType], folded: Bool)
    {
        let node = typedNode.node
        let inputs: [InferenceValue?] = try node.inputs.map { name in
            if name.isEmpty { return nil }
            guard let type = types[name] else {
                throw ONNXRunError(.invalidModel, "input '\(name)' has no known type", file: source,
                                   node: node.name, opType: node.opType, opset: typedNode.opset)
            }
            return InferenceValue(type: type, constant: constants[name])
        }
        let outputTypes: [TensorType]
        let folded: [Tensor]?
        do {
            outputTypes = try typedNode.op.inferOutputs(inputs)
            folded = try typedNode.evaluateBeforeRunning(inputs)
        } catch {
            throw typedNode.contextualize(error, source: source, shapes: inputs.map { $0?.type.description ?? "absent" })
        }
        guard outputTypes.count >= node.outputs.filter({ !$0.isEmpty }).count else {
            throw ONNXRunError(.invalidModel,
                               "declares \(node.outputs.count) outputs, the operator produces \(outputTypes.count)",
                               file: source, node: node.name, opType: node.opType, opset: typedNode.opset)
        }
        if let folded {
            for (name, tensor) in zip(node.outputs, folded) where !name.isEmpty {
                constants[name] = tensor
                types[name] = TensorType(elementType: tensor.elementType, fixedShape: tensor.shape)
            }
            return (inputs, outputTypes, true)
        }
        for (name, type) in zip(node.outputs, outputTypes) where !name.isEmpty {
            types[name] = type
        }
        return (inputs, outputTypes, false)
    }
}
