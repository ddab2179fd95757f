// Load stage 3: rewrites the typed graph for speed — folding, fusion, layout — keeping its results unchanged.

struct OptimizedGraph {
    var nodes: [TypedNode]
    var constants: [String: Tensor]
}

/// The passes, in order. Each is legal on its own; later ones rely on earlier ones only for opportunities.
enum GraphOptimizer {
    static func optimize(_ graph: TypedGraph) throws -> OptimizedGraph {
        var rewriter = GraphRewriter(graph)
        try rewriter.foldBatchNormalizationIntoConvolution()
        try rewriter.foldAffineIntoConvolution()
        try rewriter.foldPadIntoConvolution()
        try rewriter.fuseConvolutions()
        rewriter.fuseExpandDepthwiseConvolutions()
        try rewriter.assignChannelsLastLayout()
        try rewriter.packConstantMatrixProducts()
        rewriter.removeDeadNodes()
        return OptimizedGraph(nodes: rewriter.nodes.compactMap { $0 }, constants: rewriter.constants)
    }
}
