// The graph in Graphviz DOT for `inspect --dot`: one box per node, edges labelled with shapes, weights folded into nodes.

import ONNXRun

enum GraphvizWriter {
    static func dot(_ description: ModelDescription) -> String {
        let graph = description.model.graph
        var lines: [String] = []
        lines.append("digraph \(quoted(graph.name.isEmpty ? "graph" : graph.name)) {")
        lines.append("  rankdir=TB;")
        lines.append("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", fontname=\"Helvetica\", fontsize=10];")
        lines.append("  edge [fontname=\"Helvetica\", fontsize=8];")

        // Identifiers are generated (input_3, node_12) so only labels need escaping.
        var producers: [String: String] = [:]
        var types: [String: TensorType] = [:]
        for (index, input) in graph.inputs.enumerated() {
            let identifier = "input_\(index)"
            producers[input.name] = identifier
            if let type = input.type { types[input.name] = type }
            lines.append("  \(identifier) [shape=ellipse, fillcolor=\"#dff0d8\", "
                + "label=\(quoted(input.name + "\n" + Formatting.type(input.type)))];")
        }
        for nodeDescription in description.nodes {
            for (position, output) in nodeDescription.node.outputs.enumerated() where !output.isEmpty {
                producers[output] = "node_\(nodeDescription.index)"
                if position < nodeDescription.outputTypes.count, let type = nodeDescription.outputTypes[position] {
                    types[output] = type
                }
            }
        }

        for nodeDescription in description.nodes {
            let node = nodeDescription.node
            let identifier = "node_\(nodeDescription.index)"
            var label = [node.domain.isEmpty ? node.opType : "\(node.domain).\(node.opType)", node.name]
            // Weights shown compactly inside the node instead of as graph inputs.
            let weights = node.inputs.compactMap { input in graph.initializers[input].map { (input, $0) } }
            if weights.count <= 3 {
                label += weights.map { "\($0.1)" }
            } else {
                label.append("\(weights.count) initializers")
            }
            label += nodeDescription.constantInputs.map { "\($0.label)=\(TensorValues.describeValues($0.tensor))" }
            for key in ["kernel_shape", "strides", "group", "axis", "perm", "value"] {
                if let value = node.attributes[key] { label.append("\(key)=\(TensorValues.describe(value, limit: 8))") }
            }
            let style = nodeDescription.isSupported ? "" : ", fillcolor=\"#f8d7da\""
            lines.append("  \(identifier) [label=\(quoted(label.joined(separator: "\n")))\(style)];")
            for input in node.inputs where !input.isEmpty && graph.initializers[input] == nil {
                guard let producer = producers[input] else { continue }
                lines.append("  \(producer) -> \(identifier)\(edgeLabel(types[input]));")
            }
        }

        for (index, output) in graph.outputs.enumerated() {
            let identifier = "output_\(index)"
            lines.append("  \(identifier) [shape=ellipse, fillcolor=\"#fcf8e3\", "
                + "label=\(quoted(output.name + "\n" + Formatting.type(output.type ?? types[output.name])))];")
            if let producer = producers[output.name] {
                lines.append("  \(producer) -> \(identifier);")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func edgeLabel(_ type: TensorType?) -> String {
        guard let type, let shape = type.shape else { return "" }
        return " [label=\(quoted("[" + shape.map(\.description).joined(separator: ",") + "]"))]"
    }

    /// A DOT string literal: quotes and backslashes escaped, line breaks as `\n` (centred lines in labels).
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r", "\t": result += " "
            default:
                // Other control characters are not printable in any label.
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "?"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
