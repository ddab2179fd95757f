// Pass: a pointwise expansion FusedConv whose only reader is a depthwise FusedConv becomes one banded operator.

extension GraphRewriter {
    /// Runs after `fuseConvolutions()` (it pairs FusedConvolutions) and before `assignChannelsLastLayout()` (the
    /// pair's operator is channels-last like them). Legal when the expanded value has a single use, is no graph
    /// output and is the depthwise conv's first input; neither conv adds a residual (see
    /// `FusedExpandDepthwiseConvolution.init`). The expansion's clamp stays inside (applied per band).
    mutating func fuseExpandDepthwiseConvolutions() {
        for index in nodes.indices {
            guard let expandNode = nodes[index], let expand = expandNode.op as? FusedConvolution,
                  expand.pointwiseWeights != nil, expandNode.node.outputs.count == 1
            else { continue }
            let expanded = expandNode.node.outputs[0]
            guard hasSingleUse(expanded), let depthwiseIndex = consumers(of: expanded).first,
                  let depthwiseNode = nodes[depthwiseIndex], let depthwise = depthwiseNode.op as? FusedConvolution,
                  depthwiseNode.node.inputs == [expanded],
                  let fused = FusedExpandDepthwiseConvolution(expand: expand, depthwise: depthwise)
            else { continue }
            var node = expandNode.node
            node.opType = "FusedExpandDepthwiseConv"
            node.domain = "ai.onnxrun"
            node.outputs = depthwiseNode.node.outputs
            node.name += "+" + depthwiseNode.node.name
            // The fused node takes the depthwise conv's place: its input is available there too.
            nodes[index] = nil
            nodes[depthwiseIndex] = TypedNode(node: node, op: fused, opset: expandNode.opset)
        }
        compact()
    }
}
