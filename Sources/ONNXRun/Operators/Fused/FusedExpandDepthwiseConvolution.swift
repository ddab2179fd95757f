// The optimizer's inverted bottleneck: a 1x1 expansion conv feeding a depthwise conv (and the 1x1 projection after
// it, with its residual Add), or a depthwise conv and its projection alone, computed band by band.

/// `output = project(depthwise(expand(input))) (+ residual)` on NHWC tensors, without materializing the expanded
/// tensor or the depthwise output.
///
/// Built by the optimizer from a pointwise FusedConv (1x1, stride 1, group 1, no residual) whose only reader is a
/// depthwise FusedConv (no residual); then, when the depthwise output's only reader is a pointwise FusedConv (the
/// block's projection, with or without the residual Add), that one too. In MobileNetV2's early blocks the expanded
/// tensor is 2-5 MB, far over the 1 MB L2: written by the 1x1 and read right back by the depthwise, it makes both
/// memory-bound, and so does the depthwise output (as large, 6x the block's channels) for the projection. Here each
/// task owns a contiguous range of output rows and slides a window of expanded rows (a band buffer of a few hundred
/// KB that stays in L2) down the image: it computes only the expanded rows the next output rows need (the GEMM over
/// those pixel rows of the input), runs the depthwise kernel on the buffer as a "virtual image" whose top is the
/// first buffered row, projects those output rows from a second small buffer (residual added in the GEMM's store),
/// then moves the expanded rows still needed to the top of the buffer. Only the rows at task boundaries are computed
/// twice. A block without expansion (MobileNetV2's first, t = 1: the depthwise reads the block's input) is built
/// from the depthwise conv and its projection; the depthwise then reads the input rows in place, and only its
/// output stays in a band. The expansion may also be a dense convolution on the general kernel (MobileNetV2's stem,
/// 3x3 stride 2, 3 -> 32 channels, before that first block): its output rows are computed into the band the same
/// way. The FusedConvolutions it was built from are the oracle.
struct FusedExpandDepthwiseConvolution: KernelOperator, ChannelsLastOperator, CostReporting, BFloat16Convertible {
    /// The expansion (a 1x1 conv, or a dense conv on the general kernel); nil when the depthwise conv reads the
    /// operator's input.
    private(set) var expand: FusedConvolution?
    let depthwise: FusedConvolution
    /// The 1x1 projection after the depthwise conv (reading the residual as input 1 when it has one), once fused.
    private(set) var projection: FusedConvolution?
    private var expandKernel: ExpansionKernel?
    private let depthwiseWeights: DepthwiseConvolutionKernel
    private var projectionWeights: PackedMatrixWeights?
    /// The depthwise weights for bfloat16 band buffers (the bfloat16 variant, `bfloat16Variant()`): the expansion
    /// rounds its rows to bfloat16 as it stores them, the depthwise reads and writes bfloat16 (half the bytes, one
    /// load per 32 channels), the projection reads its rows as they are (no conversion pass). nil: float32 buffers.
    private var bfloat16Depthwise: DepthwiseConvolutionKernel?

    private enum ExpansionKernel: Sendable {
        case pointwise(PackedMatrixWeights)
        case general(ConvolutionKernel)
    }

    /// Bytes of expanded rows a task keeps at once: comfortably inside the 1 MB L2 next to the input rows,
    /// the weights and the output rows (the depthwise output rows awaiting projection take at most as much).
    /// `bandBytes` overrides it (tests use tiny bands to cross band boundaries).
    static let defaultBandBytes = 256 * 1024
    var bandBytes = defaultBandBytes

    /// How a run on 2+ threads whose expanded tensor fits in cache is scheduled.
    enum SmallImageSchedule: CaseIterable {
        /// By estimated cost (`unfusedStepsAreFaster`).
        case estimated
        case bandLoop
        case unfusedSteps
    }
    /// `.estimated` unless overridden (tests run every schedule).
    var smallImageSchedule = SmallImageSchedule.estimated

    /// nil unless `expand` is a pointwise GEMM and `depthwise` a depthwise conv over its channels, both without
    /// residual.
    init?(expand: FusedConvolution, depthwise: FusedConvolution) {
        guard let unexpanded = FusedExpandDepthwiseConvolution(depthwise: depthwise),
              let fused = unexpanded.expanding(with: expand) else { return nil }
        self = fused
    }

    /// The depthwise conv alone, to be given its projection (`projecting(with:)`) and then, maybe, an expansion
    /// (`expanding(with:)`); nil unless `depthwise` is a depthwise conv without residual.
    init?(depthwise: FusedConvolution) {
        guard let depthwiseWeights = depthwise.depthwiseKernel, !depthwise.hasResidual else { return nil }
        self.depthwise = depthwise
        self.depthwiseWeights = depthwiseWeights
    }

    /// This operator with `expand` computing the depthwise conv's input; nil unless `expand` is a pointwise GEMM
    /// (or, when `dense` allows, a dense conv on the general kernel) without residual into the depthwise conv's
    /// channels and none is fused yet.
    func expanding(with expand: FusedConvolution, dense: Bool = false) -> FusedExpandDepthwiseConvolution? {
        guard self.expand == nil, !expand.hasResidual, expand.outputChannels == depthwise.outputChannels
        else { return nil }
        var fused = self
        if let weights = expand.pointwiseWeights {
            fused.expandKernel = .pointwise(weights)
        } else if dense, let convolution = expand.denseGeneralKernel {
            fused.expandKernel = .general(convolution)
        } else {
            return nil
        }
        fused.expand = expand
        return fused
    }

    /// This operator with `projection` computed from the depthwise output band by band; nil unless `projection` is
    /// a pointwise GEMM over the depthwise output's channels and none is fused yet.
    func projecting(with projection: FusedConvolution) -> FusedExpandDepthwiseConvolution? {
        guard self.projection == nil, let weights = projection.pointwiseWeights,
              projection.inputChannelsPerGroup == depthwise.outputChannels else { return nil }
        var fused = self
        fused.projection = projection
        fused.projectionWeights = weights
        return fused
    }

    /// The 1x1 GEMMs in bfloat16; with a bfloat16 projection, clamps as the only activations (the bfloat16 stores
    /// apply nothing else) and an even channel count, the band buffers too (`bfloat16Depthwise`).
    func bfloat16Variant() -> (any Operator)? {
        guard var converted = FusedExpandDepthwiseConvolution(depthwise: depthwise) else { return nil }
        if let expand {
            // A dense expansion stays float32 (the stem: `FusedConvolution.bfloat16GeneralMinimumOutputs`).
            guard let expanded = converted.expanding(with: expand.bfloat16Pointwise ?? expand, dense: true) else {
                return nil
            }
            converted = expanded
        }
        if let projection {
            guard let projected = converted.projecting(with: projection.bfloat16Pointwise ?? projection) else {
                return nil
            }
            converted = projected
        }
        converted.bandBytes = bandBytes
        converted.smallImageSchedule = smallImageSchedule
        // Bands of a 1x1 expansion only: without one the depthwise reads the float32 input, and a dense expansion
        // stores float32.
        if let expand, case .pointwise = converted.expandKernel, case .clamp = expand.activation,
           case .clamp = depthwise.activation, converted.projectionWeights?.precision == .bf16 {
            converted.bfloat16Depthwise = DepthwiseConvolutionKernel(bfloat16: depthwiseWeights)
        }
        return converted
    }

    /// Whether the band buffers hold bfloat16 (two values per 32-bit word). The two-phase schedule (several
    /// threads, small images) keeps float32 scratch tensors: the bfloat16 GEMMs read and write either.
    var bandsInBFloat16: Bool { bfloat16Depthwise != nil }

    /// Bytes of one expanded value in the band buffers.
    private var bandValueBytes: Int { bandsInBFloat16 ? 2 : MemoryLayout<Float>.stride }

    /// Bytes of one expanded row in the band buffers.
    private func bandRowBytes(_ band: ConvolutionShape) -> Int {
        max(1, band.inputWidth * band.inputChannels * bandValueBytes)
    }

    /// Float-sized words of `pixels` expanded pixels in the band buffers (the buffers are `Float` pointers).
    private func bandWords(pixels: Int) -> Int {
        pixels * depthwise.outputChannels * bandValueBytes / MemoryLayout<Float>.stride
    }

    // MARK: - Operator

    private var hasResidual: Bool { projection?.hasResidual ?? false }

    /// Channels of an input pixel: the expansion's input, or the depthwise conv's.
    private var inputChannels: Int { expand?.inputChannelsPerGroup ?? depthwise.outputChannels }

    var channelsLastInputs: [Int] { hasResidual ? [0, 1] : [0] }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let inputType = inputs.first ?? nil, let input = inputType.fixedShape, input.count == 4,
              let output = outputs.first?.fixedShape, output.count == 4,
              let outputPixels = checkedElementCount(Array(output[0..<3]))
        else { return nil }
        let expandedChannels = depthwise.outputChannels
        var expansion = 0
        if let expand {
            guard let expanded = try? expand.inferOutputs([InferenceValue(type: inputType)]),
                  let macs = expand.multiplyAccumulates(inputs: [inputType], outputs: expanded) else { return nil }
            expansion = macs
        }
        return expansion + outputPixels * expandedChannels * (depthwise.kernelHeight * depthwise.kernelWidth
                                                 + (projection?.outputChannels ?? 0))
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X")
        let expanded = try expand?.inferOutputs([input])[0] ?? input.type
        let depthwiseOutput = try depthwise.inferOutputs([InferenceValue(type: expanded)])
        guard let projection else { return depthwiseOutput }
        let residual = hasResidual ? [try requiredInput(inputs, 1, "residual")] : []
        return try projection.inferOutputs([InferenceValue(type: depthwiseOutput[0])] + residual)
    }

    // MARK: - Execution

    /// Where a run reads and writes: the input, the output (the projection's when there is one), the residual.
    private struct Tensors {
        var input: UnsafePointer<Float>
        var output: UnsafeMutablePointer<Float>
        var residual: UnsafePointer<Float>?
        /// Channels of an output pixel.
        var outputChannels: Int
        /// Floats from one output pixel to the next: `outputChannels`, or the wider rows of a Concat's buffer the
        /// projection writes a channel window of (the residual stays dense).
        var outputRowStride: Int
        /// The whole call of a dense expansion (the general kernel), when the operator has one.
        var denseExpansion: ConvolutionShape?
    }

    func execute(_ inputs: [Tensor?], inputWindows: [ChannelWindow?], into outputs: [Tensor],
                 outputWindow: ChannelWindow?, pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let output = outputs[0]
        let residual = hasResidual ? try requiredInput(inputs, 1, "residual") : nil
        let expandedChannels = depthwise.outputChannels
        let outputChannels = projection?.outputChannels ?? expandedChannels
        guard input.elementType == .float, input.rank == 4, output.rank == 4,
              input.shape[3] == inputChannels, output.shape[3] == outputChannels,
              output.shape[0] == input.shape[0],
              residual.map({ $0.shape == output.shape && $0.elementType == .float }) ?? true,
              inputWindows.allSatisfy({ $0 == nil }), outputWindow == nil || writesChannelWindow(rank: output.rank)
        else {
            throw ONNXRunError(.invalidModel, "fused inverted bottleneck shapes do not fit",
                               shapes: [input, output].map(\.description) + (residual.map { [$0.description] } ?? []))
        }
        var denseExpansion: ConvolutionShape?
        if let expand, case .general = expandKernel {
            let geometry = try expand.window.geometry(inputSize: [input.shape[1], input.shape[2]],
                                                      kernelSize: [expand.kernelHeight, expand.kernelWidth])
            denseExpansion = ConvolutionShape(batch: input.shape[0], inputChannels: input.shape[3],
                                              outputChannels: expandedChannels, geometry: geometry)
        }
        let expandedSize = denseExpansion.map { [$0.outputHeight, $0.outputWidth] } ?? [input.shape[1], input.shape[2]]
        let geometry = try depthwise.window.geometry(inputSize: expandedSize,
                                                     kernelSize: [depthwise.kernelHeight, depthwise.kernelWidth])
        guard geometry.outputSize == [output.shape[1], output.shape[2]] else {
            throw ONNXRunError(.invalidModel, "fused inverted bottleneck output \(output) does not match \(geometry)")
        }
        // The depthwise over the expanded tensor; the expansion (if any) reads `input.shape[3]` channels per pixel.
        let band = ConvolutionShape(batch: input.shape[0], inputChannels: expandedChannels,
                                    outputChannels: expandedChannels, groups: expandedChannels, geometry: geometry)
        guard band.batch > 0, band.outputHeight > 0, band.outputWidth > 0 else { return }
        let tensors = Tensors(
            input: UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self)),
            output: output.storage.bytes.assumingMemoryBound(to: Float.self) + (outputWindow?.offset ?? 0),
            residual: residual.map { UnsafePointer($0.storage.bytes.assumingMemoryBound(to: Float.self)) },
            outputChannels: outputChannels, outputRowStride: outputWindow?.rowStride ?? outputChannels,
            denseExpansion: denseExpansion)
        // Buffer rows: as many as the band budget holds, never fewer than one output row's window.
        let capacity = max(band.windowRows(outputRows: 1), bandBytes / bandRowBytes(band))
        // Depthwise output rows projected at once: as many as the same budget holds.
        let projectedRows = projection == nil ? band.outputHeight : max(1, min(band.outputHeight,
            bandBytes / max(1, band.outputWidth * expandedChannels * bandValueBytes)))
        let rows = band.batch * band.outputHeight
        let (tasks, unfused) = schedule(band, threads: pool.threadCount)
        if unfused, let expand, case .pointwise(let expandWeights) = expandKernel {
            runInTwoPhases(band, tensors, expand: expand, expandWeights: expandWeights, pool: pool)
            return
        }
        pool.parallelFor(tasks) { task in
            runTask(band, tensors, rows: Parallelism.split(rows, task, tasks), capacity: capacity,
                    projectedRows: projectedRows)
        }
    }

    /// How a run over `band` (the depthwise conv over the expanded tensor) on `threads` threads goes: the band
    /// loop in `bandTasks` ranges of output rows, or, when `unfused`, the separate steps (`runInTwoPhases`).
    func schedule(_ band: ConvolutionShape, threads: Int) -> (bandTasks: Int, unfused: Bool) {
        let rows = band.batch * band.outputHeight
        // One contiguous range of output rows per thread: every task after the first recomputes its window's
        // overlap (one or two expanded rows). Measured at 2 threads, one range per thread beat three (which
        // balances better on shared cores) on MobileNetV2 1.0/0.5 and EfficientNet-Lite0.
        let work = weightedWork(band, expandedRows: band.batch * band.inputHeight)
        let workTasks = work / Double(Parallelism.Granularity.dense.rawValue)
        let tasks = threads > 1 ? max(1, min(threads, rows, Int(min(workTasks, Double(rows))))) : 1
        let expandedBytes = Double(band.batch) * Double(band.inputHeight) * Double(bandRowBytes(band))
        // Small images (the late blocks): the whole expanded tensor stays in cache, so the steps can also run
        // unfused. (Without an expansion no row is recomputed; a dense expansion always runs banded.)
        guard threads > 1, let expand, case .pointwise(let expandWeights) = expandKernel,
              expandedBytes <= Double(bandBytes) * Double(threads) else { return (tasks, false) }
        let unfused = switch smallImageSchedule {
        case .estimated: unfusedStepsAreFaster(band, bandTasks: tasks, threads: threads, expand: expand,
                                               expandWeights: expandWeights)
        case .bandLoop: false
        case .unfusedSteps: true
        }
        return (tasks, unfused)
    }

    /// The block's MACs when the band loops compute `expandedRows` expanded rows and `outputRows` output rows (all
    /// of them unless given), the depthwise's counted 4x as it runs ~4x slower than dense GEMM MACs
    /// (`Parallelism.Granularity`). In floating point: only compared, and no product of sizes can trap.
    private func weightedWork(_ band: ConvolutionShape, expandedRows: Int, outputRows: Int? = nil) -> Double {
        let expansionMACs = expand.map { $0.inputChannelsPerGroup * $0.kernelHeight * $0.kernelWidth } ?? 0
        let outputPixels = Double(outputRows ?? band.outputRowCount) * Double(band.outputWidth)
        return Double(expandedRows) * Double(band.inputWidth) * Double(band.inputChannels) * Double(expansionMACs)
            + outputPixels * Double(band.inputChannels)
            * Double(4 * band.kernelHeight * band.kernelWidth + (projection?.outputChannels ?? 0))
    }

    /// Whether the unfused steps of `runInTwoPhases` are estimated to finish sooner than the band loop split into
    /// `bandTasks` row ranges. The band loop recomputes the expanded rows where two ranges meet (a third more of
    /// the expansion for 6-row images, two thirds for 3-row ones); each unfused step runs only as parallel as
    /// its own size allows (the steps of a small model's late blocks are too small to split, and run on one
    /// thread) and ends with a join. Either takes as long as its busiest thread (uneven row ranges, column
    /// blocks: `Parallelism.busiestThreadUnits`). Measured at 2 threads: this picks the band loop for MobileNetV2
    /// 0.35 @96's 6x6 to 24x24 blocks (0.29 -> 0.24 ms) and the three steps for the 1.0 @224 7x7 blocks.
    private func unfusedStepsAreFaster(_ band: ConvolutionShape, bandTasks: Int, threads: Int,
                                       expand: FusedConvolution, expandWeights: PackedMatrixWeights) -> Bool {
        let rows = band.outputRowCount
        // Each band task runs on a thread of its own (`bandTasks` <= threads): the loop takes as long as the
        // largest, its window overlap included.
        var bandLoop = 0.0
        for task in 0..<bandTasks {
            let taskRows = Parallelism.split(rows, task, bandTasks)
            var expandedRows = 0
            var row = taskRows.lowerBound
            while row < taskRows.upperBound {
                let image = row / band.outputHeight
                let imageEnd = min(taskRows.upperBound, (image + 1) * band.outputHeight)
                let imageRows = (row - image * band.outputHeight)..<(imageEnd - image * band.outputHeight)
                expandedRows += band.inputRows(outputRows: imageRows).count
                row = imageEnd
            }
            bandLoop = max(bandLoop, weightedWork(band, expandedRows: expandedRows, outputRows: taskRows.count))
        }
        let region = Double(Parallelism.regionCost)
        bandLoop += region
        let expandedPixels = band.batch * band.inputHeight * band.inputWidth
        let expandWork = Double(expandedPixels) * Double(band.inputChannels) * Double(expand.inputChannelsPerGroup)
        let depthwiseWork = Double(band.outputElementCount) * Double(4 * band.kernelHeight * band.kernelWidth)
        let depthwiseTasks = Parallelism.taskCount(
            work: band.outputElementCount * band.kernelHeight * band.kernelWidth, granularity: .depthwise,
            threads: threads, units: rows)
        let depthwiseShare = Double(Parallelism.busiestThreadUnits(units: rows, tasks: depthwiseTasks,
                                                                   threads: threads)) / Double(max(1, rows))
        var unfused = expandWork * expandWeights.parallelSplit(rows: expandedPixels, threads: threads).busiestShare
            + depthwiseWork * depthwiseShare + 2 * region
        if let projectionWeights {
            let projectionWork = Double(band.outputPixelCount) * Double(band.inputChannels)
                * Double(projectionWeights.outputCount)
            unfused += projectionWork * projectionWeights.parallelSplit(rows: band.outputPixelCount,
                                                                        threads: threads).busiestShare + region
        }
        return unfused < bandLoop
    }

    /// The unfused schedule on scratch tensors, each step split over all threads: the expansion, the depthwise by
    /// rows, the projection (the GEMMs by rows or, for few pixels, by columns: `PackedMatrixWeights.run(rows:pool:)`).
    private func runInTwoPhases(_ band: ConvolutionShape, _ tensors: Tensors, expand: FusedConvolution,
                                expandWeights: PackedMatrixWeights, pool: ThreadPool) {
        let expandedFloats = max(1, band.batch * band.inputHeight * band.inputWidth * band.inputChannels)
        let depthwiseFloats = projection == nil ? 0 : max(1, band.outputPixelCount * band.inputChannels)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: (expandedFloats + depthwiseFloats) * MemoryLayout<Float>.stride, alignment: 64)
        defer { raw.deallocate() }
        let expanded = raw.bindMemory(to: Float.self, capacity: expandedFloats + depthwiseFloats)
        expandWeights.run(input: tensors.input, inputRowStride: expand.inputChannelsPerGroup, output: expanded,
                          outputRowStride: band.inputChannels, activation: expand.activation,
                          rows: band.batch * band.inputHeight * band.inputWidth, pool: pool)
        let depthwiseOutput = projection == nil ? tensors.output : expanded + expandedFloats
        let rows = band.outputRowCount
        let tasks = Parallelism.taskCount(work: band.outputElementCount * band.kernelHeight * band.kernelWidth,
                                          granularity: .depthwise, threads: pool.threadCount, units: rows)
        let depthwiseActivation = depthwise.activation
        pool.parallelFor(tasks) { task in
            depthwiseWeights.run(shape: band, input: UnsafePointer(expanded), output: depthwiseOutput,
                                 activation: depthwiseActivation, rows: Parallelism.split(rows, task, tasks))
        }
        guard let projection, let projectionWeights else { return }
        projectionWeights.run(input: depthwiseOutput, inputRowStride: band.inputChannels, output: tensors.output,
                              outputRowStride: tensors.outputRowStride, residual: tensors.residual,
                              residualRowStride: tensors.outputChannels, activation: projection.activation,
                              rows: band.outputPixelCount, pool: pool)
    }

    /// The depthwise output rows `outputRows` of `image` from its expanded rows `expandedRows` (`expanded` points at
    /// the first of them), written out, or into `scratch` and projected into the output.
    private func finishRows(_ band: ConvolutionShape, _ tensors: Tensors, image: Int, outputRows: Range<Int>,
                            expanded: UnsafePointer<Float>, expandedRows: Range<Int>,
                            scratch: UnsafeMutablePointer<Float>?) {
        // The depthwise on the buffer as an image whose row 0 is the window's first row; its padding logic then
        // sees the real image's edges only (rows beyond the buffer are not read by these output rows).
        let (shape, window) = band.rowsCall(outputRows: outputRows, inputRowsEnd: expandedRows.upperBound)
        let rowFloats = bandWords(pixels: band.inputWidth)
        let input = window.isEmpty ? expanded : expanded + (window.lowerBound - expandedRows.lowerBound) * rowFloats
        let firstPixel = (image * band.outputHeight + outputRows.lowerBound) * band.outputWidth
        let output = tensors.output + firstPixel * tensors.outputRowStride
        guard let projection, let projectionWeights, let scratch else {
            depthwiseWeights.run(shape: shape, input: input, output: output, activation: depthwise.activation,
                                 rows: 0..<outputRows.count)
            return
        }
        let residual = tensors.residual.map { $0 + firstPixel * tensors.outputChannels }
        let projectedPixels = 0..<(outputRows.count * band.outputWidth)
        if let bfloat16Depthwise, case .clamp(let clamp) = depthwise.activation {
            bfloat16Depthwise.run(shape: shape, bfloat16Input: input, bfloat16Output: scratch, clamp: clamp,
                                  rows: 0..<outputRows.count)
            projectionWeights.run(bfloat16Input: scratch, inputRowStride: band.inputChannels, output: output,
                                  outputRowStride: tensors.outputRowStride, residual: residual,
                                  residualRowStride: tensors.outputChannels, activation: projection.activation,
                                  rows: projectedPixels)
            return
        }
        depthwiseWeights.run(shape: shape, input: input, output: scratch, activation: depthwise.activation,
                             rows: 0..<outputRows.count)
        projectionWeights.run(input: scratch, inputRowStride: band.inputChannels, output: output,
                              outputRowStride: tensors.outputRowStride, residual: residual,
                              residualRowStride: tensors.outputChannels, activation: projection.activation,
                              rows: projectedPixels)
    }

    /// Computes the output rows `rows` (row = image * outputHeight + oh) with one sliding buffer of `capacity`
    /// expanded rows, `projectedRows` output rows at most at a time.
    private func runTask(_ band: ConvolutionShape, _ tensors: Tensors, rows: Range<Int>, capacity: Int,
                         projectedRows: Int) {
        guard !rows.isEmpty else { return }
        let rowFloats = bandWords(pixels: band.inputWidth)
        // The expanded rows (if any), then (with a projection) the depthwise output rows awaiting it.
        let bufferFloats = expand == nil ? 0 : max(1, capacity * rowFloats)
        let scratchFloats = projection == nil ? 0 : max(1, bandWords(pixels: projectedRows * band.outputWidth))
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: (bufferFloats + scratchFloats) * MemoryLayout<Float>.stride, alignment: 64)
        defer { raw.deallocate() }
        let buffer = raw.bindMemory(to: Float.self, capacity: bufferFloats + scratchFloats)
        let scratch = projection == nil ? nil : buffer + bufferFloats
        // The dense expansion's im2col rows (the same count for every band: it depends on the width only).
        var denseScratch: UnsafeMutablePointer<Float>?
        if case .general(let kernel) = expandKernel, let whole = tensors.denseExpansion {
            denseScratch = .allocate(capacity: max(1, kernel.scratchCount(for: whole)))
        }
        defer { denseScratch?.deallocate() }
        let imageFloats = tensors.denseExpansion.map { $0.inputHeight * $0.inputWidth * $0.inputChannels }
            ?? band.inputHeight * band.inputWidth * inputChannels
        var row = rows.lowerBound
        while row < rows.upperBound {
            let image = row / band.outputHeight
            let imageRowsEnd = min(rows.upperBound, (image + 1) * band.outputHeight) - image * band.outputHeight
            let imageInput = tensors.input + image * imageFloats
            guard let expand, let expandKernel else {
                // No expansion: the depthwise conv reads the image in place, `projectedRows` output rows at a time.
                for first in stride(from: row - image * band.outputHeight, to: imageRowsEnd, by: projectedRows) {
                    finishRows(band, tensors, image: image, outputRows: first..<min(imageRowsEnd, first + projectedRows),
                               expanded: imageInput, expandedRows: 0..<band.inputHeight, scratch: scratch)
                }
                row = image * band.outputHeight + imageRowsEnd
                continue
            }
            // The buffer holds expanded rows [bufferStart, bufferEnd) of this image.
            var bufferStart = 0
            var bufferEnd = 0
            var outputRow = row - image * band.outputHeight
            while outputRow < imageRowsEnd {
                let needed = band.inputRows(outputRows: outputRow..<(outputRow + 1))
                if needed.lowerBound >= bufferEnd || needed.lowerBound < bufferStart {
                    bufferStart = needed.lowerBound
                    bufferEnd = needed.lowerBound
                } else if needed.upperBound - bufferStart > capacity {
                    // Slide: the rows still needed move to the top of the buffer.
                    let kept = bufferEnd - needed.lowerBound
                    raw.copyMemory(from: buffer + (needed.lowerBound - bufferStart) * rowFloats,
                                   byteCount: kept * rowFloats * MemoryLayout<Float>.stride)
                    bufferStart = needed.lowerBound
                }
                // The most output rows whose window fits in the buffer from bufferStart.
                var bandEnd = outputRow + 1
                while bandEnd < imageRowsEnd, bandEnd - outputRow < projectedRows,
                      band.inputRows(outputRows: outputRow..<(bandEnd + 1)).upperBound - bufferStart <= capacity {
                    bandEnd += 1
                }
                let window = band.inputRows(outputRows: outputRow..<bandEnd)
                if window.upperBound > bufferEnd {
                    let destination = buffer + (bufferEnd - bufferStart) * rowFloats
                    switch expandKernel {
                    case .pointwise(let weights):
                        let newRows = window.upperBound - bufferEnd
                        let newInput = imageInput + bufferEnd * band.inputWidth * inputChannels
                        if bandsInBFloat16, case .clamp(let clamp) = expand.activation {
                            weights.run(input: newInput, inputRowStride: inputChannels, bfloat16Output: destination,
                                        outputRowStride: band.inputChannels, clamp: clamp,
                                        rows: 0..<(newRows * band.inputWidth))
                        } else {
                            weights.run(input: newInput, inputRowStride: inputChannels, output: destination,
                                        outputRowStride: band.inputChannels, activation: expand.activation,
                                        rows: 0..<(newRows * band.inputWidth))
                        }
                    case .general(let kernel):
                        // The expansion's output rows as a call of their own over the input rows they read (float32
                        // bands only: `bfloat16Variant()`).
                        guard let whole = tensors.denseExpansion else { break }
                        let (call, inputWindow) = whole.rowsCall(outputRows: bufferEnd..<window.upperBound,
                                                                 inputRowsEnd: whole.inputHeight)
                        let rowFloats = whole.inputWidth * whole.inputChannels
                        kernel.run(shape: call, input: imageInput + (inputWindow.isEmpty ? 0 : inputWindow.lowerBound)
                                       * rowFloats, output: destination, activation: expand.activation,
                                   pixels: 0..<call.outputPixelCount, scratch: denseScratch)
                    }
                    bufferEnd = window.upperBound
                }
                finishRows(band, tensors, image: image, outputRows: outputRow..<bandEnd,
                           expanded: UnsafePointer(buffer), expandedRows: bufferStart..<bufferEnd,
                           scratch: scratch)
                outputRow = bandEnd
            }
            row = image * band.outputHeight + imageRowsEnd
        }
    }
}

// MARK: - Optimizer hooks

extension FusedExpandDepthwiseConvolution: ChannelWindowOperator {
    func readsChannelWindow(input position: Int, rank: Int) -> Bool { false }

    /// The projection's GEMM stores pixels at any stride (ShuffleNet's branch placed in its concat); a block ending
    /// in the depthwise conv does not.
    func writesChannelWindow(rank: Int) -> Bool { projection != nil }
}

extension FusedExpandDepthwiseConvolution: ConsumerFusing {
    /// The fused node's op type: with a projection, the whole block.
    private var opType: String { projection == nil ? "FusedExpandDepthwiseConv" : "FusedInvertedBottleneck" }

    /// Absorbs the block's projection: a pointwise FusedConv reading the depthwise output, with its residual when
    /// that is computed before this operator runs (the block's input, in MobileNetV2).
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        guard let projection = consumer.op as? FusedConvolution, consumer.producedInput == 0,
              consumer.node.inputs.count == (projection.hasResidual ? 2 : 1),
              let fused = projecting(with: projection) else { return nil }
        guard projection.hasResidual else { return FusedOperator(op: fused, opType: fused.opType) }
        let residual = consumer.node.inputs[1]
        guard !residual.isEmpty, consumer.isAvailableBeforeProducer(residual) else { return nil }
        return FusedOperator(op: fused, opType: fused.opType, extraInputs: [residual])
    }

    /// `expand` (a pointwise FusedConv, or a dense one on the general kernel) absorbing `consumer` when that is this
    /// operator without expansion: the block with `expand` fused, reading the residual the block read when it is
    /// computed before `expand` runs.
    /// (Producers fuse from the last to the first, so a depthwise conv has taken its projection before the
    /// expansion before it is considered.)
    static func fusing(expansion expand: FusedConvolution, into consumer: FusionCandidate) -> FusedOperator? {
        guard let block = consumer.op as? FusedExpandDepthwiseConvolution, consumer.producedInput == 0,
              consumer.node.inputs.count == (block.hasResidual ? 2 : 1),
              let fused = block.expanding(with: expand, dense: true) else { return nil }
        let extraInputs = Array(consumer.node.inputs.dropFirst())
        guard extraInputs.allSatisfy({ !$0.isEmpty && consumer.isAvailableBeforeProducer($0) }) else { return nil }
        return FusedOperator(op: fused, opType: fused.opType, extraInputs: extraInputs)
    }
}
