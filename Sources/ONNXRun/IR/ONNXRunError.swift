// The one error type of the library: a kind, a message, and the context (file, node, op, opset, shapes) it happened in.

/// Every failure onnxrun reports. Messages name what is wrong; context fields say where.
public struct ONNXRunError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The bytes are not a well-formed ONNX protobuf, or a tensor's bytes don't match its declaration.
        case malformedModel = "malformed model"
        /// Well-formed, but inconsistent: missing producers, cycles, bad attributes, shape errors.
        case invalidModel = "invalid model"
        /// Operators (or attributes, modes, types) onnxrun does not implement.
        case unsupported = "unsupported"
        /// Inputs given to `run` that don't fit the model.
        case invalidInput = "invalid input"
        /// A bad argument to a library call.
        case invalidArgument = "invalid argument"
        /// Reading or writing a file failed.
        case io = "I/O error"
        /// An image could not be decoded or is too large.
        case image = "image error"
    }

    public var kind: Kind
    public var message: String
    /// The model or image file involved.
    public var file: String?
    public var node: String?
    public var opType: String?
    public var opset: Int?
    /// Shapes of the values involved (e.g. a node's inputs), when they help.
    public var shapes: [String]?

    public init(_ kind: Kind, _ message: String, file: String? = nil, node: String? = nil, opType: String? = nil,
                opset: Int? = nil, shapes: [String]? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.node = node
        self.opType = opType
        self.opset = opset
        self.shapes = shapes
    }

    /// The same error with missing context filled in (context already set is kept: it is the more precise).
    public func adding(file: String? = nil, node: String? = nil, opType: String? = nil, opset: Int? = nil,
                       shapes: [String]? = nil) -> ONNXRunError {
        var copy = self
        copy.file = copy.file ?? file
        copy.node = copy.node ?? node
        copy.opType = copy.opType ?? opType
        copy.opset = copy.opset ?? opset
        copy.shapes = copy.shapes ?? shapes
        return copy
    }

    /// `file: node 'name' (Op, opset N): kind: message (inputs: [..], [..])`
    public var description: String {
        var text = ""
        if let file { text += "\(file): " }
        if let node {
            text += "node '\(node)'"
            if let opType { text += " (\(opType)" + (opset.map { ", opset \($0)" } ?? "") + ")" }
            text += ": "
        } else if let opType {
            text += "\(opType)" + (opset.map { " (opset \($0))" } ?? "") + ": "
        }
        text += "\(kind.rawValue): \(message)"
        if let shapes, !shapes.isEmpty { text += " (shapes: \(shapes.joined(separator: ", ")))" }
        return text
    }
}
