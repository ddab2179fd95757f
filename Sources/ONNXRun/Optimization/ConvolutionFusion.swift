// Pass: each 2-D Conv with constant weights becomes a FusedConvolution that absorbs its residual Add and Clip/Relu.

extension GraphRewriter {
    /// Legal fusions (as onnxruntime's conv_activation_fusion): the intermediate value has a single use and is no
    /// graph output; clamp bounds are constants; the residual operand has the conv output's exact shape and is
    /// computed before the conv runs; a clamp is absorbed before a residual only if none is pending (the fused
    /// formula is clamp(conv + bias + residual)).
    mutating func fuseConvolutions() throws {
        for index in nodes.indices {
            guard let convolution = nodes[index], convolution.node.opType == "Conv", convolution.node.domain.isEmpty,
                  let inputType = types[convolution.node.inputs[0]], inputType.elementType == .float,
                  inputType.shape?.count == 4,
                  convolution.node.inputs.count >= 2, let weights = constants[convolution.node.inputs[1]],
                  weights.rank == 4
            else { continue }
            let context = OperatorContext(node: convolution.node, opset: convolution.opset)
            let biasName = convolution.node.inputs.count > 2 ? convolution.node.inputs[2] : ""
            let bias = biasName.isEmpty ? nil : constants[biasName]
            if !biasName.isEmpty && bias == nil { continue }
            var fused = try FusedConvolution(window: WindowAttributes(context), group: context.int("group", default: 1),
                                             weights: weights, bias: bias)
            var output = convolution.node.outputs[0]
            var residual: String?
            var absorbedNames: [String] = []

            // Conv -> Add(conv, other) with no clamp yet.
            if hasSingleUse(output), let addIndex = consumers(of: output).first, let add = nodes[addIndex],
               add.node.opType == "Add", add.node.domain.isEmpty, add.node.inputs.count == 2 {
                let other = add.node.inputs[0] == output ? add.node.inputs[1] : add.node.inputs[0]
                if other != output, let otherType = types[other], let outputType = types[output],
                   otherType == outputType, otherType.fixedShape != nil || otherType.shape != nil,
                   isAvailable(other, before: index) {
                    residual = other
                    fused.hasResidual = true
                    output = add.node.outputs[0]
                    absorbedNames.append(add.node.name)
                    nodes[addIndex] = nil
                }
            }
            // ... -> Clip/Relu with constant bounds.
            if hasSingleUse(output), let clampIndex = consumers(of: output).first, let clamp = nodes[clampIndex],
               let clamping = clamp.op as? ClampingOperator, clamp.node.inputs.first == output,
               let bounds = clamping.clampBounds(inferenceInputs(of: clamp.node)) {
                fused.bounds = bounds
                output = clamp.node.outputs[0]
                absorbedNames.append(clamp.node.name)
                nodes[clampIndex] = nil
            }

            var node = convolution.node
            node.opType = "FusedConv"
            node.domain = "ai.onnxrun"
            node.inputs = [convolution.node.inputs[0]] + (residual.map { [$0] } ?? [])
            node.outputs = [output]
            if !absorbedNames.isEmpty { node.name += "+" + absorbedNames.joined(separator: "+") }
            nodes[index] = TypedNode(node: node, op: fused, opset: convolution.opset)
        }
        compact()
    }

    /// Whether `value` is a graph input, a constant, or produced by a node before `index`.
    private func isAvailable(_ value: String, before index: Int) -> Bool {
        guard let producerIndex = producer(of: value) else { return true }
        return producerIndex < index
    }
}
