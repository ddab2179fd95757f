// What `inspect` knows about a model: per-node attributes, constant inputs, parameters, shapes and MACs, and totals.

import ONNXRun

/// One node as `inspect` shows it.
struct NodeDescription {
    var index: Int
    var node: Node
    /// The opset version in force for the node's domain, when the model imports it.
    var opset: Int?
    /// Small constant inputs worth showing by value (Clip bounds, Reshape shapes, axes, pads), labelled by role.
    var constantInputs: [(label: String, tensor: Tensor)]
    /// Elements of the node's weight initializers (floating-point and 8-bit tensors; shapes and axes don't count).
    var parameterCount: Int
    /// One entry per output: from the session's inference when available, else from the file's value_info.
    var outputTypes: [TensorType?]
    /// Multiply-accumulates of one run, from the session's analysis.
    var macs: Int?
    /// The registry has no builder for this op at this opset.
    var isSupported: Bool
}

/// The whole model as `inspect` shows it.
struct ModelDescription {
    var model: Model
    var nodes: [NodeDescription]
    /// (op type, count), most frequent first.
    var opCounts: [(opType: String, count: Int)]
    /// Elements of all weight initializers (each counted once, however many nodes use it).
    var parameterCount: Int
    /// Bytes of all initializers.
    var weightBytes: Int
    /// Sum of the nodes' MACs, when the session analysed every node that does arithmetic.
    var totalMACs: Int?
    /// "Op (domain, opset N)" for each op type the registry lacks, in graph order.
    var unsupportedOps: [String]
    /// Why shapes and MACs are missing, when the session could not be built.
    var analysisNote: String?
    /// What the MACs were counted for, when not the declared shapes (a symbolic batch counted as 1).
    var macsNote: String?
    /// The kernels an optimized session runs (ISA, precision), when the session could be built.
    var kernels: String?

    // MARK: - Building

    /// Describes `model`; `analysis` is the session's per-node analysis when the session could be built.
    init(model: Model, analysis: [NodeAnalysis]?, analysisNote: String?) {
        self.model = model
        self.analysisNote = analysisNote
        let graph = model.graph
        let constants = Self.constantValues(of: graph)
        let declaredTypes = Dictionary(
            (graph.valueInfo + graph.outputs).compactMap { info in info.type.map { (info.name, $0) } },
            uniquingKeysWith: { first, _ in first })
        let analysisByName = analysis.map { list in
            Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }

        var nodes: [NodeDescription] = []
        var counts: [String: Int] = [:]
        var unsupported: [String] = []
        for (index, node) in graph.nodes.enumerated() {
            let opset = model.opset(for: node.domain)
            let isSupported = opset.map {
                OperatorRegistry.standard.definition(domain: node.domain, opType: node.opType, opset: $0) != nil
            } ?? false
            let qualifiedOp = node.domain.isEmpty ? node.opType : "\(node.domain).\(node.opType)"
            counts[qualifiedOp, default: 0] += 1
            if !isSupported {
                let entry = "\(qualifiedOp) (opset \(opset.map(String.init) ?? "not imported"))"
                if !unsupported.contains(entry) { unsupported.append(entry) }
            }

            // Prefer the analysis entry at the same index; fall back to the name when the lists differ.
            var nodeAnalysis: NodeAnalysis?
            if let analysis {
                if index < analysis.count, analysis[index].name == node.name {
                    nodeAnalysis = analysis[index]
                } else {
                    nodeAnalysis = analysisByName?[node.name]
                }
            }
            let outputTypes: [TensorType?] = node.outputs.enumerated().map { position, name in
                if let nodeAnalysis, position < nodeAnalysis.outputTypes.count {
                    return nodeAnalysis.outputTypes[position]
                }
                return declaredTypes[name]
            }
            let parameterCount = node.inputs.reduce(0) { sum, input in
                guard let tensor = graph.initializers[input], Self.isWeight(tensor) else { return sum }
                return sum + tensor.elementCount
            }
            nodes.append(NodeDescription(
                index: index, node: node, opset: opset,
                constantInputs: Self.shownConstantInputs(of: node, constants: constants),
                parameterCount: parameterCount, outputTypes: outputTypes, macs: nodeAnalysis?.macs,
                isSupported: isSupported))
        }
        self.nodes = nodes
        opCounts = counts.map { (opType: $0.key, count: $0.value) }
            .sorted { ($1.count, $0.opType) < ($0.count, $1.opType) }
        unsupportedOps = unsupported
        parameterCount = graph.initializers.values.filter(Self.isWeight).reduce(0) { $0 + $1.elementCount }
        weightBytes = graph.initializers.values.reduce(0) { $0 + $1.byteCount }
        // A total is only given when every compute-bound node has a count (symbolic shapes leave some unknown).
        let computeBound: Set<String> = ["Conv", "ConvTranspose", "Gemm", "MatMul"]
        if analysis != nil,
           !nodes.contains(where: { $0.macs == nil && $0.node.domain.isEmpty && computeBound.contains($0.node.opType) }) {
            let known = nodes.compactMap(\.macs)
            totalMACs = known.isEmpty ? nil : known.reduce(0, +)
        }
    }

    // MARK: - Constants

    /// Weights are floating-point or 8-bit (quantized) tensors of rank 1 or more; int32/int64 initializers are
    /// shapes, axes and indices, and 0-d ones are bounds and scales.
    static func isWeight(_ tensor: Tensor) -> Bool {
        guard tensor.rank > 0 else { return false }
        return switch tensor.elementType {
        case .float, .double, .float16, .bfloat16, .int8, .uint8: true
        default: false
        }
    }

    /// Initializers, and outputs of Constant nodes (`value`, `value_float(s)`, `value_int(s)` attributes).
    static func constantValues(of graph: Graph) -> [String: Tensor] {
        var constants = graph.initializers
        for node in graph.nodes where node.opType == "Constant" && node.domain.isEmpty {
            guard let output = node.outputs.first, !output.isEmpty else { continue }
            let tensor: Tensor? = switch node.attributes.first?.value {
            case .tensor(let tensor): tensor
            case .float(let value): Tensor(scalar: value)
            case .int(let value): Tensor(scalar: Int64(value))
            case .floats(let values): try? Tensor(shape: [values.count], scalars: values)
            case .ints(let values): try? Tensor(shape: [values.count], scalars: values.map { Int64($0) })
            default: nil
            }
            if node.attributes.count == 1, let tensor { constants[output] = tensor }
        }
        return constants
    }

    /// The ONNX names of operands that are usually constants, for labelling them (`Clip` min/max, `Reshape` shape).
    static let operandNames: [String: [String]] = [
        "Clip": ["input", "min", "max"],
        "Reshape": ["data", "shape"],
        "Expand": ["input", "shape"],
        "Tile": ["input", "repeats"],
        "Pad": ["data", "pads", "constant_value", "axes"],
        "Slice": ["data", "starts", "ends", "axes", "steps"],
        "Resize": ["X", "roi", "scales", "sizes"],
        "Upsample": ["X", "scales"],
        "Squeeze": ["data", "axes"],
        "Unsqueeze": ["data", "axes"],
        "ReduceMean": ["data", "axes"],
        "ReduceSum": ["data", "axes"],
        "ReduceMax": ["data", "axes"],
        "ReduceMin": ["data", "axes"],
        "ReduceProd": ["data", "axes"],
        "ReduceL2": ["data", "axes"],
        "Split": ["input", "split"],
        "TopK": ["X", "K"],
        "Gather": ["data", "indices"],
        "ConstantOfShape": ["input"],
        "Range": ["start", "limit", "delta"],
        "OneHot": ["indices", "depth", "values"],
    ]

    /// Constant inputs small enough to print: integer tensors up to 16 values and single floats (bounds, fill values).
    /// Weights and biases are left to the parameter count.
    static func shownConstantInputs(of node: Node, constants: [String: Tensor]) -> [(label: String, tensor: Tensor)] {
        var shown: [(label: String, tensor: Tensor)] = []
        let names = operandNames[node.opType] ?? []
        for (position, input) in node.inputs.enumerated() where !input.isEmpty {
            guard let tensor = constants[input] else { continue }
            guard tensor.elementType != .string else { continue }
            let isSmall = isWeight(tensor) ? tensor.elementCount == 1 : tensor.elementCount <= 16
            guard isSmall else { continue }
            let label = position < names.count ? names[position] : "input\(position)"
            shown.append((label, tensor))
        }
        return shown
    }
}
