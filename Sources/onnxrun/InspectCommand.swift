// `onnxrun inspect`: a model's header, interface, nodes with attributes, parameters, shapes and MACs, as text, JSON or DOT.

import ArgumentParser
import Foundation
import ONNXRun

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a model: header, inputs and outputs, one line per node, op counts and totals.",
        discussion: """
            Shapes and MACs per node come from load-time shape inference when every op is supported; otherwise \
            the graph is still printed and the unsupported ops are listed. With several models, each is described \
            in turn (JSON: an array); a model that fails to load prints an error line and the exit status is 1.
            """
    )

    @Argument(help: "The .onnx model file(s).")
    var models: [String]

    @Flag(help: "Print one JSON object (sorted keys) instead of text.")
    var json = false

    @Flag(help: "Print the graph in Graphviz DOT (render with `dot -Tsvg`); initializers are listed inside their nodes.")
    var dot = false

    @Option(help: PrecisionOption.help)
    var precision: Precision = .fp32

    func validate() throws {
        if json && dot { throw ValidationError("--json and --dot are exclusive") }
        if models.isEmpty { throw ValidationError("missing MODEL") }
    }

    // MARK: - Running

    func run() throws {
        var descriptions: [Any] = []
        var failures = 0
        for (position, path) in models.enumerated() {
            do {
                let description = try Self.describe(path, precision: precision)
                if json {
                    descriptions.append(Self.jsonObject(description))
                } else if dot {
                    print(GraphvizWriter.dot(description), terminator: "")
                } else {
                    if position > 0 { print() }
                    print(Self.text(description), terminator: "")
                }
            } catch let error as ONNXRunError {
                // One bad file must not hide the others; only a lone model's error goes through the usual path.
                guard models.count > 1 else { throw error }
                failures += 1
                CommandLineError.report(error.description)
            }
        }
        if json {
            print(try JSONOutput.string(models.count == 1 ? descriptions[0] : descriptions))
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// Loads the model and, when its ops are supported, builds a session for shapes and MACs.
    static func describe(_ path: String, precision: Precision = .fp32) throws -> ModelDescription {
        let model = try ModelLoader.load(contentsOf: path)
        var analysis: [NodeAnalysis]?
        var note: String?
        var macsNote: String?
        var kernels: String?
        do {
            let session = try InferenceSession(
                model: model,
                options: PrecisionOption.sessionOptions(threads: 1, noOptimize: false, precision: precision))
            analysis = session.nodeAnalysis
            kernels = session.kernelDescription
            // MACs need fixed shapes: with a symbolic batch, count them for a batch of 1 (shapes stay symbolic).
            if let batchOne = Self.withBatchOfOne(model), analysis?.contains(where: { $0.macs == nil }) == true,
               let fixed = try? InferenceSession(model: batchOne, options: SessionOptions(threadCount: 1)).nodeAnalysis,
               fixed.count == analysis?.count, fixed.contains(where: { $0.macs != nil }) {
                analysis = zip(analysis ?? [], fixed).map { symbolic, fixed in
                    var merged = symbolic
                    merged.macs = fixed.name == symbolic.name ? fixed.macs : nil
                    return merged
                }
                macsNote = "for a batch of 1"
            }
        } catch let error as ONNXRunError {
            note = error.description
        }
        var description = ModelDescription(model: model, analysis: analysis, analysisNote: note)
        description.macsNote = macsNote
        description.kernels = kernels
        return description
    }

    /// The model with each input's symbolic or unknown first dimension fixed to 1; nil when there is none.
    static func withBatchOfOne(_ model: Model) -> Model? {
        var copy = model
        var changed = false
        for index in copy.graph.inputs.indices {
            guard var type = copy.graph.inputs[index].type, var shape = type.shape, let first = shape.first,
                  first.value == nil else { continue }
            shape[0] = .fixed(1)
            type.shape = shape
            copy.graph.inputs[index].type = type
            changed = true
        }
        return changed ? copy : nil
    }

    // MARK: - Text

    static func text(_ description: ModelDescription) -> String {
        let model = description.model
        let graph = model.graph
        var lines: [String] = []
        lines.append("Model: \(Formatting.printable(model.source))")
        let opsets = model.opsetImports.sorted { $0.key < $1.key }
            .map { "\($0.key.isEmpty ? "ai.onnx" : Formatting.printable($0.key)) \($0.value)" }
            .joined(separator: ", ")
        lines.append("  IR version \(model.irVersion), opsets: \(opsets.isEmpty ? "none" : opsets)")
        let producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }
            .map(Formatting.printable).joined(separator: " ")
        lines.append("  producer: \(producer.isEmpty ? "unknown" : producer)")
        lines.append("  graph: \(Formatting.printable(graph.name))")
        if !model.metadata.isEmpty {
            lines.append("  metadata: " + model.metadata.keys.sorted().map(Formatting.printable).joined(separator: ", "))
        }

        lines.append("Inputs:")
        for input in graph.inputs {
            lines.append("  \(Formatting.printable(input.name)): \(Formatting.type(input.type))")
        }
        lines.append("Outputs:")
        for output in graph.outputs {
            lines.append("  \(Formatting.printable(output.name)): \(Formatting.type(output.type))")
        }

        lines.append("Nodes (\(graph.nodes.count)):")
        let indexWidth = String(max(graph.nodes.count - 1, 0)).count
        let opWidth = description.nodes.map { qualifiedOpType($0.node).count }.max() ?? 0
        for node in description.nodes {
            lines.append("  " + nodeLine(node, indexWidth: indexWidth, opWidth: opWidth))
        }

        lines.append("Op counts:")
        let countWidth = description.opCounts.map { $0.opType.count }.max() ?? 0
        for (opType, count) in description.opCounts {
            lines.append("  \(Formatting.padded(Formatting.printable(opType), to: countWidth))  \(count)")
        }

        var totals = "Totals: \(graph.nodes.count) node\(graph.nodes.count == 1 ? "" : "s"), \(Formatting.grouped(description.parameterCount)) parameters, "
            + "\(Formatting.grouped(description.weightBytes)) weight bytes (\(Formatting.bytes(description.weightBytes)))"
        if let macs = description.totalMACs {
            totals += ", \(Formatting.grouped(macs)) MACs (\(Formatting.abbreviated(Double(macs)))"
                + (description.macsNote.map { ", \($0)" } ?? "") + ")"
        }
        lines.append(totals)
        if !description.unsupportedOps.isEmpty {
            lines.append("Unsupported ops: " + description.unsupportedOps.map(Formatting.printable).joined(separator: ", "))
        }
        if let kernels = description.kernels { lines.append("Kernels: \(kernels)") }
        if let note = description.analysisNote {
            let oneLine = note.split(whereSeparator: \.isNewline).joined(separator: " ")
            lines.append("No shapes or MACs: \(oneLine)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `  3  Conv  name  x, W, B -> y  kernel_shape=[3,3] strides=[2,2]  params 864  -> float[1,32,112,112]  10.8M MACs`
    static func nodeLine(_ description: NodeDescription, indexWidth: Int, opWidth: Int) -> String {
        let node = description.node
        var fields = [
            Formatting.rightAligned(String(description.index), to: indexWidth),
            Formatting.padded(Formatting.printable(qualifiedOpType(node)), to: opWidth),
            Formatting.printable(node.name),
            (node.inputs.isEmpty ? "" : node.inputs.map(Formatting.printable).joined(separator: ", ") + " ")
                + "-> " + node.outputs.map(Formatting.printable).joined(separator: ", "),
        ]
        var details: [String] = node.attributes.sorted { $0.key < $1.key }
            .map { "\(Formatting.printable($0.key))=\(TensorValues.describe($0.value))" }
        details += description.constantInputs.map { "\($0.label)=\(TensorValues.describeValues($0.tensor, limit: 16))" }
        if !details.isEmpty { fields.append(details.joined(separator: " ")) }
        if description.parameterCount > 0 { fields.append("params \(Formatting.grouped(description.parameterCount))") }
        if description.outputTypes.contains(where: { $0 != nil }) {
            fields.append("=> " + description.outputTypes.map(Formatting.type).joined(separator: ", "))
        }
        if let macs = description.macs, macs > 0 { fields.append("\(Formatting.abbreviated(Double(macs))) MACs") }
        if !description.isSupported { fields.append("(unsupported)") }
        return fields.joined(separator: "  ")
    }

    /// `Conv`, or `com.example.Magic` outside the default domain.
    static func qualifiedOpType(_ node: Node) -> String {
        node.domain.isEmpty ? node.opType : "\(node.domain).\(node.opType)"
    }

    // MARK: - JSON

    static func jsonObject(_ description: ModelDescription) -> [String: Any] {
        let model = description.model
        let graph = model.graph
        func valueInfo(_ info: ValueInfo) -> [String: Any] {
            var object: [String: Any] = ["name": info.name]
            if let type = info.type {
                object["type"] = type.elementType.description
                object["shape"] = JSONOutput.shape(type.shape)
            } else {
                object["type"] = NSNull()
            }
            return object
        }
        let nodes: [[String: Any]] = description.nodes.map { nodeDescription in
            let node = nodeDescription.node
            var object: [String: Any] = [
                "index": nodeDescription.index,
                "name": node.name,
                "op": node.opType,
                "domain": node.domain,
                "inputs": node.inputs,
                "outputs": node.outputs,
                "attributes": Dictionary(node.attributes.map { ($0.key, JSONOutput.attribute($0.value)) },
                                         uniquingKeysWith: { first, _ in first }),
                "parameters": nodeDescription.parameterCount,
                "supported": nodeDescription.isSupported,
            ]
            if !nodeDescription.constantInputs.isEmpty {
                object["constant_inputs"] = Dictionary(
                    nodeDescription.constantInputs.map { ($0.label, JSONOutput.values($0.tensor)) },
                    uniquingKeysWith: { first, _ in first })
            }
            if nodeDescription.outputTypes.contains(where: { $0 != nil }) {
                object["output_shapes"] = nodeDescription.outputTypes.map { JSONOutput.shape($0?.shape) }
                object["output_types"] = nodeDescription.outputTypes.map { $0.map { $0.elementType.description } ?? NSNull() as Any }
            }
            if let macs = nodeDescription.macs { object["macs"] = macs }
            return object
        }
        var object: [String: Any] = [
            "file": model.source,
            "ir_version": model.irVersion,
            "opsets": Dictionary(model.opsetImports.map { ($0.key.isEmpty ? "ai.onnx" : $0.key, $0.value) },
                                 uniquingKeysWith: { first, _ in first }),
            "producer_name": model.producerName,
            "producer_version": model.producerVersion,
            "graph_name": graph.name,
            "metadata": model.metadata,
            "inputs": graph.inputs.map(valueInfo),
            "outputs": graph.outputs.map(valueInfo),
            "nodes": nodes,
            "node_count": graph.nodes.count,
            "op_counts": Dictionary(description.opCounts.map { ($0.opType, $0.count) }, uniquingKeysWith: +),
            "parameters": description.parameterCount,
            "weight_bytes": description.weightBytes,
            "initializer_count": graph.initializers.count,
            "unsupported_ops": description.unsupportedOps,
        ]
        if let macs = description.totalMACs {
            object["macs"] = macs
            if let note = description.macsNote { object["macs_note"] = note }
        }
        if let note = description.analysisNote { object["analysis_error"] = note }
        if let kernels = description.kernels { object["kernels"] = kernels }
        return object
    }
}
