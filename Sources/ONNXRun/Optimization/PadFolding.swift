// Pass: a zero, constant-mode Pad of the spatial axes followed by a Conv becomes the Conv's own padding.

extension GraphRewriter {
    /// Exporters of TF-"SAME" models (EfficientNet-Lite) emit Pad before Conv; onnxruntime keeps it and pays
    /// 30-45 %. Padding with zeros then convolving equals convolving with larger pads, so the Pad goes away
    /// when: mode is constant, the value is 0, pads are constant, non-negative and touch only spatial axes,
    /// the Conv uses explicit pads (auto_pad NOTSET), and nothing else reads the padded tensor.
    mutating func foldPadIntoConvolution() throws {
        for index in nodes.indices {
            guard let pad = nodes[index], pad.node.opType == "Pad", pad.node.domain.isEmpty,
                  let padded = pad.node.outputs.first, hasSingleUse(padded),
                  let consumerIndex = consumers(of: padded).first,
                  let convolution = nodes[consumerIndex], convolution.node.opType == "Conv",
                  convolution.node.domain.isEmpty, convolution.node.inputs.first == padded,
                  let padAmounts = try constantPads(of: pad)
            else { continue }
            let convolutionContext = OperatorContext(node: convolution.node, opset: convolution.opset)
            guard try convolutionContext.string("auto_pad", default: "NOTSET") == "NOTSET" else { continue }
            let rank = padAmounts.count / 2
            guard rank >= 3, padAmounts.allSatisfy({ $0 >= 0 }),
                  padAmounts[0] == 0, padAmounts[1] == 0, padAmounts[rank] == 0, padAmounts[rank + 1] == 0
            else { continue }
            let spatial = rank - 2
            var convolutionPads = try convolutionContext.ints("pads") ?? [Int](repeating: 0, count: 2 * spatial)
            guard convolutionPads.count == 2 * spatial else { continue }
            for axis in 0..<spatial {
                convolutionPads[axis] += padAmounts[2 + axis]
                convolutionPads[spatial + axis] += padAmounts[rank + 2 + axis]
            }
            var fused = convolution
            fused.node.inputs[0] = pad.node.inputs[0]
            fused.node.attributes["pads"] = .ints(convolutionPads)
            fused.op = try rebuild(fused)
            nodes[consumerIndex] = fused
            nodes[index] = nil
        }
        compact()
    }

    /// The pads of a Pad node that pads with zeros in constant mode, in ONNX order; nil if that's not the case.
    private func constantPads(of pad: TypedNode) throws -> [Int]? {
        let context = OperatorContext(node: pad.node, opset: pad.opset)
        guard try context.string("mode", default: "constant") == "constant" else { return nil }
        if pad.opset < 11 {
            guard try context.float("value", default: 0) == 0 else { return nil }
            return try context.ints("pads")
        }
        let inputs = pad.node.inputs
        guard inputs.count >= 2, let pads = constants[inputs[1]]?.integers else { return nil }
        if inputs.count > 2, !inputs[2].isEmpty {
            guard let value = constants[inputs[2]], value.elementType == .float, value.elementCount == 1,
                  value.floats[0] == 0 else { return nil }
        }
        // Opset 18's `axes` input reorders the pads; fold only the common form without it.
        if inputs.count > 3, !inputs[3].isEmpty { return nil }
        return pads
    }
}
