// Rewrite: operators whose weights are constants become their fast kernels, weights packed once, here.

/// Asks each operator (`ConstantInputPacking`) for its packed form: Conv -> FusedConv, Gemm/MatMul -> PackedGemm.
/// The packed operator reads only the remaining inputs; the original weights go with the dead constants.
struct PackConstantInputs: GraphRewrite {
    func apply(to graph: inout GraphRewriter) throws {
        for index in graph.nodes.indices {
            guard let typedNode = graph.nodes[index], let packing = typedNode.op as? ConstantInputPacking,
                  let packed = try packing.packingConstantInputs(graph.inferenceInputs(of: typedNode.node))
            else { continue }
            var node = typedNode.node
            node.opType = packed.opType
            node.domain = onnxrunDomain
            node.inputs = packed.remainingInputs.map { typedNode.node.inputs[$0] }
            graph.replace(at: index, with: TypedNode(node: node, op: packed.op, opset: typedNode.opset))
        }
    }
}

/// The domain of the operators the optimizer creates.
let onnxrunDomain = "ai.onnxrun"
