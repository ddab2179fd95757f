// What `inspect` says about a quantized model: its format, its quantization nodes, and every quantized tensor's
// scale and zero point, per tensor or per channel.

import ONNXRun

struct QuantizationSummary {
    /// One quantized value and the parameters a node gives it.
    struct QuantizedTensor {
        var name: String
        /// The integer type, from the zero point or the value itself; nil when neither says.
        var elementType: ElementType?
        /// Constant scales (one per tensor, or one per channel); empty when computed at run time or absent.
        var scales: [Float]
        /// False for the operands of integer products (ConvInteger, MatMulInteger), which take no scale.
        var hasScale: Bool
        var zeroPoints: [Int]
        /// The quantized axis of per-channel parameters.
        var axis: Int?
    }

    /// "QDQ", "QOperator", "dynamic", or a combination.
    var format: String
    /// Quantization and integer nodes by op type, most frequent first.
    var nodeCounts: [(opType: String, count: Int)]
    var tensors: [QuantizedTensor]

    /// Where each op keeps (value, scale, zero point) triples: input positions, `-1` for its output, nil for absent.
    private static let layouts: [String: [(value: Int, scale: Int?, zeroPoint: Int?)]] = {
        let unary: [(Int, Int?, Int?)] = [(0, 1, 2), (-1, 3, 4)]
        return [
            "QuantizeLinear": [(-1, 1, 2)], "DequantizeLinear": [(0, 1, 2)],
            "QLinearConv": [(0, 1, 2), (3, 4, 5), (-1, 6, 7)], "QLinearMatMul": [(0, 1, 2), (3, 4, 5), (-1, 6, 7)],
            "QGemm": [(0, 1, 2), (3, 4, 5), (-1, 7, 8)], "QLinearAdd": [(0, 1, 2), (3, 4, 5), (-1, 6, 7)],
            "QLinearMul": [(0, 1, 2), (3, 4, 5), (-1, 6, 7)], "QLinearGlobalAveragePool": unary,
            "QLinearAveragePool": unary, "QLinearSigmoid": unary, "QLinearLeakyRelu": unary, "QLinearSoftmax": unary,
            "ConvInteger": [(0, nil, 2), (1, nil, 3)], "MatMulInteger": [(0, nil, 2), (1, nil, 3)],
            "DynamicQuantizeLinear": [],
        ]
    }()

    /// nil when the model has no quantization or integer nodes.
    init?(model: Model) {
        let graph = model.graph
        var counts: [String: Int] = [:]
        var tensors: [QuantizedTensor] = []
        var seen = Set<String>()
        for node in graph.nodes {
            let layout: [(value: Int, scale: Int?, zeroPoint: Int?)]
            if node.opType == "QLinearConcat" {
                layout = [(-1, 0, 1)] + stride(from: 2, to: node.inputs.count, by: 3).map { ($0, $0 + 1, $0 + 2) }
            } else if let known = Self.layouts[node.opType] {
                layout = known
            } else {
                continue
            }
            counts[node.opType, default: 0] += 1
            for entry in layout {
                let name = entry.value < 0 ? node.outputs.first ?? "" : Self.input(node, entry.value)
                guard !name.isEmpty, !seen.contains(name) else { continue }
                seen.insert(name)
                let scale = entry.scale.flatMap { graph.initializers[Self.input(node, $0)] }
                let zeroPoint = entry.zeroPoint.flatMap { graph.initializers[Self.input(node, $0)] }
                let scales = scale.map { $0.elementType == .float ? $0.floats : [] } ?? []
                var axis: Int?
                if scales.count > 1 {
                    switch node.opType {
                    case "QuantizeLinear", "DequantizeLinear":
                        if case .int(let value)? = node.attributes["axis"] { axis = value } else { axis = 1 }
                    case "QGemm": axis = 1
                    default: axis = 0
                    }
                }
                tensors.append(QuantizedTensor(
                    name: name, elementType: zeroPoint?.elementType ?? graph.initializers[name]?.elementType,
                    scales: scales, hasScale: entry.scale != nil, zeroPoints: zeroPoint?.integers ?? [], axis: axis))
            }
        }
        guard !counts.isEmpty else { return nil }
        var formats: [String] = []
        if counts.keys.contains(where: { $0.hasPrefix("QLinear") || $0 == "QGemm" }) { formats.append("QOperator") }
        if counts.keys.contains(where: { ["ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"].contains($0) }) {
            formats.append("dynamic")
        }
        if counts["DequantizeLinear", default: 0] > 1 && formats.isEmpty { formats.append("QDQ") }
        format = formats.isEmpty ? "Q/DQ only" : formats.joined(separator: " + ")
        nodeCounts = counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) }
        self.tensors = tensors
    }

    private static func input(_ node: Node, _ index: Int) -> String {
        index < node.inputs.count ? node.inputs[index] : ""
    }

    // MARK: - Output

    /// `Quantization: QDQ; nodes: DequantizeLinear 172, QuantizeLinear 66; 171 tensors: 52 per channel, ...` and one
    /// line per tensor.
    var textLines: [String] {
        let perChannel = tensors.filter { $0.scales.count > 1 }.count
        let dynamic = tensors.filter { $0.scales.isEmpty && $0.hasScale }.count
        let integer = tensors.filter { !$0.hasScale }.count
        var lines = ["Quantization: \(format); nodes: " + nodeCounts.map { "\($0.opType) \($0.count)" }.joined(separator: ", ")
            + "; \(tensors.count) quantized tensors (\(tensors.count - perChannel - dynamic - integer) per tensor, \(perChannel) "
            + "per channel\(dynamic > 0 ? ", \(dynamic) with scales computed at run time" : "")"
            + "\(integer > 0 ? ", \(integer) integer operands scaled by the graph" : ""))"]
        for tensor in tensors {
            var line = "  \(Formatting.printable(tensor.name)): \(tensor.elementType.map { "\($0)" } ?? "?")"
            switch tensor.scales.count {
            case 0: line += tensor.hasScale ? " scale computed at run time" : " (integer operand, no scale)"
            case 1: line += " scale \(tensor.scales[0])"
            default:
                line += " per channel (axis \(tensor.axis ?? 0), \(tensor.scales.count)) scale "
                    + "\(tensor.scales.min() ?? 0)...\(tensor.scales.max() ?? 0)"
            }
            if let low = tensor.zeroPoints.min(), let high = tensor.zeroPoints.max() {
                line += low == high ? " zero point \(low)" : " zero points \(low)...\(high)"
            }
            lines.append(line)
        }
        return lines
    }

    var jsonObject: [String: Any] {
        [
            "format": format,
            "node_counts": Dictionary(nodeCounts.map { ($0.opType, $0.count) }, uniquingKeysWith: +),
            "tensors": tensors.map { tensor -> [String: Any] in
                var object: [String: Any] = ["name": tensor.name, "scale": tensor.scales.map { JSONOutput.number(Double($0)) },
                                             "zero_point": tensor.zeroPoints]
                object["type"] = tensor.elementType.map { "\($0)" }
                if let axis = tensor.axis { object["axis"] = axis }
                return object
            },
        ]
    }
}
