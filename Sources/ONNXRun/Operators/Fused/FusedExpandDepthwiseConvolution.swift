// The optimizer's inverted-bottleneck head: a 1x1 expansion conv feeding a depthwise conv, computed band by band.

/// `output = depthwise(expand(input))` on NHWC tensors, without materializing the expanded tensor.
///
/// Built by the optimizer from a pointwise FusedConv (1x1, stride 1, group 1, no residual) whose only reader is a
/// depthwise FusedConv (no residual). In MobileNetV2's early blocks the expanded tensor is 2-5 MB, far over the
/// 1 MB L2: written by the 1x1 and read right back by the depthwise, it makes both memory-bound. Here each task
/// owns a contiguous range of output rows and slides a window of expanded rows (a band buffer of a few hundred
/// KB that stays in L2) down the image: it computes only the expanded rows the next output rows need (the GEMM
/// over those pixel rows of the input), runs the depthwise kernel on the buffer as a "virtual image" whose top
/// is the first buffered row, then moves the rows still needed to the top of the buffer. Only the rows at task
/// boundaries are computed twice. The two FusedConvolutions it was built from are the oracle.
struct FusedExpandDepthwiseConvolution: KernelOperator, ChannelsLastOperator, CostReporting, BFloat16Convertible {
    let expand: FusedConvolution
    let depthwise: FusedConvolution
    private let expandWeights: PackedMatrixWeights
    private let depthwiseWeights: DepthwiseConvolutionKernel

    /// Bytes of expanded rows a task keeps at once: comfortably inside the 1 MB L2 next to the input rows,
    /// the weights and the output rows. `bandBytes` overrides it (tests use tiny bands to cross band boundaries).
    static let defaultBandBytes = 256 * 1024
    var bandBytes = defaultBandBytes

    /// nil unless `expand` is a pointwise GEMM and `depthwise` a depthwise conv over its channels, both without
    /// residual.
    init?(expand: FusedConvolution, depthwise: FusedConvolution) {
        guard let expandWeights = expand.pointwiseWeights, let depthwiseWeights = depthwise.depthwiseKernel,
              !expand.hasResidual, !depthwise.hasResidual,
              depthwise.outputChannels == expand.outputChannels
        else { return nil }
        self.expand = expand
        self.depthwise = depthwise
        self.expandWeights = expandWeights
        self.depthwiseWeights = depthwiseWeights
    }

    /// The expansion GEMM in bfloat16; the depthwise conv stays float32.
    func bfloat16Variant() -> (any Operator)? {
        guard let expand = expand.bfloat16Pointwise,
              var converted = FusedExpandDepthwiseConvolution(expand: expand, depthwise: depthwise) else { return nil }
        converted.bandBytes = bandBytes
        return converted
    }

    // MARK: - Operator

    var channelsLastInputs: [Int] { [0] }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let input = inputs.first??.fixedShape, input.count == 4, let expandedPixels = checkedElementCount(
            Array(input[0..<3])), let depthwiseMACs = depthwise.multiplyAccumulates(inputs: [], outputs: outputs)
        else { return nil }
        return depthwiseMACs + expandedPixels * expand.outputChannels * expand.inputChannelsPerGroup
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let expanded = try expand.inferOutputs(inputs)
        return try depthwise.inferOutputs([InferenceValue(type: expanded[0])])
    }

    // MARK: - Execution

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let output = outputs[0]
        let expandedChannels = expand.outputChannels
        guard input.elementType == .float, input.rank == 4, output.rank == 4,
              input.shape[3] == expand.inputChannelsPerGroup, output.shape[3] == expandedChannels,
              output.shape[0] == input.shape[0]
        else {
            throw ONNXRunError(.invalidModel, "fused expansion + depthwise convolution shapes do not fit",
                               shapes: [input.description, output.description])
        }
        let geometry = try depthwise.window.geometry(inputSize: [input.shape[1], input.shape[2]],
                                                     kernelSize: [depthwise.kernelHeight, depthwise.kernelWidth])
        guard geometry.outputSize == [output.shape[1], output.shape[2]] else {
            throw ONNXRunError(.invalidModel, "fused expansion + depthwise output \(output) does not match \(geometry)")
        }
        // The depthwise over the expanded tensor; the expansion reads `input.shape[3]` channels per pixel.
        let band = ConvolutionShape(batch: input.shape[0], inputChannels: expandedChannels,
                                    outputChannels: expandedChannels, groups: expandedChannels, geometry: geometry)
        guard band.batch > 0, band.outputHeight > 0, band.outputWidth > 0 else { return }
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        // Buffer rows: as many as the band budget holds, never fewer than one output row's window.
        let rowBytes = max(1, band.inputWidth * expandedChannels * MemoryLayout<Float>.stride)
        let capacity = max(band.windowRows(outputRows: 1), bandBytes / rowBytes)
        let rows = band.batch * band.outputHeight
        // MACs, in floating point: only compared with a threshold, and no product of sizes can trap.
        let work = Double(rows) * Double(band.outputWidth) * Double(expandedChannels)
            * Double(expand.inputChannelsPerGroup + band.kernelHeight * band.kernelWidth)
        let threads = pool.threadCount
        let expandedBytes = Double(band.batch) * Double(band.inputHeight) * Double(rowBytes)
        if threads > 1 && expandedBytes <= Double(bandBytes) * Double(threads) {
            let expandedFloats = band.batch * band.inputHeight * rowBytes / MemoryLayout<Float>.stride
            // Small images (the late blocks): splitting rows over threads would recompute a large share of the
            // expanded rows at the boundaries, and the whole expanded tensor stays in cache anyway.
            runInTwoPhases(band, source: source, destination: destination, expandedFloats: expandedFloats, pool: pool)
            return
        }
        // One contiguous range of output rows per thread: every task after the first recomputes its window's
        // overlap (one or two expanded rows). Measured at 2 threads, one range per thread beat three (which
        // balances better on shared cores) on MobileNetV2 1.0/0.5 and EfficientNet-Lite0.
        let workTasks = Int(min(work / Double(Parallelism.Granularity.dense.rawValue), Double(rows)))
        let tasks = threads > 1 ? max(1, min(threads, rows, workTasks)) : 1
        pool.parallelFor(tasks) { task in
            runTask(band, source: source, destination: destination, rows: Parallelism.split(rows, task, tasks), capacity: capacity)
        }
    }

    /// The unfused schedule on a scratch tensor: the expansion split by pixels, then the depthwise split by rows.
    private func runInTwoPhases(_ band: ConvolutionShape, source: UnsafePointer<Float>,
                                destination: UnsafeMutablePointer<Float>, expandedFloats: Int, pool: ThreadPool) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, expandedFloats) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        defer { raw.deallocate() }
        let expanded = raw.bindMemory(to: Float.self, capacity: max(1, expandedFloats))
        let expandActivation = expand.activation
        let depthwiseActivation = depthwise.activation
        let pixels = band.batch * band.inputHeight * band.inputWidth
        let expandTasks = Parallelism.taskCount(work: pixels * band.inputChannels * expand.inputChannelsPerGroup,
                                                granularity: .dense, threads: pool.threadCount, units: pixels)
        pool.parallelFor(expandTasks) { task in
            expandWeights.run(input: source, inputRowStride: expand.inputChannelsPerGroup, output: expanded,
                              outputRowStride: band.inputChannels, activation: expandActivation,
                              rows: Parallelism.split(pixels, task, expandTasks))
        }
        let rows = band.outputRowCount
        let depthwiseTasks = Parallelism.taskCount(work: band.outputElementCount * band.kernelHeight * band.kernelWidth,
                                                   granularity: .depthwise, threads: pool.threadCount, units: rows)
        pool.parallelFor(depthwiseTasks) { task in
            depthwiseWeights.run(shape: band, input: UnsafePointer(expanded), output: destination,
                                 activation: depthwiseActivation, rows: Parallelism.split(rows, task, depthwiseTasks))
        }
    }

    /// Computes the output rows `rows` (row = image * outputHeight + oh) with one sliding buffer of `capacity`
    /// expanded rows.
    private func runTask(_ band: ConvolutionShape, source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>,
                         rows: Range<Int>, capacity: Int) {
        guard !rows.isEmpty else { return }
        let rowFloats = band.inputWidth * band.inputChannels
        let bufferBytes = max(1, capacity * rowFloats) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bufferBytes, alignment: 64)
        defer { raw.deallocate() }
        let buffer = raw.bindMemory(to: Float.self, capacity: max(1, capacity * rowFloats))
        let expandActivation = expand.activation
        let depthwiseActivation = depthwise.activation
        var row = rows.lowerBound
        while row < rows.upperBound {
            let image = row / band.outputHeight
            let imageRowsEnd = min(rows.upperBound, (image + 1) * band.outputHeight) - image * band.outputHeight
            let imageInput = source + image * band.inputHeight * band.inputWidth * expand.inputChannelsPerGroup
            let imageOutput = destination + image * band.outputHeight * band.outputWidth * band.inputChannels
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
                while bandEnd < imageRowsEnd,
                      band.inputRows(outputRows: outputRow..<(bandEnd + 1)).upperBound - bufferStart <= capacity {
                    bandEnd += 1
                }
                let window = band.inputRows(outputRows: outputRow..<bandEnd)
                if window.upperBound > bufferEnd {
                    let newRows = window.upperBound - bufferEnd
                    expandWeights.run(input: imageInput + bufferEnd * band.inputWidth * expand.inputChannelsPerGroup,
                                      inputRowStride: expand.inputChannelsPerGroup,
                                      output: buffer + (bufferEnd - bufferStart) * rowFloats,
                                      outputRowStride: band.inputChannels, activation: expandActivation,
                                      rows: 0..<(newRows * band.inputWidth))
                    bufferEnd = window.upperBound
                }
                // The depthwise on the buffer as an image whose row 0 is window.lowerBound; its padding logic then
                // sees the real image's edges only (rows beyond the buffer are not read by these output rows).
                let firstInputRow = outputRow * band.strideHeight - band.padTop
                let virtualHeight = window.isEmpty ? 0 : bufferEnd - window.lowerBound
                let virtualPadTop = window.isEmpty ? 0 : window.lowerBound - firstInputRow
                var shape = band
                shape.batch = 1
                shape.inputHeight = virtualHeight
                shape.outputHeight = bandEnd - outputRow
                shape.padTop = virtualPadTop
                let virtualInput = window.isEmpty ? buffer : buffer + (window.lowerBound - bufferStart) * rowFloats
                depthwiseWeights.run(shape: shape, input: UnsafePointer(virtualInput),
                                     output: imageOutput + outputRow * band.outputWidth * band.inputChannels,
                                     activation: depthwiseActivation, rows: 0..<(bandEnd - outputRow))
                outputRow = bandEnd
            }
            row = image * band.outputHeight + imageRowsEnd
        }
    }
}
