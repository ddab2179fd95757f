// Rewrite for `--precision bf16`: the packed GEMMs (pointwise convolutions, Gemm/MatMul) switch to bfloat16 weights.

/// Asks each operator (`BFloat16Convertible`) for its bfloat16 variant; the node keeps its name, inputs and op type.
struct ConvertToBFloat16: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let typedNode = graph.nodes[index], let convertible = typedNode.op as? BFloat16Convertible,
                  let variant = convertible.bfloat16Variant() else { continue }
            graph.replace(at: index, with: TypedNode(node: typedNode.node, op: variant, opset: typedNode.opset))
        }
    }
}
