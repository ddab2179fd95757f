// The operator interface: built once per node from its attributes and opset, then asked for output types and run.

/// What inference knows about one input: its type, and its value when it is a constant.
public struct InferenceValue: Sendable {
    public var type: TensorType
    /// Set for initializers and folded constants; lets Reshape, Slice, Pad... infer exact shapes.
    public var constant: Tensor?

    public init(type: TensorType, constant: Tensor? = nil) {
        self.type = type
        self.constant = constant
    }

    public init(constant: Tensor) {
        self.type = TensorType(elementType: constant.elementType, fixedShape: constant.shape)
        self.constant = constant
    }
}

/// One node's operator, configured from its attributes (read and validated once, at load).
///
/// Errors thrown here need not name the node: the caller adds file, node, op and opset.
public protocol Operator: Sendable {
    /// Output types from input types. `inputs[i]` is nil for an absent optional input.
    /// Symbolic dimensions pass through where the operator preserves them; otherwise `.unknown`.
    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType]

    /// The reference kernel: plain, obviously correct code, the oracle for optimized kernels.
    /// `inputs[i]` is nil for an absent optional input. Returns one tensor per declared output.
    func run(_ inputs: [Tensor?]) throws -> [Tensor]
}

/// How a node's operator is built: the node, and the opset version of its domain in this model.
public struct OperatorContext: Sendable {
    public let node: Node
    public let opset: Int

    public init(node: Node, opset: Int) {
        self.node = node
        self.opset = opset
    }

    // MARK: Attributes

    public func hasAttribute(_ name: String) -> Bool { node.attributes[name] != nil }

    public func int(_ name: String) throws -> Int? {
        switch node.attributes[name] {
        case nil: return nil
        case .int(let value): return value
        case let other?: throw wrongKind(name, expected: "int", found: other)
        }
    }

    public func int(_ name: String, default defaultValue: Int) throws -> Int {
        try int(name) ?? defaultValue
    }

    public func float(_ name: String) throws -> Float? {
        switch node.attributes[name] {
        case nil: return nil
        case .float(let value): return value
        // Some exporters write integral floats as ints.
        case .int(let value): return Float(value)
        case let other?: throw wrongKind(name, expected: "float", found: other)
        }
    }

    public func float(_ name: String, default defaultValue: Float) throws -> Float {
        try float(name) ?? defaultValue
    }

    public func ints(_ name: String) throws -> [Int]? {
        switch node.attributes[name] {
        case nil: return nil
        case .ints(let values): return values
        case .int(let value): return [value]
        case let other?: throw wrongKind(name, expected: "ints", found: other)
        }
    }

    public func floats(_ name: String) throws -> [Float]? {
        switch node.attributes[name] {
        case nil: return nil
        case .floats(let values): return values
        case .float(let value): return [value]
        case let other?: throw wrongKind(name, expected: "floats", found: other)
        }
    }

    public func string(_ name: String) throws -> String? {
        switch node.attributes[name] {
        case nil: return nil
        case .string(let value): return value
        case let other?: throw wrongKind(name, expected: "string", found: other)
        }
    }

    public func string(_ name: String, default defaultValue: String) throws -> String {
        try string(name) ?? defaultValue
    }

    public func tensor(_ name: String) throws -> Tensor? {
        switch node.attributes[name] {
        case nil: return nil
        case .tensor(let value): return value
        case let other?: throw wrongKind(name, expected: "tensor", found: other)
        }
    }

    /// An error about this node's attribute or configuration, with the node's context filled in.
    public func invalid(_ message: String) -> ONNXRunError {
        ONNXRunError(.invalidModel, message, node: node.name, opType: node.opType, opset: opset)
    }

    public func unsupported(_ message: String) -> ONNXRunError {
        ONNXRunError(.unsupported, message, node: node.name, opType: node.opType, opset: opset)
    }

    /// Checks the number of inputs (counting trailing absent ones as given) and outputs.
    public func expectInputs(_ range: ClosedRange<Int>, outputs outputRange: ClosedRange<Int> = 1...1) throws {
        guard range.contains(node.inputs.count) else {
            throw invalid("expects \(describe(range)) inputs, has \(node.inputs.count)")
        }
        guard outputRange.contains(node.outputs.count) else {
            throw invalid("expects \(describe(outputRange)) outputs, has \(node.outputs.count)")
        }
    }

    private func describe(_ range: ClosedRange<Int>) -> String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
    }

    private func wrongKind(_ name: String, expected: String, found: AttributeValue) -> ONNXRunError {
        invalid("attribute '\(name)' should be \(expected), is \(found)")
    }
}

/// How to build one operator type: its domain, name, the opset versions the builder understands, and the builder.
public struct OperatorDefinition: Sendable {
    public let domain: String
    public let opType: String
    /// Opset versions of `domain` this builder implements (the builder switches on `OperatorContext.opset`).
    public let opsets: ClosedRange<Int>
    public let build: @Sendable (OperatorContext) throws -> any Operator

    public init(domain: String = "", opType: String, opsets: ClosedRange<Int>,
                build: @escaping @Sendable (OperatorContext) throws -> any Operator) {
        self.domain = domain
        self.opType = opType
        self.opsets = opsets
        self.build = build
    }
}

/// (domain, op type, opset) -> operator builder.
public struct OperatorRegistry: Sendable {
    private struct Key: Hashable {
        let domain: String
        let opType: String
    }

    private var definitions: [Key: [OperatorDefinition]] = [:]

    public init(_ definitions: [OperatorDefinition] = []) {
        for definition in definitions { register(definition) }
    }

    /// Adds a builder; a later registration for overlapping opsets wins.
    public mutating func register(_ definition: OperatorDefinition) {
        definitions[Key(domain: normalizedDomain(definition.domain), opType: definition.opType), default: []]
            .insert(definition, at: 0)
    }

    public func definition(domain: String, opType: String, opset: Int) -> OperatorDefinition? {
        definitions[Key(domain: normalizedDomain(domain), opType: opType)]?.first { $0.opsets.contains(opset) }
    }

    /// Every registered definition, sorted by domain and op type.
    public var all: [OperatorDefinition] {
        definitions.values.flatMap { $0 }.sorted { ($0.domain, $0.opType) < ($1.domain, $1.opType) }
    }

    /// The operators of standard ONNX, and the com.microsoft ones of quantized models, that onnxrun implements.
    public static let standard = OperatorRegistry(StandardOperators.all + MicrosoftOperators.all)
}

/// "ai.onnx" and "" both name the default domain.
func normalizedDomain(_ domain: String) -> String {
    domain == "ai.onnx" ? "" : domain
}
