// The model IR the rest of onnxrun sees: Model, Graph, Node, ValueInfo. Plain Swift, no protobuf types.

/// A named value's declared type (graph inputs, outputs and value_info).
public struct ValueInfo: Sendable {
    public var name: String
    /// nil for non-tensor types (sequences, maps), which onnxrun does not support.
    public var type: TensorType?

    public init(name: String, type: TensorType?) {
        self.name = name
        self.type = type
    }
}

/// One operator application.
public struct Node: Sendable {
    /// The node's name from the file, or one made up (`<op>_<index>`) when the file has none.
    public var name: String
    public var opType: String
    /// "" is the default ONNX domain ("ai.onnx" is normalized to "").
    public var domain: String
    /// Value names; "" marks an absent optional input.
    public var inputs: [String]
    /// Value names; "" marks an unused optional output.
    public var outputs: [String]
    public var attributes: [String: AttributeValue]

    public init(name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [String: AttributeValue] = [:]) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }
}

/// A computation graph: nodes in topological order, constants, and the declared interface.
public struct Graph: Sendable {
    public var name: String
    /// Inputs the caller feeds (initializers that old files also list as inputs are removed from here).
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    /// Constant tensors by value name.
    public var initializers: [String: Tensor]
    /// Types the file declares for intermediate values.
    public var valueInfo: [ValueInfo]
    /// Topologically sorted.
    public var nodes: [Node]

    public init(name: String, inputs: [ValueInfo], outputs: [ValueInfo], initializers: [String: Tensor],
                valueInfo: [ValueInfo], nodes: [Node]) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.initializers = initializers
        self.valueInfo = valueInfo
        self.nodes = nodes
    }
}

/// A whole model file.
public struct Model: Sendable {
    public var irVersion: Int
    /// Opset version per domain; the default domain is "".
    public var opsetImports: [String: Int]
    public var producerName: String
    public var producerVersion: String
    public var domain: String
    public var modelVersion: Int
    public var docString: String
    public var metadata: [String: String]
    public var graph: Graph
    /// Where the model came from (a path, or "<memory>"), for error messages.
    public var source: String

    public init(irVersion: Int, opsetImports: [String: Int], producerName: String = "", producerVersion: String = "",
                domain: String = "", modelVersion: Int = 0, docString: String = "", metadata: [String: String] = [:],
                graph: Graph, source: String = "<memory>") {
        self.irVersion = irVersion
        self.opsetImports = opsetImports
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.domain = domain
        self.modelVersion = modelVersion
        self.docString = docString
        self.metadata = metadata
        self.graph = graph
        self.source = source
    }

    /// The opset version in force for `domain` ("" or "ai.onnx" for the default domain).
    public func opset(for domain: String) -> Int? {
        opsetImports[domain == "ai.onnx" ? "" : domain]
    }
}
