// What `inspect` shows per node of the original graph: output types as inferred at load, and MACs.

/// What inspect shows per node of the original graph.
public struct NodeAnalysis: Sendable {
    public var name: String
    public var opType: String
    public var outputTypes: [TensorType]
    /// Multiply-accumulates for one run, when the operator is a MAC-bound one and the shapes are known.
    public var macs: Int?
}
