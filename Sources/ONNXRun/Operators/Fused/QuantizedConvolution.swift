// The optimizer's int8 convolution: QLinearConv (and the QDQ Conv units lowered to it) on channels-last uint8
// tensors, weights packed once, requantization and a following QLinearAdd fused into the store.

/// `y = requantize(conv(x - x_zero_point, w - w_zero_point) + bias)` on NHWC uint8 tensors, optionally followed by
/// com.microsoft QLinearAdd with a residual (`QuantizedResidualAddition`), with onnxruntime's arithmetic
/// (`QuantizedStore`). Inputs: `[x, residual?]`, both NHWC. Built from a QLinearConv whose parameters are constants;
/// the QLinearConv reference kernel is the oracle (tests compare optimized and unoptimized sessions).
struct QuantizedConvolution: KernelOperator {
    let window: WindowAttributes
    let weights: QuantizedConvolutionWeights
    var store: QuantizedStore

    var hasResidual: Bool { store.residualAddition != nil }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "x").type
        guard input.elementType == .uint8, let shape = input.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "int8 convolution expects a uint8 NHWC input, got \(input)")
        }
        if let channels = shape[3].value, channels != weights.inputChannelsPerGroup * weights.groups {
            throw ONNXRunError(.invalidModel, "input has \(channels) channels, weights expect "
                + "\(weights.inputChannelsPerGroup * weights.groups)")
        }
        let spatial = try window.inferredOutputSize(inputSize: [shape[1], shape[2]],
                                                    kernelSize: [weights.kernelHeight, weights.kernelWidth])
        let output = TensorType(elementType: .uint8,
                                shape: [shape[0], spatial[0], spatial[1], .fixed(weights.outputChannels)])
        if hasResidual, let residual = optionalInput(inputs, 1)?.type, residual.elementType != .uint8
            || (residual.fixedShape != nil && output.fixedShape != nil && residual.fixedShape != output.fixedShape) {
            throw ONNXRunError(.invalidModel, "residual \(residual) does not match the output \(output)")
        }
        return [output]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "x")
        let output = outputs[0]
        let residual = hasResidual ? try requiredInput(inputs, 1, "residual") : nil
        guard input.elementType == .uint8, output.elementType == .uint8, input.rank == 4, output.rank == 4,
              residual.map({ $0.shape == output.shape && $0.elementType == .uint8 }) ?? true
        else {
            throw ONNXRunError(.invalidModel, "int8 convolution shapes do not fit",
                               shapes: [input, output].map(\.description) + (residual.map { [$0.description] } ?? []))
        }
        let geometry = try window.geometry(inputSize: [input.shape[1], input.shape[2]],
                                           kernelSize: [weights.kernelHeight, weights.kernelWidth])
        let shape = ConvolutionShape(
            batch: input.shape[0], inputHeight: input.shape[1], inputWidth: input.shape[2],
            inputChannels: input.shape[3], outputHeight: output.shape[1], outputWidth: output.shape[2],
            outputChannels: output.shape[3], kernelHeight: weights.kernelHeight, kernelWidth: weights.kernelWidth,
            strideHeight: geometry.strides[0], strideWidth: geometry.strides[1],
            dilationHeight: geometry.dilations[0], dilationWidth: geometry.dilations[1],
            padTop: geometry.padsBegin[0], padLeft: geometry.padsBegin[1], groups: weights.groups)
        guard geometry.outputSize == [output.shape[1], output.shape[2]], output.shape[0] == input.shape[0],
              weights.accepts(shape) else {
            throw ONNXRunError(.invalidModel, "int8 convolution output \(output) does not match \(geometry)",
                               shapes: [input.description, output.description])
        }
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: UInt8.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: UInt8.self)
        let residualPointer = residual.map { UnsafePointer($0.storage.bytes.assumingMemoryBound(to: UInt8.self)) }
        let units = weights.workUnits(shape)
        let macs = shape.outputElementCount * weights.inputChannelsPerGroup * weights.kernelHeight * weights.kernelWidth
        // int8 MACs run ~4x faster than float ones: four times the work per task pays for it.
        let tasks = Parallelism.taskCount(work: macs / 4, granularity: weights.isDepthwise ? .depthwise : .dense,
                                          threads: pool.threadCount, units: units)
        let scratchCount = weights.scratchCount(for: shape)
        let (weights, store) = (weights, store)
        pool.parallelFor(tasks) { task in
            let scratch = scratchCount > 0 ? UnsafeMutablePointer<UInt8>.allocate(capacity: scratchCount) : nil
            defer { scratch?.deallocate() }
            weights.run(shape: shape, input: source, output: destination, store: store, residual: residualPointer,
                        units: Parallelism.split(units, task, tasks), scratch: scratch)
        }
    }
}

// MARK: - Optimizer hooks

extension QuantizedConvolution: ChannelsLastOperator, CostReporting, ConsumerFusing {
    /// The input and the residual are NHWC.
    var channelsLastInputs: [Int] { hasResidual ? [0, 1] : [0] }

    var isIntegerArithmetic: Bool { true }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        outputs.first?.fixedShape.flatMap { checkedElementCount($0) }
            .map { $0 * weights.inputChannelsPerGroup * weights.kernelHeight * weights.kernelWidth }
    }

    /// Absorbs a com.microsoft QLinearAdd of its output and a residual of the output's exact type computed before
    /// it runs, with per-tensor constant parameters (what onnxruntime's quantizer writes for a residual block).
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        guard !hasResidual, let add = consumer.op as? QuantizedBinaryOperator, add.operation == .add,
              consumer.node.inputs.count >= 7, [0, 3].contains(consumer.producedInput) else { return nil }
        let otherPosition = consumer.producedInput == 0 ? 3 : 0
        let other = consumer.node.inputs[otherPosition]
        guard other != consumer.node.inputs[consumer.producedInput], consumer.isAvailableBeforeProducer(other),
              let produced = consumer.inputs[consumer.producedInput]?.type,
              consumer.inputs[otherPosition]?.type == produced, produced.elementType == .uint8,
              let scaleA = perTensorFloat(consumer.inputs, 1), let scaleB = perTensorFloat(consumer.inputs, 4),
              let scaleC = perTensorFloat(consumer.inputs, 6),
              let zeroA = perTensorZeroPoint(consumer.inputs, 2), let zeroB = perTensorZeroPoint(consumer.inputs, 5),
              let zeroC = perTensorZeroPoint(consumer.inputs, 7)
        else { return nil }
        var fused = self
        fused.store.residualAddition = QuantizedResidualAddition(
            residualIsFirst: otherPosition == 0, scaleA: scaleA, zeroPointA: zeroA, scaleB: scaleB, zeroPointB: zeroB,
            scaleC: scaleC, zeroPointC: zeroC)
        return FusedOperator(op: fused, opType: "QuantizedConv", extraInputs: [other])
    }
}

extension IntegerConvOperator: ConstantInputPacking {
    /// QLinearConv with uint8 activations, int8/uint8 weights and constant, per-tensor (per-channel weight)
    /// parameters -> `QuantizedConvolution`, reading only x.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard isQuantizedLinear, inputs.count >= 8, inputs[0]?.type.elementType == .uint8,
              inputs[0]?.type.shape?.count == 4, let weights = inputs[3]?.constant, weights.rank == 4,
              [.int8, .uint8].contains(weights.elementType), inputs[7]?.type.elementType == .uint8,
              let inputScale = perTensorFloat(inputs, 1), let inputZero = perTensorZeroPoint(inputs, 2),
              let outputScale = perTensorFloat(inputs, 6), let outputZero = perTensorZeroPoint(inputs, 7),
              let weightScales = inputs[4]?.constant, weightScales.elementType == .float
        else { return nil }
        let outputChannels = weights.shape[0]
        let weightZeroPoints = inputs[5]?.constant
        if inputs[5] != nil && weightZeroPoints == nil { return nil }
        guard weightScales.elementCount == 1 || weightScales.elementCount == outputChannels,
              weightZeroPoints.map({ $0.elementType == weights.elementType
                  && ($0.elementCount == 1 || $0.elementCount == outputChannels) }) ?? true
        else { return nil }
        var bias: [Int32]?
        if inputs.count > 8, let biasInput = inputs[8] {
            guard let constant = biasInput.constant, constant.elementType == .int32,
                  constant.elementCount == outputChannels else { return nil }
            bias = constant.scalars(as: Int32.self)
        }
        // As onnxruntime's QLinearConv: x_scale * w_scale[c] / y_scale in float32.
        let scales = weightScales.floats.map { inputScale * $0 / outputScale }
        let packed = try QuantizedConvolutionWeights(weights: weights, weightZeroPoints: weightZeroPoints, bias: bias,
                                                     scales: scales, inputZeroPoint: inputZero, groups: group)
        let convolution = QuantizedConvolution(window: window, weights: packed,
                                               store: QuantizedStore(zeroPoint: outputZero))
        return PackedOperator(op: convolution, opType: "QuantizedConv", remainingInputs: [0])
    }
}

/// A per-tensor float constant (a scale) at `position`.
func perTensorFloat(_ inputs: [InferenceValue?], _ position: Int) -> Float? {
    guard position < inputs.count, let constant = inputs[position]?.constant, constant.elementType == .float,
          constant.elementCount == 1 else { return nil }
    return constant.floats[0]
}

/// A per-tensor integer constant (a zero point) at `position`; 0 when the optional input is absent.
func perTensorZeroPoint(_ inputs: [InferenceValue?], _ position: Int) -> Int32? {
    guard position < inputs.count, let input = inputs[position] else { return 0 }
    guard let constant = input.constant, constant.elementCount == 1, let value = constant.integers?.first else {
        return nil
    }
    return Int32(value)
}
