// The optimizer's convolution: channels-last (NHWC) Conv with bias, optional residual Add and activation fused in.

/// `output = activation(conv(input, weights) + bias + residual)` on NHWC tensors.
///
/// Built by the optimizer from a Conv (+ Add) (+ activation: Clip, Relu, Sigmoid, HardSwish, ...) chain. Inputs: `[input, residual?]`, both NHWC; the
/// weights are packed inside, once. Dispatch as XNNPACK does: 1x1 stride 1 -> GEMM over pixels, depthwise ->
/// the depthwise kernel, dense 3x3 stride 1 -> Winograd F(2x2, 3x3), anything else -> the general (im2col + GEMM)
/// kernel. The ONNX Conv operator's
/// reference kernel is the oracle (tests compare optimized and unoptimized sessions).
struct FusedConvolution: KernelOperator {
    private enum Kernel: Sendable {
        case pointwise(PackedMatrixWeights)
        case depthwise(DepthwiseConvolutionKernel)
        case general(ConvolutionKernel)
        case winograd(WinogradConvolutionKernel)
    }

    let window: WindowAttributes
    let group: Int
    let outputChannels: Int
    let inputChannelsPerGroup: Int
    let kernelHeight: Int
    let kernelWidth: Int
    /// Applied in the store: `activation(conv + bias + residual)`.
    var activation = Activation.none
    var hasResidual = false
    private var kernel: Kernel

    init(window: WindowAttributes, group: Int, weights: Tensor, bias: Tensor?) throws {
        guard weights.elementType == .float, weights.rank == 4 else {
            throw ONNXRunError(.invalidModel, "fused convolution needs float 4-D weights, got \(weights)")
        }
        outputChannels = weights.shape[0]
        inputChannelsPerGroup = weights.shape[1]
        kernelHeight = weights.shape[2]
        kernelWidth = weights.shape[3]
        guard group >= 1, outputChannels % group == 0 else {
            throw ONNXRunError(.invalidModel, "group \(group) does not divide \(outputChannels) output channels")
        }
        if let bias {
            guard bias.elementType == .float, bias.elementCount == outputChannels else {
                throw ONNXRunError(.invalidModel, "bias \(bias) does not match \(outputChannels) output channels")
            }
        }
        if let kernelShape = window.kernelShape, kernelShape != [kernelHeight, kernelWidth] {
            throw ONNXRunError(.invalidModel, "kernel_shape \(kernelShape) does not match weights \(weights)")
        }
        self.window = window
        self.group = group
        let isPointwise = kernelHeight == 1 && kernelWidth == 1 && group == 1
            && (window.strides ?? [1, 1]) == [1, 1] && (window.pads ?? [0, 0, 0, 0]).allSatisfy { $0 == 0 }
            && window.autoPad != .sameLower && window.autoPad != .sameUpper
        let isDepthwise = inputChannelsPerGroup == 1 && group == outputChannels
        let isWinograd = WinogradConvolutionKernel.applies(
            outputChannels: outputChannels, inputChannelsPerGroup: inputChannelsPerGroup, kernelHeight: kernelHeight,
            kernelWidth: kernelWidth, groups: group, strides: window.strides ?? [1, 1],
            dilations: window.dilations ?? [1, 1])
        let (outputs, perGroup, height, width) = (outputChannels, inputChannelsPerGroup, kernelHeight, kernelWidth)
        kernel = try weights.withUnsafeBufferPointer(as: Float.self) { weights in
            let biasValues = bias?.floats
            return try withOptionalBufferPointer(biasValues) { bias in
                if isPointwise {
                    return .pointwise(try PackedMatrixWeights(weights: weights, layout: .outputMajor,
                                                              reductionCount: perGroup, outputCount: outputs,
                                                              bias: bias))
                }
                if isDepthwise {
                    return .depthwise(try DepthwiseConvolutionKernel(weights: weights, bias: bias, channels: outputs,
                                                                     kernelHeight: height, kernelWidth: width))
                }
                if isWinograd {
                    return .winograd(try WinogradConvolutionKernel(weights: weights, bias: bias,
                                                                   outputChannels: outputs, inputChannels: perGroup))
                }
                return .general(try ConvolutionKernel(weights: weights, bias: bias, outputChannels: outputs,
                                                      inputChannelsPerGroup: perGroup, kernelHeight: height,
                                                      kernelWidth: width, groups: group))
            }
        }
    }

    /// The packed 1x1 weights when this convolution runs as a GEMM over pixels (1x1, stride 1, no pads, group 1).
    var pointwiseWeights: PackedMatrixWeights? {
        if case .pointwise(let weights) = kernel { return weights }
        return nil
    }

    /// The packed weights when this convolution runs on the general (im2col + GEMM) kernel in one group.
    var denseGeneralKernel: ConvolutionKernel? {
        if case .general(let convolution) = kernel, group == 1 { return convolution }
        return nil
    }

    /// The packed depthwise weights when this convolution runs on the depthwise kernel.
    var depthwiseKernel: DepthwiseConvolutionKernel? {
        if case .depthwise(let depthwise) = kernel { return depthwise }
        return nil
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X").type
        guard input.elementType == .float, let shape = input.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "fused convolution expects a float NHWC input, got \(input)")
        }
        if let channels = shape[3].value, channels != inputChannelsPerGroup * group {
            throw ONNXRunError(.invalidModel, "input has \(channels) channels, weights expect "
                + "\(inputChannelsPerGroup * group)")
        }
        let spatial = try window.inferredOutputSize(inputSize: [shape[1], shape[2]],
                                                    kernelSize: [kernelHeight, kernelWidth])
        let output = TensorType(elementType: .float, shape: [shape[0], spatial[0], spatial[1], .fixed(outputChannels)])
        if hasResidual, let residual = optionalInput(inputs, 1)?.type, let a = residual.fixedShape,
           let b = output.fixedShape, a != b {
            throw ONNXRunError(.invalidModel, "residual \(residual) does not match the output \(output)")
        }
        return [output]
    }

    /// The output may go to a channel window of wider pixel rows (a Concat's buffer), except a depthwise one's.
    func execute(_ inputs: [Tensor?], inputWindows: [ChannelWindow?], into outputs: [Tensor],
                 outputWindow: ChannelWindow?, pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let output = outputs[0]
        let residual = hasResidual ? try requiredInput(inputs, 1, "residual") : nil
        guard input.elementType == .float, input.rank == 4, output.rank == 4,
              input.shape[3] == inputChannelsPerGroup * group, output.shape[3] == outputChannels,
              residual.map({ $0.shape == output.shape && $0.elementType == .float }) ?? true,
              inputWindows.allSatisfy({ $0 == nil }), outputWindow == nil || writesChannelWindow(rank: output.rank)
        else {
            throw ONNXRunError(.invalidModel, "fused convolution shapes do not fit",
                               shapes: [input.description, output.description] + (residual.map { [$0.description] } ?? []))
        }
        let geometry = try window.geometry(inputSize: [input.shape[1], input.shape[2]],
                                           kernelSize: [kernelHeight, kernelWidth])
        guard geometry.outputSize == [output.shape[1], output.shape[2]], output.shape[0] == input.shape[0] else {
            throw ONNXRunError(.invalidModel, "fused convolution output \(output) does not match \(geometry)")
        }
        var shape = ConvolutionShape(batch: input.shape[0], inputChannels: input.shape[3],
                                     outputChannels: outputChannels, groups: group, geometry: geometry)
        shape.outputPixelStride = outputWindow?.rowStride ?? 0
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self) + (outputWindow?.offset ?? 0)
        let residualPointer = residual.map { UnsafePointer($0.storage.bytes.assumingMemoryBound(to: Float.self)) }
        let macsPerOutput = inputChannelsPerGroup * kernelHeight * kernelWidth
        switch kernel {
        case .pointwise(let weights):
            weights.run(input: source, inputRowStride: shape.inputChannels, output: destination,
                        outputRowStride: outputWindow?.rowStride ?? outputChannels, residual: residualPointer,
                        residualRowStride: outputChannels,
                        activation: activation, rows: shape.outputPixelCount, pool: pool)
        case .depthwise(let depthwise):
            let rows = shape.outputRowCount
            let tasks = Parallelism.taskCount(work: shape.outputElementCount * macsPerOutput, granularity: .depthwise,
                                              threads: pool.threadCount, units: rows)
            pool.parallelFor(tasks) { task in
                depthwise.run(shape: shape, input: source, output: destination, residual: residualPointer,
                              activation: activation, rows: Parallelism.split(rows, task, tasks))
            }
        case .general(let convolution):
            let pixels = shape.outputPixelCount
            let scratchCount = convolution.scratchCount(for: shape)
            let tasks = Parallelism.taskCount(work: shape.outputElementCount * macsPerOutput, granularity: .dense,
                                              threads: pool.threadCount, units: pixels)
            pool.parallelFor(tasks) { task in
                let scratch = scratchCount > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: scratchCount) : nil
                defer { scratch?.deallocate() }
                convolution.run(shape: shape, input: source, output: destination, residual: residualPointer,
                                activation: activation, pixels: Parallelism.split(pixels, task, tasks),
                                scratch: scratch)
            }
        case .winograd(let winograd):
            let tiles = winograd.tileCount(for: shape)
            let scratchCount = winograd.scratchCount(for: shape)
            let work = shape.outputElementCount * macsPerOutput
            // Every task streams all the transformed weights: one task per thread, each with at least 16 tiles;
            // with fewer tiles (ResNet's 7x7 stage) the threads split the output channels, 16 at a time.
            let tileTasks = Parallelism.taskCount(work: work, granularity: .dense, threads: pool.threadCount,
                                                  units: min(pool.threadCount, tiles / 16))
            let channelTasks = tileTasks > 1 ? 1 : Parallelism.taskCount(
                work: work, granularity: .dense, threads: pool.threadCount,
                units: min(pool.threadCount, (outputChannels + 15) / 16))
            pool.parallelFor(tileTasks * channelTasks) { task in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                defer { scratch.deallocate() }
                let panels = Parallelism.split((outputChannels + 15) / 16, task % channelTasks, channelTasks)
                winograd.run(shape: shape, input: source, output: destination, residual: residualPointer,
                             activation: activation, tiles: Parallelism.split(tiles, task / channelTasks, tileTasks),
                             channels: panels.lowerBound * 16..<min(outputChannels, panels.upperBound * 16),
                             scratch: scratch)
            }
        }
    }
}

// MARK: - Optimizer hooks

extension FusedConvolution: ChannelsLastOperator, CostReporting, ConsumerFusing, BFloat16Convertible,
    ChannelWindowOperator {
    /// The input and the residual are NHWC.
    var channelsLastInputs: [Int] { hasResidual ? [0, 1] : [0] }

    func readsChannelWindow(input position: Int, rank: Int) -> Bool { false }

    /// The GEMM, general and Winograd kernels store pixels at any stride; the depthwise kernel does not.
    func writesChannelWindow(rank: Int) -> Bool {
        if case .depthwise = kernel { return false }
        return true
    }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        outputs.first?.fixedShape.flatMap { checkedElementCount($0) }
            .map { $0 * inputChannelsPerGroup * kernelHeight * kernelWidth }
    }

    /// The pointwise and general (im2col + GEMM) kernels have bfloat16 variants; depthwise convolutions stay
    /// float32, and so do general ones with fewer than `bfloat16GeneralMinimumOutputs` outputs per group.
    func bfloat16Variant() -> (any Operator)? {
        if let pointwise = bfloat16Pointwise { return pointwise }
        guard case .general(let convolution) = kernel, convolution.precision == .fp32,
              convolution.outputChannels / convolution.groups >= Self.bfloat16GeneralMinimumOutputs else { return nil }
        var converted = self
        converted.kernel = .general(ConvolutionKernel(bfloat16: convolution))
        return converted
    }

    /// The bfloat16 general convolution copies each window into a row before rounding it; with few outputs the
    /// copy outweighs the halved products (on Zen 4 MobileNetV2's stem, 3x3x3 -> 32: 0.30 ms against 0.23 in
    /// float32), with many it does not (ResNet-18, 64-512 outputs: 21 ms against 35 for the whole network).
    static let bfloat16GeneralMinimumOutputs = 64

    /// This convolution with bfloat16 pointwise weights; nil unless it runs as a pointwise GEMM in float32.
    var bfloat16Pointwise: FusedConvolution? {
        guard let weights = pointwiseWeights, weights.precision == .fp32 else { return nil }
        var converted = self
        converted.kernel = .pointwise(PackedMatrixWeights(bfloat16: weights))
        return converted
    }

    /// Absorbs, as onnxruntime's conv_activation_fusion does: a residual Add whose other operand has the output's
    /// exact type and is computed before the conv runs (only while no activation is fused: the kernel computes
    /// activation(conv + bias + residual)); an activation with constant parameters (a clamp, sigmoid, hard swish,
    /// swish, ...); for a depthwise conv, the 1x1 projection reading it; and, for a pointwise expansion, the
    /// depthwise conv reading it, with its projection if it has one (`FusedExpandDepthwiseConvolution`).
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        if let arithmetic = consumer.op as? BinaryArithmeticOperator, arithmetic.operation == .add, !hasResidual,
           activation.isNone, let other = consumer.otherInput, other.name != consumer.node.inputs[consumer.producedInput],
           let produced = consumer.inputs[consumer.producedInput]?.type, other.value.type == produced,
           other.value.type.shape != nil, consumer.isAvailableBeforeProducer(other.name) {
            var fused = self
            fused.hasResidual = true
            return FusedOperator(op: fused, opType: "FusedConv", extraInputs: [other.name])
        }
        if let activationOperator = consumer.op as? ActivationOperator, consumer.producedInput == 0,
           activation.isNone, let activation = activationOperator.activation(consumer.inputs) {
            var fused = self
            fused.activation = activation
            return FusedOperator(op: fused, opType: "FusedConv")
        }
        if let depthwise = consumer.op as? FusedConvolution, consumer.producedInput == 0, consumer.node.inputs.count == 1,
           let fused = FusedExpandDepthwiseConvolution(expand: self, depthwise: depthwise) {
            return FusedOperator(op: fused, opType: "FusedExpandDepthwiseConv")
        }
        if let block = FusedExpandDepthwiseConvolution.fusing(expansion: self, into: consumer) { return block }
        return try FusedExpandDepthwiseConvolution(depthwise: self)?.fusing(consumer)
    }
}
