// Load stage 1b: float16 and bfloat16 models are computed in float32. Before operators are built, the model is
// rewritten so that no half-precision value remains inside it; its Casts to half precision keep their rounding.
//
// - Half-precision initializers and Constant/ConstantOfShape tensors are widened to float32 (exactly).
// - Cast (and CastLike onto a half-precision value) to float16/bfloat16 becomes `RoundToHalfPrecision`: a float32
//   result holding exactly the values the Cast would produce, so a model's deliberate precision loss stays.
// - A half-precision graph input is converted to float32 right after it enters; a half-precision graph output is
//   computed in float32 and rounded to its declared type as it leaves.
// So `convert_float_to_float16` models run on the float32 kernels (and their optimizations), within fp16 rounding of
// an fp16 engine, whether or not the converter kept float32 inputs and outputs.

enum HalfPrecisionWidening {
    /// The domain of the operator this stage writes (onnxrun's own; never in a model file).
    static let domain = onnxrunDomain
    static let roundingOperator = "RoundToHalfPrecision"

    /// `model` with half-precision values computed in float32; the model itself when it has none.
    static func widened(_ model: Model) throws -> Model {
        guard usesHalfPrecision(model) else { return model }
        var graph = model.graph
        var halfValues = Set<String>()
        // A graph output that is an initializer or an input keeps its type: nothing computes it.
        let passedThrough = Set(graph.inputs.map(\.name)).union(graph.outputs.map(\.name).filter { graph.initializers[$0] != nil })
        for (name, tensor) in graph.initializers where tensor.elementType.isHalfPrecision && !passedThrough.contains(name) {
            graph.initializers[name] = try castTensor(tensor, to: .float)
            halfValues.insert(name)
        }
        for input in graph.inputs where input.type?.elementType.isHalfPrecision == true { halfValues.insert(input.name) }
        for index in graph.valueInfo.indices where graph.valueInfo[index].type?.elementType.isHalfPrecision == true {
            halfValues.insert(graph.valueInfo[index].name)
            graph.valueInfo[index].type?.elementType = .float
        }

        var nodes: [Node] = []
        // Half-precision graph inputs enter as float32 copies.
        var renamed: [String: String] = [:]
        for input in graph.inputs where input.type?.elementType.isHalfPrecision == true {
            let widenedName = "\(input.name)::float32"
            renamed[input.name] = widenedName
            nodes.append(Node(name: "\(input.name)::widen", opType: "Cast", inputs: [input.name], outputs: [widenedName],
                              attributes: ["to": .int(Int(ElementType.float.rawValue))]))
        }
        for var node in graph.nodes {
            node.inputs = node.inputs.map { renamed[$0] ?? $0 }
            try rewrite(&node, halfValues: &halfValues)
            nodes.append(node)
        }
        // Half-precision graph outputs are computed in float32 and rounded as they leave.
        for output in graph.outputs {
            guard let type = output.type?.elementType, type.isHalfPrecision, !passedThrough.contains(output.name) else { continue }
            let computedName = "\(output.name)::float32"
            for index in nodes.indices {
                nodes[index].outputs = nodes[index].outputs.map { $0 == output.name ? computedName : $0 }
                nodes[index].inputs = nodes[index].inputs.map { $0 == output.name ? computedName : $0 }
            }
            nodes.append(Node(name: "\(output.name)::narrow", opType: "Cast", inputs: [computedName], outputs: [output.name],
                              attributes: ["to": .int(Int(type.rawValue))]))
        }
        graph.nodes = nodes
        var result = model
        result.graph = graph
        result.opsetImports[domain] = 1
        return result
    }

    /// Retypes one node: half-precision constants widened, Casts to half precision turned into rounding.
    private static func rewrite(_ node: inout Node, halfValues: inout Set<String>) throws {
        guard node.domain.isEmpty else { return }
        for (name, value) in node.attributes {
            if case .tensor(let tensor) = value, tensor.elementType.isHalfPrecision {
                node.attributes[name] = .tensor(try castTensor(tensor, to: .float))
                node.outputs.forEach { halfValues.insert($0) }
            }
        }
        let target: ElementType?
        switch node.opType {
        case "Cast":
            if case .int(let code)? = node.attributes["to"] { target = ElementType(rawValue: Int32(truncatingIfNeeded: code)) }
            else if case .string(let name)? = node.attributes["to"] { target = ["FLOAT16": .float16, "BFLOAT16": .bfloat16][name.uppercased()] }
            else { target = nil }
        case "CastLike" where node.inputs.count == 2 && halfValues.contains(node.inputs[1]):
            target = .float16
        default:
            // Any other node with a half-precision input is taken to produce half-precision values (what CastLike
            // needs to know; it is never wrong for float outputs, which are float32 now anyway).
            if node.inputs.contains(where: halfValues.contains) { node.outputs.forEach { halfValues.insert($0) } }
            return
        }
        guard let target, target.isHalfPrecision else { return }
        node.outputs.forEach { halfValues.insert($0) }
        node = Node(name: node.name, opType: roundingOperator, domain: domain, inputs: [node.inputs[0]], outputs: node.outputs,
                    attributes: ["to": .int(Int(target.rawValue))])
    }

    /// The builder of the operator this stage writes, for a node it wrote.
    static func definition(for node: Node) -> OperatorDefinition? {
        guard node.domain == domain, node.opType == roundingOperator else { return nil }
        return OperatorDefinition(domain: domain, opType: roundingOperator, opsets: 1...1) { try HalfPrecisionRoundingOperator($0) }
    }

    private static func usesHalfPrecision(_ model: Model) -> Bool {
        let graph = model.graph
        if graph.initializers.values.contains(where: { $0.elementType.isHalfPrecision }) { return true }
        if (graph.inputs + graph.outputs + graph.valueInfo).contains(where: { $0.type?.elementType.isHalfPrecision == true }) {
            return true
        }
        return graph.nodes.contains { node in
            node.attributes.values.contains { value in
                switch value {
                case .tensor(let tensor): tensor.elementType.isHalfPrecision
                case .int(let code): node.opType == "Cast" && ElementType(rawValue: Int32(truncatingIfNeeded: code))?.isHalfPrecision == true
                case .string(let name): node.opType == "Cast" && ["FLOAT16", "BFLOAT16"].contains(name.uppercased())
                default: false
                }
            }
        }
    }
}

extension ElementType {
    var isHalfPrecision: Bool { self == .float16 || self == .bfloat16 }
}
