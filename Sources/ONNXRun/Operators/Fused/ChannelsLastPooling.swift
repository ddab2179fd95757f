// MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool on NHWC tensors: the pooling operators' channels-last
// variants, so a convolution chain goes on through its pools without layout transforms.

/// Pooling of an NHWC `[N, H, W, C]` tensor. A sliding window writes NHWC `[N, OH, OW, C]`; a global pool writes
/// `[N, C, 1, 1]`, the same bytes as NHWC `[N, 1, 1, C]`, so the chain may leave channels-last there for free.
/// The reference `PoolOperator` / `GlobalPoolOperator` are the oracle.
struct ChannelsLastPooling: ChannelWindowOperator {
    enum Window: Sendable {
        /// One window over the whole image.
        case global
        /// ONNX's kernel_shape, strides, dilations, pads / auto_pad and ceil_mode.
        case sliding(WindowAttributes, kernelShape: [Int], ceilMode: Bool)
    }

    let kernel: PoolingKernel
    let window: Window
    /// A global pool's output keeps the pooled axes as 1s ([N, C, 1, 1]) or drops them ([N, C], ReduceMean with
    /// keepdims = 0): the same bytes either way.
    var keepsPooledAxes = true

    private func shape(input: [Int]) throws -> ConvolutionShape {
        let (batch, height, width, channels) = (input[0], input[1], input[2], input[3])
        switch window {
        case .global:
            return ConvolutionShape(batch: batch, inputHeight: height, inputWidth: width, inputChannels: channels,
                                    outputHeight: 1, outputWidth: 1, outputChannels: channels, kernelHeight: height,
                                    kernelWidth: width)
        case .sliding(let attributes, let kernelShape, let ceilMode):
            let geometry = try attributes.geometry(inputSize: [height, width], kernelSize: kernelShape,
                                                   ceilMode: ceilMode)
            return ConvolutionShape(batch: batch, inputChannels: channels, outputChannels: channels,
                                    geometry: geometry)
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X").type
        guard input.elementType == .float, let dimensions = input.shape, dimensions.count == 4 else {
            throw ONNXRunError(.invalidModel, "channels-last pooling expects a float NHWC input, got \(input)")
        }
        switch window {
        case .global:
            return [TensorType(elementType: .float,
                               shape: [dimensions[0], dimensions[3]] + (keepsPooledAxes ? [.fixed(1), .fixed(1)] : []))]
        case .sliding(let attributes, let kernelShape, let ceilMode):
            let spatial = try attributes.inferredOutputSize(inputSize: [dimensions[1], dimensions[2]],
                                                            kernelSize: kernelShape, ceilMode: ceilMode)
            return [TensorType(elementType: .float, shape: [dimensions[0], spatial[0], spatial[1], dimensions[3]])]
        }
    }

    func readsChannelWindow(input position: Int, rank: Int) -> Bool { false }

    /// A sliding window's output may go to a channel window of wider pixel rows (DenseNet's pooled transition
    /// output placed in the next block's concat).
    func writesChannelWindow(rank: Int) -> Bool {
        if case .sliding = window { return true }
        return false
    }

    func execute(_ inputs: [Tensor?], inputWindows: [ChannelWindow?], into outputs: [Tensor],
                 outputWindow: ChannelWindow?, pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let output = outputs[0]
        guard input.elementType == .float, input.rank == 4, output.rank == 4 || (output.rank == 2 && !keepsPooledAxes),
              input.shape[3] > 0, inputWindows.allSatisfy({ $0 == nil }),
              outputWindow == nil || writesChannelWindow(rank: output.rank)
        else {
            throw ONNXRunError(.invalidModel, "channels-last pooling shapes do not fit",
                               shapes: [input.description, output.description])
        }
        var shape = try self.shape(input: input.shape)
        guard output.elementCount == shape.outputElementCount, shape.isValid else {
            throw ONNXRunError(.invalidModel, "channels-last pooling output \(output) does not match \(shape)")
        }
        shape.outputPixelStride = outputWindow?.rowStride ?? 0
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self) + (outputWindow?.offset ?? 0)
        let rows = shape.outputRowCount
        let tasks = Parallelism.taskCount(work: shape.outputElementCount * shape.kernelHeight * shape.kernelWidth,
                                          granularity: .depthwise, threads: pool.threadCount, units: rows)
        pool.parallelFor(tasks) { task in
            kernel.run(shape: shape, input: source, output: destination, rows: Parallelism.split(rows, task, tasks))
        }
    }
}
