// DenseNet's norm + relu before each 1x1 conv, applied to the conv's input rows as the GEMM takes them: the
// normalized tensor is never written out.

/// `output = activation(conv1x1(clamp(x * scale + shift)) + bias)` on NHWC tensors: a per-channel affine
/// with its clamp (a BatchNormalization no convolution before it absorbed, and the Relu after it; `ChannelAffine`)
/// and the pointwise convolution reading it — the pre-activation order of DenseNet's layers and transitions, where
/// the Relu between them keeps the affine out of the weights.
///
/// Built by the optimizer when the affine's only reader is a pointwise FusedConvolution. As its own step the affine
/// is a pass over the (large, growing) concat of every earlier feature map, writing a tensor as large that the GEMM
/// reads again (~6 % of DenseNet-121). Here each task normalizes a block of pixel rows into a scratch that stays in
/// cache and multiplies it there. x may be a channel window of wider rows (the concat's buffer, read in place).
/// The ChannelAffine and FusedConvolution it replaces are the oracle.
struct PreactivatedPointwiseConvolution: ChannelWindowOperator, ChannelsLastOperator, CostReporting,
    BFloat16Convertible {
    let affine: ChannelAffine
    let projection: FusedConvolution
    private let weights: PackedMatrixWeights

    /// nil unless `projection` runs as a pointwise GEMM over as many channels as the affine has, without a residual.
    init?(affine: ChannelAffine, projection: FusedConvolution) {
        guard let weights = projection.pointwiseWeights, affine.scale.count == projection.inputChannelsPerGroup,
              !projection.hasResidual else { return nil }
        var affine = affine
        affine.isChannelsLast = true
        self.affine = affine
        self.projection = projection
        self.weights = weights
    }

    /// Pixel rows normalized at a time: a multiple of the GEMM's 12-row tiles, as many as fit a 384 KB scratch,
    /// which stays in L2 next to the weights. More rows per call let the GEMM reuse each weight panel longer:
    /// DenseNet-121 at one thread 41.9 ms against 42.6 with 96 rows always, 42.7 with the affine as its own pass.
    static func blockRows(channels: Int) -> Int {
        min(1_020, max(48, 98_304 / max(channels, 1) / 12 * 12))
    }

    var channelsLastInputs: [Int] { [0] }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        projection.multiplyAccumulates(inputs: inputs, outputs: outputs)
    }

    func bfloat16Variant() -> (any Operator)? {
        projection.bfloat16Pointwise.flatMap { Self(affine: affine, projection: $0) }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        _ = try affine.inferOutputs([inputs.first ?? nil])
        return try projection.inferOutputs(inputs)
    }

    func readsChannelWindow(input position: Int, rank: Int) -> Bool { position == 0 }
    func writesChannelWindow(rank: Int) -> Bool { true }

    func execute(_ inputs: [Tensor?], inputWindows: [ChannelWindow?], into outputs: [Tensor],
                 outputWindow: ChannelWindow?, pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let output = outputs[0]
        let channels = affine.scale.count, outputChannels = projection.outputChannels
        guard input.elementType == .float, input.rank == 4, input.shape[3] == channels,
              output.shape == Array(input.shape.dropLast()) + [outputChannels] else {
            throw ONNXRunError(.invalidModel, "pre-activated pointwise convolution shapes do not fit",
                               shapes: [input, output].map(\.description))
        }
        let inputWindow = inputWindows.first ?? nil
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self)) + (inputWindow?.offset ?? 0)
        let sourceStride = inputWindow?.rowStride ?? channels
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self) + (outputWindow?.offset ?? 0)
        let destinationStride = outputWindow?.rowStride ?? outputChannels
        let rows = input.elementCount / max(channels, 1)
        guard rows > 0 else { return }
        let blockRows = Self.blockRows(channels: channels)
        let blocks = (rows + blockRows - 1) / blockRows
        let split = weights.parallelSplit(rows: rows, threads: pool.threadCount)
        let tasks = split.tasks
        if split.columnUnit != nil || blocks < tasks {
            // Few pixels (DenseNet's 7x7 block): the threads split the columns, so all rows are normalized first.
            let normalized = UnsafeMutablePointer<Float>.allocate(capacity: rows * channels)
            defer { normalized.deallocate() }
            affine.applyChannelsLast(rows: rows, from: source, rowStride: sourceStride, to: normalized)
            weights.run(input: normalized, inputRowStride: channels, output: destination,
                        outputRowStride: destinationStride, activation: projection.activation, rows: rows, pool: pool)
            return
        }
        pool.parallelFor(tasks) { task in
            let normalized = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * channels)
            defer { normalized.deallocate() }
            for block in Parallelism.split(blocks, task, tasks) {
                let first = block * blockRows, count = min(blockRows, rows - first)
                affine.applyChannelsLast(rows: count, from: source + first * sourceStride, rowStride: sourceStride,
                                         to: normalized)
                weights.run(input: normalized, inputRowStride: channels,
                            output: destination + first * destinationStride, outputRowStride: destinationStride,
                            activation: projection.activation, rows: 0..<count)
            }
        }
    }
}
