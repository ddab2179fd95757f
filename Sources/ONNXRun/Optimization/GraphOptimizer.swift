// Load stage 3: rewrites the typed graph for speed — folding, packing, fusion, layout — keeping its results unchanged.

struct OptimizedGraph {
    var nodes: [TypedNode]
    var constants: [String: Tensor]
}

/// One declared rewrite. Each is legal on its own (it checks its own conditions); the order of
/// `GraphOptimizer.rewrites` only decides which opportunities a later rewrite sees.
protocol GraphRewrite: Sendable {
    func apply(to graph: inout GraphRewriter) throws
}

enum GraphOptimizer {
    /// The rewrites, in order, and why there.
    static let rewrites: [any GraphRewrite] = [
        // QDQ units into the integer operators onnxruntime runs for them. First: it needs the float operators as the
        // model wrote them, before folding or packing changes their weights.
        LowerQuantizedUnits(),
        // onnxruntime's dynamic quantization chains (DynamicQuantizeLinear -> ConvInteger/MatMulInteger -> Cast -> Mul
        // -> Add) into one float operator on the int8 kernels. Before fusion and layout: the fused operator then
        // absorbs the activation and residual after it and runs NHWC like the float convolutions.
        FuseDynamicQuantization(),
        // x * clip(x + 3, 0, 6) / 6 -> HardSwish. Before folding: the Add of 3 would otherwise look like a bias to fold.
        FuseDecomposedHardSwish(),
        // x * 0.5 * (1 + erf(x / sqrt(2))) -> Gelu. Before folding, for the same reason (the Add of 1).
        FuseDecomposedGelu(),
        // LayerNormalization written out as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div(/Mul/Add) becomes one
        // kernel. First: it matches plain ONNX nodes, and its scale/bias Mul/Add must not be taken for other fusions.
        FuseLayerNormalization(),
        // ShuffleNet's Reshape-Transpose-Reshape channel shuffle becomes one pass with an NHWC variant, so the
        // channels-last chain goes through it. Before layout assignment, which needs the fused node.
        FuseChannelShuffle(),
        // BatchNormalization and per-channel Mul/Add/Sub into the weights of the Conv before them. First: it works
        // on ONNX Conv nodes (constant weights as inputs), before packing hides them.
        FoldChannelAffineIntoConvolution(),
        // Zero Pad into the Conv after it (a Conv attribute): also before packing.
        FoldPadIntoConvolution(),
        // Transposes carried below the elementwise operators they feed, inverse pairs cancelled (tf2onnx's Keras
        // convs, each wrapped in Transposes). After the folds, which look through a Transpose themselves (a Pad is
        // no elementwise operator: its Transposes meet only once it is folded); before packing and fusion, which
        // then find each Conv next to its activation, residual Add and next Conv.
        SinkTransposes(),
        // Operators with constant weights become their fast kernels (Conv -> FusedConv, Gemm/MatMul -> PackedGemm).
        PackConstantInputs(),
        // Attention's K transposed for Q @ K^T: the batched MatMul packs K the other way instead. After packing:
        // the batched MatMul is what absorbs it.
        AbsorbMatrixTransposes(),
        // Fast kernels absorb what reads their output: activations, residual Adds, bias Adds, and the depthwise
        // conv after a pointwise expansion. After packing: the fused operators declare these fusions.
        FuseWithConsumers(),
        // Channels-last chains, with layout transforms only at their edges. After fusion: the fused operators are
        // what runs NHWC.
        AssignChannelsLastLayout(),
    ]

    /// Applied after `rewrites` in `.bf16` precision: last, so the weights are in their final fused form.
    static let bfloat16Rewrites: [any GraphRewrite] = [ConvertToBFloat16()]

    static func optimize(_ graph: TypedGraph, registry: OperatorRegistry, precision: Precision = .fp32) throws
        -> OptimizedGraph {
        var rewriter = GraphRewriter(graph, registry: registry)
        for rewrite in rewrites + (precision == .bf16 ? bfloat16Rewrites : []) {
            try rewrite.apply(to: &rewriter)
        }
        rewriter.removeDeadNodes()
        return OptimizedGraph(nodes: rewriter.nodes.compactMap { $0 }, constants: rewriter.constants)
    }
}
