// Node attributes: the values ONNX attaches to a node by name.

/// The value of one node attribute.
public enum AttributeValue: Sendable, CustomStringConvertible {
    case float(Float)
    case int(Int)
    /// Attribute strings are bytes in ONNX; most are ASCII (auto_pad, mode).
    case string(String)
    case tensor(Tensor)
    case floats([Float])
    case ints([Int])
    case strings([String])
    /// Graph-, sparse-tensor- and type-valued attributes are read but not supported; the payload names the kind.
    case unsupported(String)

    public var description: String {
        switch self {
        case .float(let value): "\(value)"
        case .int(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .tensor(let tensor): "tensor \(tensor)"
        case .floats(let values): "[" + values.map { "\($0)" }.joined(separator: ",") + "]"
        case .ints(let values): "[" + values.map { "\($0)" }.joined(separator: ",") + "]"
        case .strings(let values): "[" + values.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        case .unsupported(let kind): "<\(kind)>"
        }
    }
}
