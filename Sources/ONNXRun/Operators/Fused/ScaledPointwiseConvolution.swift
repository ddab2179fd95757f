// Squeeze-excite's channel scale folded into the 1x1 projection after it: conv1x1(x * s) without the scaled tensor.

import CKernels

/// `output = activation(conv1x1(x * scale) + bias + residual)` on NHWC tensors, with `scale` one value per image and
/// input channel (`[N or 1, 1, 1, C]` in NHWC: squeeze-excite's `[N, C, 1, 1]`, whose bytes are the same).
///
/// Built by the optimizer from `Mul(x, s)` whose only reader is a pointwise FusedConvolution: EfficientNet's and
/// MobileNetV3's blocks multiply the depthwise output by the excitation, then project it. As its own step the Mul
/// is a pass over the depthwise output (~5 % of EfficientNet-B0). Here each image scales whichever is smaller:
/// the weights' rows (`diag(s) W`, K x N values; the image's pixels then go into the GEMM as they are) or, when
/// the image has fewer pixels than the weights have (padded) columns, as in the 7x7 stage (49 pixels against
/// 192-320 columns), its pixels into a scratch. The Mul and the FusedConvolution it replaces are the oracle.
struct ScaledPointwiseConvolution: KernelOperator, ChannelsLastOperator, CostReporting, BFloat16Convertible {
    let projection: FusedConvolution
    /// Which of inputs 0 and 1 is the scale (the other is x, as the Mul had them); the residual is input 2.
    let scalePosition: Int
    private let weights: PackedMatrixWeights

    /// nil unless `projection` runs as a pointwise GEMM and `scalePosition` is 0 or 1.
    init?(projection: FusedConvolution, scalePosition: Int) {
        guard let weights = projection.pointwiseWeights, scalePosition == 0 || scalePosition == 1 else { return nil }
        self.projection = projection
        self.scalePosition = scalePosition
        self.weights = weights
    }

    private var inputPosition: Int { 1 - scalePosition }

    var channelsLastInputs: [Int] { projection.hasResidual ? [0, 1, 2] : [0, 1] }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        projection.multiplyAccumulates(inputs: [], outputs: outputs)
    }

    /// The projection in bfloat16 (the pixels are then always scaled: the bfloat16 weights are not rescaled).
    func bfloat16Variant() -> (any Operator)? {
        projection.bfloat16Pointwise.flatMap { ScaledPointwiseConvolution(projection: $0, scalePosition: scalePosition) }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, inputPosition, "X")
        let scale = try requiredInput(inputs, scalePosition, "scale").type
        let channels = projection.inputChannelsPerGroup
        guard scale.elementType == .float, let shape = scale.shape, shape.count == 4,
              shape[1] == .fixed(1), shape[2] == .fixed(1), shape[3] == .fixed(channels)
        else {
            throw ONNXRunError(.invalidModel, "channel scale \(scale) is not one value per image and channel "
                + "(\(channels) channels)")
        }
        let residual = projection.hasResidual ? [try requiredInput(inputs, 2, "residual")] : []
        return try projection.inferOutputs([x] + residual)
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, inputPosition, "X")
        let scale = try requiredInput(inputs, scalePosition, "scale")
        let residual = projection.hasResidual ? try requiredInput(inputs, 2, "residual") : nil
        let output = outputs[0]
        let channels = projection.inputChannelsPerGroup
        let outputChannels = projection.outputChannels
        guard input.elementType == .float, input.rank == 4, input.shape[3] == channels,
              scale.elementType == .float, scale.rank == 4, Array(scale.shape[1...]) == [1, 1, channels],
              scale.shape[0] == 1 || scale.shape[0] == input.shape[0],
              output.shape == Array(input.shape.dropLast()) + [outputChannels],
              residual.map({ $0.shape == output.shape && $0.elementType == .float }) ?? true
        else {
            throw ONNXRunError(.invalidModel, "scaled pointwise convolution shapes do not fit",
                               shapes: [input, scale, output].map(\.description)
                                   + (residual.map { [$0.description] } ?? []))
        }
        let batch = input.shape[0]
        let pixels = input.shape[1] * input.shape[2]
        guard batch > 0, pixels > 0 else { return }
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let scales = UnsafePointer(scale.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        let residualPointer = residual.map { UnsafePointer($0.storage.bytes.assumingMemoryBound(to: Float.self)) }
        let paddedColumns = (outputChannels + 15) / 16 * 16
        let scalesWeights = weights.precision == .fp32 && paddedColumns <= pixels
        let scaled = scalesWeights ? nil : UnsafeMutablePointer<Float>.allocate(capacity: pixels * channels)
        defer { scaled?.deallocate() }
        guard let geometry = ElementwiseKernels.broadcastGeometry(a: [pixels, channels], b: [1, channels],
                                                                  output: [pixels, channels]) else { return }
        for image in 0..<batch {
            let imageScale = scales + (scale.shape[0] == 1 ? 0 : image * channels)
            let imageInput = source + image * pixels * channels
            let imageOutput = destination + image * pixels * outputChannels
            let imageResidual = residualPointer.map { $0 + image * pixels * outputChannels }
            if let scaled {
                let count = pixels * channels
                let tasks = Parallelism.taskCount(work: count, granularity: .elementwise, threads: pool.threadCount,
                                                  units: count)
                pool.parallelFor(tasks) { task in
                    ElementwiseKernels.binary(ORK_BINARY_MULTIPLY, geometry: geometry, a: imageInput, b: imageScale,
                                              output: scaled, range: Parallelism.split(count, task, tasks))
                }
                weights.run(input: scaled, inputRowStride: channels, output: imageOutput,
                            outputRowStride: outputChannels, residual: imageResidual,
                            residualRowStride: outputChannels, activation: projection.activation, rows: pixels,
                            pool: pool)
            } else {
                PackedMatrixWeights(weights, scalingRows: imageScale).run(
                    input: imageInput, inputRowStride: channels, output: imageOutput, outputRowStride: outputChannels,
                    residual: imageResidual, residualRowStride: outputChannels, activation: projection.activation,
                    rows: pixels, pool: pool)
            }
        }
    }
}
