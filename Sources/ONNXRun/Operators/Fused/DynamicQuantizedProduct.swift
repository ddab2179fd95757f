// The optimizer's dynamically quantized convolution and matrix product: onnxruntime's `quantize_dynamic` chain
// (DynamicQuantizeLinear -> ConvInteger / MatMulInteger -> Cast -> Mul by x_scale * w_scale -> Add bias) as one
// float operator on the int8 kernels, computing what the chain computes (`FuseDynamicQuantization` makes it).

import CKernels

/// What the chain does around the integer product, and what a fused activation or residual Add adds: the input is
/// quantized as DynamicQuantizeLinear does (range from a pass over it, then `ork_quantize_linear_u8`), the int32
/// accumulators come back as `clamp(Float(acc) * (x_scale * w_scale[c]) + bias[c] + residual)`, each operation
/// rounded as the separate operators round it (`ork_rescale_int32`), so results match onnxruntime's bit for bit.
struct DynamicRescaling: Sendable {
    /// Per output channel (a per-tensor scale repeated).
    let weightScales: [Float]
    /// Per output channel (zeros when the chain has no Add: adding 0 changes no value but -0).
    let bias: [Float]
    var clamp = ClampBounds.none
    var hasResidual = false

    /// Runs the convolution `weights` computes for `shape` on the float NHWC (or row-major matrix) input into
    /// `output`, adding `residual` (same layout as the output) when fused.
    func run(_ weights: QuantizedConvolutionWeights, shape: ConvolutionShape, input: Tensor, output: Tensor,
             residual: Tensor?, pool: ThreadPool) {
        let count = input.elementCount
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let range = ReducedPrecisionKernels.range(source, count: count)
        let parameters = DynamicQuantizeLinearOperator.parameters(minimum: range.minimum, maximum: range.maximum)
        let zeroPoint = Int32(parameters.zeroPoint)
        let quantized = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
        defer { quantized.deallocate() }
        let quantizeTasks = Parallelism.taskCount(work: count, granularity: .elementwise, threads: pool.threadCount,
                                                  units: max(count / 4096, 1))
        pool.parallelFor(quantizeTasks) { task in
            let part = Parallelism.split(count, task, quantizeTasks)
            ork_quantize_linear_u8(source, parameters.scale, zeroPoint, quantized, part.lowerBound, part.upperBound)
        }

        // x_scale * w_scale in float32, as the model's Mul computes it.
        let scales = weightScales.map { parameters.scale * $0 }
        let depthwiseWeights = weights.depthwiseWeights(inputZeroPoint: zeroPoint)
        let units = weights.workUnits(shape)
        let unitElements = weights.isDepthwise ? shape.outputWidth * shape.outputChannels : shape.outputChannels
        // Accumulators of a few units at a time, so that they are rescaled while in L1/L2.
        let chunk = max(1, 16_384 / max(unitElements, 1))
        let macs = shape.outputElementCount * weights.inputChannelsPerGroup * weights.kernelHeight * weights.kernelWidth
        let tasks = Parallelism.taskCount(work: macs / 4, granularity: weights.isDepthwise ? .depthwise : .dense,
                                          threads: pool.threadCount, units: units)
        let scratchCount = weights.scratchCount(for: shape)
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        let residualSource = residual.map { UnsafePointer($0.storage.bytes.assumingMemoryBound(to: Float.self)) }
        let (channels, clamp) = (shape.outputChannels, clamp)
        scales.withUnsafeBufferPointer { scales in
            bias.withUnsafeBufferPointer { bias in
                pool.parallelFor(tasks) { task in
                    let part = Parallelism.split(units, task, tasks)
                    let accumulators = UnsafeMutablePointer<Int32>.allocate(capacity: chunk * unitElements)
                    let scratch = scratchCount > 0 ? UnsafeMutablePointer<UInt8>.allocate(capacity: scratchCount) : nil
                    defer {
                        accumulators.deallocate()
                        scratch?.deallocate()
                    }
                    var begin = part.lowerBound
                    while begin < part.upperBound {
                        let end = min(begin + chunk, part.upperBound)
                        let offset = begin * unitElements
                        weights.accumulate(shape: shape, input: quantized, inputZeroPoint: zeroPoint,
                                           depthwiseWeights: depthwiseWeights, output: accumulators - offset,
                                           units: begin..<end, scratch: scratch)
                        let arguments = ork_rescale_args(
                            channels: channels, input: accumulators, scale: scales.baseAddress, bias: bias.baseAddress,
                            residual: residualSource.map { $0 + offset }, output: destination + offset,
                            min: clamp.minimum, max: clamp.maximum)
                        ReducedPrecisionKernels.rescale(arguments, rows: (end - begin) * unitElements / channels)
                        begin = end
                    }
                }
            }
        }
    }

    /// This rescaling with the consumer absorbed: a residual Add of a float value of the output's type computed before
    /// the producer, or a clamp (Relu, Clip) after it.
    func fusing(_ consumer: FusionCandidate) -> (rescaling: DynamicRescaling, extraInputs: [String])? {
        var fused = self
        if let arithmetic = consumer.op as? BinaryArithmeticOperator, arithmetic.operation == .add, !hasResidual,
           clamp.isNone, let other = consumer.otherInput, other.name != consumer.node.inputs[consumer.producedInput],
           let produced = consumer.inputs[consumer.producedInput]?.type, other.value.type == produced,
           other.value.type.shape != nil, consumer.isAvailableBeforeProducer(other.name) {
            fused.hasResidual = true
            return (fused, [other.name])
        }
        if let activation = consumer.op as? ActivationOperator, consumer.producedInput == 0, clamp.isNone,
           case .clamp(let bounds)? = activation.activation(consumer.inputs) {
            fused.clamp = bounds
            return (fused, [])
        }
        return nil
    }

    /// The fused residual (input 1), checked against the output; nil when there is none.
    func residual(_ inputs: [Tensor?], output: Tensor) throws -> Tensor? {
        guard hasResidual else { return nil }
        let residual = try requiredInput(inputs, 1, "residual")
        guard residual.shape == output.shape, residual.elementType == .float else {
            throw ONNXRunError(.invalidModel, "residual \(residual) does not match the output \(output)")
        }
        return residual
    }

    /// The residual's type check: same element type and shape as the output when known.
    func checkResidual(_ inputs: [InferenceValue?], output: TensorType) throws {
        guard hasResidual else { return }
        let residual = try requiredInput(inputs, 1, "residual").type
        if residual.elementType != .float
            || (residual.fixedShape != nil && output.fixedShape != nil && residual.fixedShape != output.fixedShape) {
            throw ONNXRunError(.invalidModel, "residual \(residual) does not match the output \(output)")
        }
    }
}

/// The chain's two operators: they read their input differently and absorb their consumers alike.
protocol DynamicallyRescaling: ConsumerFusing {
    var rescaling: DynamicRescaling { get set }
    /// The op type of the fused node (what the profiler shows).
    var opType: String { get }
}

extension DynamicallyRescaling {
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        guard let (rescaling, extraInputs) = rescaling.fusing(consumer) else { return nil }
        var fused = self
        fused.rescaling = rescaling
        return FusedOperator(op: fused, opType: opType, extraInputs: extraInputs)
    }
}

// MARK: - Convolution

/// ConvInteger's chain on NHWC float tensors. Inputs: `[x, residual?]`, both NHWC.
struct DynamicQuantizedConvolution: KernelOperator {
    let window: WindowAttributes
    let weights: QuantizedConvolutionWeights
    var rescaling: DynamicRescaling

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "x").type
        guard input.elementType == .float, let shape = input.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "dynamically quantized convolution expects a float NHWC input, got \(input)")
        }
        if let channels = shape[3].value, channels != weights.inputChannelsPerGroup * weights.groups {
            throw ONNXRunError(.invalidModel, "input has \(channels) channels, weights expect "
                + "\(weights.inputChannelsPerGroup * weights.groups)")
        }
        let spatial = try window.inferredOutputSize(inputSize: [shape[1], shape[2]],
                                                    kernelSize: [weights.kernelHeight, weights.kernelWidth])
        let output = TensorType(elementType: .float,
                                shape: [shape[0], spatial[0], spatial[1], .fixed(weights.outputChannels)])
        try rescaling.checkResidual(inputs, output: output)
        return [output]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "x")
        let output = outputs[0]
        let residual = try rescaling.residual(inputs, output: output)
        guard input.elementType == .float, output.elementType == .float, input.rank == 4, output.rank == 4 else {
            throw ONNXRunError(.invalidModel, "dynamically quantized convolution shapes do not fit",
                               shapes: [input.description, output.description])
        }
        let geometry = try window.geometry(inputSize: [input.shape[1], input.shape[2]],
                                           kernelSize: [weights.kernelHeight, weights.kernelWidth])
        let shape = ConvolutionShape(batch: input.shape[0], inputChannels: input.shape[3],
                                     outputChannels: output.shape[3], groups: weights.groups, geometry: geometry)
        guard geometry.outputSize == [output.shape[1], output.shape[2]], output.shape[0] == input.shape[0],
              weights.accepts(shape) else {
            throw ONNXRunError(.invalidModel, "dynamically quantized convolution output \(output) does not match "
                                   + "\(geometry)", shapes: [input.description, output.description])
        }
        rescaling.run(weights, shape: shape, input: input, output: output, residual: residual, pool: pool)
    }
}

extension DynamicQuantizedConvolution: ChannelsLastOperator, CostReporting, DynamicallyRescaling {
    var opType: String { "DynamicQuantizedConv" }

    var channelsLastInputs: [Int] { rescaling.hasResidual ? [0, 1] : [0] }

    var isIntegerArithmetic: Bool { true }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        outputs.first?.fixedShape.flatMap { checkedElementCount($0) }
            .map { $0 * weights.inputChannelsPerGroup * weights.kernelHeight * weights.kernelWidth }
    }
}

extension IntegerConvOperator: DynamicallyQuantizable {
    /// ConvInteger with constant 2-D weights (int8 or uint8) and weight zero points, per tensor or per output channel.
    func dynamicallyQuantized(_ inputs: [InferenceValue?], weightScale: Tensor, bias: Tensor?) throws -> FusedOperator? {
        guard !isQuantizedLinear, inputs.count >= 3, inputs[0]?.type.elementType == .uint8,
              inputs[0]?.type.shape?.count == 4, let weights = inputs[1]?.constant, weights.rank == 4,
              [.int8, .uint8].contains(weights.elementType) else { return nil }
        let channels = weights.shape[0]
        let weightZeroPoints = inputs.count > 3 ? inputs[3]?.constant : nil
        if inputs.count > 3, inputs[3] != nil, weightZeroPoints == nil { return nil }
        guard weightZeroPoints.map({ $0.elementType == weights.elementType
                  && ($0.elementCount == 1 || $0.elementCount == channels) }) ?? true,
              let scales = perChannelValues(weightScale, channels: channels, axis: 1, rank: 4),
              let biasValues = bias.map({ perChannelValues($0, channels: channels, axis: 1, rank: 4) })
                  ?? [Float](repeating: 0, count: channels)
        else { return nil }
        let packed = try QuantizedConvolutionWeights(weights: weights, weightZeroPoints: weightZeroPoints, bias: nil,
                                                     scales: [1], inputZeroPoint: 0, groups: group)
        let convolution = DynamicQuantizedConvolution(
            window: window, weights: packed, rescaling: DynamicRescaling(weightScales: scales, bias: biasValues))
        return FusedOperator(op: convolution, opType: convolution.opType)
    }
}

// MARK: - Matrix product

/// MatMulInteger's chain: A `[..., M, K]` float times constant B `[K, N]` (packed as a 1x1 convolution over the
/// rows of A).
struct DynamicQuantizedMatMul: KernelOperator {
    let weights: QuantizedConvolutionWeights
    var rescaling: DynamicRescaling

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "A").type
        guard input.elementType == .float, let shape = input.shape, shape.count >= 2 else {
            throw ONNXRunError(.invalidModel, "dynamically quantized MatMul expects a float matrix, got \(input)")
        }
        if let depth = shape[shape.count - 1].value, depth != weights.inputChannelsPerGroup {
            throw ONNXRunError(.invalidModel, "A has \(depth) columns, B has \(weights.inputChannelsPerGroup) rows")
        }
        let output = TensorType(elementType: .float, shape: Array(shape.dropLast()) + [.fixed(weights.outputChannels)])
        try rescaling.checkResidual(inputs, output: output)
        return [output]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "A")
        let output = outputs[0]
        let residual = try rescaling.residual(inputs, output: output)
        let depth = weights.inputChannelsPerGroup, columns = weights.outputChannels
        guard input.elementType == .float, output.elementType == .float, input.rank >= 2, input.shape.last == depth,
              output.shape == Array(input.shape.dropLast()) + [columns] else {
            throw ONNXRunError(.invalidModel, "dynamically quantized MatMul shapes do not fit",
                               shapes: [input.description, output.description])
        }
        let rows = input.elementCount / max(depth, 1)
        let shape = ConvolutionShape(batch: 1, inputHeight: rows, inputWidth: 1, inputChannels: depth,
                                     outputHeight: rows, outputWidth: 1, outputChannels: columns, kernelHeight: 1,
                                     kernelWidth: 1)
        rescaling.run(weights, shape: shape, input: input, output: output, residual: residual, pool: pool)
    }
}

extension DynamicQuantizedMatMul: CostReporting, DynamicallyRescaling {
    var opType: String { "DynamicQuantizedMatMul" }

    var isIntegerArithmetic: Bool { true }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        outputs.first?.fixedShape.flatMap { checkedElementCount($0) }.map { $0 * weights.inputChannelsPerGroup }
    }
}

extension IntegerMatMulOperator: DynamicallyQuantizable {
    /// MatMulInteger with a constant 2-D B (int8 or uint8) and B zero point per tensor or per column.
    func dynamicallyQuantized(_ inputs: [InferenceValue?], weightScale: Tensor, bias: Tensor?) throws -> FusedOperator? {
        guard !isQuantizedLinear, inputs.count >= 3, inputs[0]?.type.elementType == .uint8,
              let rank = inputs[0]?.type.shape?.count, rank >= 2, let b = inputs[1]?.constant, b.rank == 2,
              [.int8, .uint8].contains(b.elementType) else { return nil }
        let (depth, columns) = (b.shape[0], b.shape[1])
        let zeroPoints = inputs.count > 3 ? inputs[3]?.constant : nil
        if inputs.count > 3, inputs[3] != nil, zeroPoints == nil { return nil }
        guard depth > 0, columns > 0, zeroPoints.map({ $0.elementType == b.elementType
                  && ($0.elementCount == 1 || $0.elementCount == columns) }) ?? true,
              let scales = perChannelValues(weightScale, channels: columns, axis: rank - 1, rank: rank),
              let biasValues = bias.map({ perChannelValues($0, channels: columns, axis: rank - 1, rank: rank) })
                  ?? [Float](repeating: 0, count: columns)
        else { return nil }
        // B's columns as the output channels of a 1x1 convolution: [N, K, 1, 1].
        let transposed = b.withUnsafeBytes { bytes in
            (0..<columns * depth).map { index in bytes[(index % depth) * columns + index / depth] }
        }
        let weights = try transposed.withUnsafeBytes {
            try Tensor(elementType: b.elementType, shape: [columns, depth, 1, 1], copying: $0)
        }
        let packed = try QuantizedConvolutionWeights(weights: weights, weightZeroPoints: zeroPoints, bias: nil,
                                                     scales: [1], inputZeroPoint: 0, groups: 1)
        let product = DynamicQuantizedMatMul(weights: packed,
                                             rescaling: DynamicRescaling(weightScales: scales, bias: biasValues))
        return FusedOperator(op: product, opType: product.opType)
    }
}

// MARK: - Hooks of the chain's other operators

extension DynamicQuantizeLinearOperator: DynamicQuantizingOperator {}

extension CastOperator: ElementTypeConverting {
    var targetElementType: ElementType? { target }
}

/// The values of a float constant per channel when it broadcasts along `axis` of a rank-`rank` result without
/// growing it: one value (repeated), or `channels` values on that axis and 1 on the others; nil otherwise.
private func perChannelValues(_ tensor: Tensor, channels: Int, axis: Int, rank: Int) -> [Float]? {
    guard tensor.elementType == .float, tensor.rank <= rank else { return nil }
    if tensor.elementCount == 1 { return [Float](repeating: tensor.floats[0], count: channels) }
    let padded = [Int](repeating: 1, count: rank - tensor.rank) + tensor.shape
    guard padded.indices.allSatisfy({ padded[$0] == ($0 == axis ? channels : 1) }) else { return nil }
    return tensor.floats
}
