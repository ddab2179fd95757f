// Conv: 1-D and 2-D convolution (dense, grouped, depthwise), with the reference kernel the fast paths are checked against.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Conv.html
// Opset history: 1 (original), 11 (auto_pad and default-pads wording clarified; semantics unchanged), 22 (bfloat16
// added). One builder covers 1...22.
// Arity: X, W, optional B -> Y.
// Attributes: auto_pad, dilations, group, kernel_shape, pads, strides.

struct ConvOperator: Operator {
    let window: WindowAttributes
    let group: Int

    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...3)
        window = try WindowAttributes(context)
        group = try context.int("group", default: 1)
        guard group >= 1, group <= Int(Int32.max) else { throw context.invalid("group \(group) must be in 1...2^31") }
    }

    // MARK: Shape checks shared by inference and run

    /// Validates X/W/B shapes against the attributes and returns the geometry when the spatial size is known.
    private func check(input: [Dimension], weight: [Int], bias: [Dimension]?) throws {
        guard input.count >= 3, weight.count == input.count else {
            throw ONNXRunError(.invalidModel, "X and W must have the same rank (at least 3): X "
                                   + "[\(input.map(\.description).joined(separator: ","))], W \(describeShape(weight))")
        }
        let spatialRank = input.count - 2
        guard spatialRank <= 2 else { throw ONNXRunError(.unsupported, "only 1-D and 2-D convolution is implemented") }
        if let kernelShape = window.kernelShape, kernelShape != Array(weight[2...]) {
            throw ONNXRunError(.invalidModel, "kernel_shape \(kernelShape) does not match W \(describeShape(weight))")
        }
        for attribute in [window.strides, window.dilations] {
            if let attribute, attribute.count != spatialRank {
                throw ONNXRunError(.invalidModel, "strides/dilations \(attribute) do not have \(spatialRank) values")
            }
        }
        if let pads = window.pads, pads.count != 2 * spatialRank {
            throw ONNXRunError(.invalidModel, "pads \(pads) do not have \(2 * spatialRank) values")
        }
        let outputChannels = weight[0]
        guard outputChannels % group == 0 else {
            throw ONNXRunError(.invalidModel, "group \(group) does not divide the \(outputChannels) output channels of W")
        }
        if let channels = input[1].value, channels != weight[1] * group {
            throw ONNXRunError(.invalidModel,
                               "X has \(channels) channels but W \(describeShape(weight)) with group \(group) expects "
                                   + "\(weight[1] * group)")
        }
        if let bias {
            guard bias.count == 1, bias[0].value == nil || bias[0].value == outputChannels else {
                throw ONNXRunError(.invalidModel, "B must have shape [\(outputChannels)]")
            }
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        let w = try requiredInput(inputs, 1, "W").type
        try requireFloat(x, "X")
        try requireFloat(w, "W")
        guard let inputShape = x.shape, let weightShape = w.fixedShape else {
            return [TensorType(elementType: .float, shape: nil)]
        }
        try check(input: inputShape, weight: weightShape, bias: optionalInput(inputs, 2)?.type.shape)
        let spatial = try window.inferredOutputSize(inputSize: Array(inputShape[2...]),
                                                    kernelSize: Array(weightShape[2...]))
        return [TensorType(elementType: .float, shape: [inputShape[0], .fixed(weightShape[0])] + spatial)]
    }

    /// The geometry for concrete X and W shapes (the fast kernels use this too).
    func geometry(inputShape: [Int], weightShape: [Int]) throws -> ConvolutionGeometry {
        try check(input: inputShape.map { .fixed($0) }, weight: weightShape, bias: nil)
        return try window.geometry(inputSize: Array(inputShape[2...]), kernelSize: Array(weightShape[2...]))
    }

    // MARK: Reference kernel

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        let w = try requiredInput(inputs, 1, "W")
        let b = optionalInput(inputs, 2)
        try requireFloat(x, "X")
        try requireFloat(w, "W")
        if let b { try requireFloat(b, "B") }
        let geometry: ConvolutionGeometry
        do {
            try check(input: x.shape.map { .fixed($0) }, weight: w.shape, bias: b.map { $0.shape.map { .fixed($0) } })
            geometry = try window.geometry(inputSize: Array(x.shape[2...]), kernelSize: Array(w.shape[2...]))
        } catch let error as ONNXRunError {
            throw error.adding(shapes: [x, w, b].map { $0?.description ?? "absent" })
        }
        // 1-D is 2-D with a height of 1.
        let is1D = geometry.spatialRank == 1
        let inputHeight = is1D ? 1 : geometry.inputSize[0], inputWidth = geometry.inputSize[is1D ? 0 : 1]
        let outputHeight = is1D ? 1 : geometry.outputSize[0], outputWidth = geometry.outputSize[is1D ? 0 : 1]
        let kernelHeight = is1D ? 1 : geometry.kernelSize[0], kernelWidth = geometry.kernelSize[is1D ? 0 : 1]
        let strideY = is1D ? 1 : geometry.strides[0], strideX = geometry.strides[is1D ? 0 : 1]
        let dilationY = is1D ? 1 : geometry.dilations[0], dilationX = geometry.dilations[is1D ? 0 : 1]
        let padTop = is1D ? 0 : geometry.padsBegin[0], padLeft = geometry.padsBegin[is1D ? 0 : 1]
        // Per kernel column, the output columns whose tap lands inside the input: the inner loop has no checks.
        let columnRanges = (0..<kernelWidth).map { geometry.validOutputRange(axis: is1D ? 0 : 1, tap: $0) }

        let batch = x.shape[0]
        let outputChannels = w.shape[0]
        let channelsPerGroup = w.shape[1]
        let outputsPerGroup = outputChannels / group
        let outputShape = [batch, outputChannels] + geometry.outputSize
        _ = try checkedCount(outputShape, [x, w])
        let result = Tensor(zeros: .float, shape: outputShape)
        let output = result.freshBytes.assumingMemoryBound(to: Float.self)
        let bias = b?.floats
        let input = UnsafePointer(x.storage.bytes.assumingMemoryBound(to: Float.self))
        let weights = UnsafePointer(w.storage.bytes.assumingMemoryBound(to: Float.self))
        // Each output pixel is bias + sum over (channel, kernel row, kernel column) in that order; the loops are
        // arranged so the innermost one runs along an output row.
        for n in 0..<batch {
            for m in 0..<outputChannels {
                let firstChannel = (m / outputsPerGroup) * channelsPerGroup
                let outputPlane = output + (n * outputChannels + m) * outputHeight * outputWidth
                outputPlane.update(repeating: bias?[m] ?? 0, count: outputHeight * outputWidth)
                for c in 0..<channelsPerGroup {
                    let inputPlane = input + ((n * channelsPerGroup * group) + firstChannel + c) * inputHeight * inputWidth
                    let kernel = weights + (m * channelsPerGroup + c) * kernelHeight * kernelWidth
                    for oy in 0..<outputHeight {
                        let outputRow = outputPlane + oy * outputWidth
                        for ky in 0..<kernelHeight {
                            let iy = oy * strideY - padTop + ky * dilationY
                            guard iy >= 0, iy < inputHeight else { continue }
                            let inputRow = inputPlane + iy * inputWidth
                            for kx in 0..<kernelWidth {
                                let weight = kernel[ky * kernelWidth + kx]
                                let shift = kx * dilationX - padLeft
                                for ox in columnRanges[kx] {
                                    outputRow[ox] += weight * inputRow[ox * strideX + shift]
                                }
                            }
                        }
                    }
                }
            }
        }
        return [result]
    }
}

// MARK: - Optimizer hooks

extension ConvOperator: CostReporting, ChannelAffineAbsorbing, PadAbsorbing, ConstantInputPacking {
    /// Each output element sums over (input channels / group) x kernel taps = W.shape[1...].
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let output = outputs.first?.fixedShape, let count = checkedElementCount(output),
              inputs.count > 1, let weight = inputs[1]?.fixedShape, weight.count >= 3 else { return nil }
        return count * weight.dropFirst().reduce(1, *)
    }

    func absorbing(scale: [Float]?, shift: [Float], inputs: [InferenceValue?]) throws -> (weights: Tensor, bias: Tensor)? {
        guard inputs.count >= 2, let weights = inputs[1]?.constant, weights.elementType == .float, weights.rank >= 3
        else { return nil }
        let channels = weights.shape[0]
        guard shift.count == channels, scale.map({ $0.count == channels }) ?? true else { return nil }
        var bias = [Float](repeating: 0, count: channels)
        if let given = optionalInput(inputs, 2) {
            guard let constant = given.constant, constant.elementType == .float, constant.elementCount == channels
            else { return nil }
            bias = constant.floats
        }
        var scaledWeights = weights
        if let scale {
            var values = weights.floats
            let perChannel = values.count / max(channels, 1)
            for channel in 0..<channels {
                for offset in channel * perChannel..<(channel + 1) * perChannel { values[offset] *= scale[channel] }
                bias[channel] *= scale[channel]
            }
            scaledWeights = try Tensor(shape: weights.shape, floats: values)
        }
        for channel in 0..<channels { bias[channel] += shift[channel] }
        return (scaledWeights, try Tensor(shape: [channels], floats: bias))
    }

    /// Padding with zeros then convolving equals convolving with larger pads (explicit pads only).
    func absorbingPads(_ pads: [Int], into node: Node) -> Node? {
        let rank = pads.count / 2
        guard window.autoPad == .notSet, rank >= 3, pads.count == 2 * rank, pads.allSatisfy({ $0 >= 0 }),
              pads[0] == 0, pads[1] == 0, pads[rank] == 0, pads[rank + 1] == 0 else { return nil }
        let spatial = rank - 2
        var combined = window.pads ?? [Int](repeating: 0, count: 2 * spatial)
        guard combined.count == 2 * spatial else { return nil }
        for axis in 0..<spatial {
            combined[axis] += pads[2 + axis]
            combined[spatial + axis] += pads[rank + 2 + axis]
        }
        var padded = node
        padded.attributes["pads"] = .ints(combined)
        return padded
    }

    /// A 2-D float Conv with constant weights (and bias) runs as the channels-last FusedConvolution.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard inputs.count >= 2, let input = inputs[0]?.type, input.elementType == .float, input.shape?.count == 4,
              let weights = inputs[1]?.constant, weights.elementType == .float, weights.rank == 4 else { return nil }
        var bias: Tensor?
        if let given = optionalInput(inputs, 2) {
            guard let constant = given.constant else { return nil }
            bias = constant
        }
        return PackedOperator(op: try FusedConvolution(window: window, group: group, weights: weights, bias: bias),
                              opType: "FusedConv", remainingInputs: [0])
    }
}
