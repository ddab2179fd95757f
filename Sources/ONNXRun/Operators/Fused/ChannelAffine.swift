// The optimizer's per-channel affine with a clamp: a BatchNormalization no convolution absorbed (DenseNet's norm
// after each concat) and the Relu after it, in one pass, NCHW or NHWC.

/// `y[n, c, ...] = clamp(x[n, c, ...] * scale[c] + shift[c])` over a tensor of rank >= 2 (channels on axis 1, or
/// last when `isChannelsLast`, then 4-D).
struct ChannelAffine: ChannelWindowOperator {
    let scale: [Float]
    let shift: [Float]
    var clamp = ClampBounds.none
    var isChannelsLast = false

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        if let shape = x.shape {
            let axis = isChannelsLast ? shape.count - 1 : 1
            guard shape.count >= 2, shape[axis].value.map({ $0 == scale.count }) ?? true else {
                throw ONNXRunError(.invalidModel, "a per-channel affine of \(scale.count) channels does not fit \(x)")
            }
        }
        return [x]
    }

    /// NHWC pixel rows may be read from a window of wider rows (DenseNet's norm reading its concat in place).
    func readsChannelWindow(input position: Int, rank: Int) -> Bool { isChannelsLast && position == 0 }
    func writesChannelWindow(rank: Int) -> Bool { false }

    func execute(_ inputs: [Tensor?], inputWindows: [ChannelWindow?], into outputs: [Tensor],
                 outputWindow: ChannelWindow?, pool: ThreadPool) throws {
        let x = try requiredInput(inputs, 0, "X")
        let channels = scale.count
        let window = inputWindows.first ?? nil
        guard x.elementType == .float, x.rank >= 2, x.shape[isChannelsLast ? x.rank - 1 : 1] == channels,
              outputs[0].shape == x.shape, outputWindow == nil, window == nil || isChannelsLast else {
            throw runtimeError("a per-channel affine of \(channels) channels does not fit", [x])
        }
        let input = UnsafePointer(x.storage.bytes.assumingMemoryBound(to: Float.self)) + (window?.offset ?? 0)
        let output = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        // Rows of `channels` values (NHWC pixels) or planes of one channel (NCHW).
        let (units, unitLength) = isChannelsLast ? (x.elementCount / channels, channels)
                                                 : (x.elementCount / product(x.shape[2...]), product(x.shape[2...]))
        let inputStride = window?.rowStride ?? unitLength
        let tasks = max(1, min(pool.threadCount * 2, units, x.elementCount / 32_768))
        if isChannelsLast {
            pool.parallelFor(tasks) { task in
                let pixels = Parallelism.split(units, task, tasks)
                applyChannelsLast(rows: pixels.count, from: input + pixels.lowerBound * inputStride,
                                  rowStride: inputStride, to: output + pixels.lowerBound * channels)
            }
            return
        }
        let (minimum, maximum) = (clamp.minimum, clamp.maximum)
        scale.withUnsafeBufferPointer { scale in
            shift.withUnsafeBufferPointer { shift in
                pool.parallelFor(tasks) { task in
                    for unit in Parallelism.split(units, task, tasks) {
                        let source = input + unit * inputStride, destination = output + unit * unitLength
                        let (factor, offset) = (scale[unit % channels], shift[unit % channels])
                        for index in 0..<unitLength {
                            destination[index] = Swift.min(Swift.max(source[index] * factor + offset, minimum),
                                                           maximum)
                        }
                    }
                }
            }
        }
    }

    /// The affine of `rows` NHWC pixels of `scale.count` channels each, read `rowStride` values apart (a window of
    /// wider rows, or dense), written densely to `destination`.
    func applyChannelsLast(rows: Int, from source: UnsafePointer<Float>, rowStride: Int,
                           to destination: UnsafeMutablePointer<Float>) {
        let (minimum, maximum) = (clamp.minimum, clamp.maximum)
        scale.withUnsafeBufferPointer { scale in
            shift.withUnsafeBufferPointer { shift in
                let channels = scale.count
                for row in 0..<rows {
                    let input = source + row * rowStride, output = destination + row * channels
                    for channel in 0..<channels {
                        output[channel] = Swift.min(Swift.max(input[channel] * scale[channel] + shift[channel],
                                                              minimum), maximum)
                    }
                }
            }
        }
    }
}

// MARK: - Optimizer hooks

extension ChannelAffine: ConsumerFusing, ChannelsLastAdaptable {
    /// A clamp (Relu) goes into the store; a pointwise convolution reading the result takes the affine as the
    /// prologue of its GEMM (DenseNet's norm + relu before each 1x1 conv: `PreactivatedPointwiseConvolution`).
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        if let projection = consumer.op as? FusedConvolution, consumer.producedInput == 0,
           let fused = PreactivatedPointwiseConvolution(affine: self, projection: projection) {
            return FusedOperator(op: fused, opType: "PreactivatedConv")
        }
        guard clamp.isNone, let activation = consumer.op as? ActivationOperator, consumer.producedInput == 0,
              case .clamp(let bounds)? = activation.activation(consumer.inputs) else { return nil }
        var fused = self
        fused.clamp = bounds
        return FusedOperator(op: fused, opType: "ChannelAffine")
    }

    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard !isChannelsLast, channelsLast.first == true, inputs.first??.type.shape?.count == 4 else { return nil }
        var variant = self
        variant.isChannelsLast = true
        return ChannelsLastVariant(op: variant, opType: "ChannelAffineNHWC", channelsLastInputs: [0],
                                   outputIsChannelsLast: true)
    }
}
