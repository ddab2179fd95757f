// ConvTranspose with constant weights on NHWC tensors: a packed GEMM per group into columns, then col2im.

/// `activation(ConvTranspose(input, W, B))` on NHWC `[N, H, W, Cin]` -> `[N, OH, OW, Cout]`, 2-D, weights packed at
/// load. Built by `ConvTransposeOperator`'s constant-input packing; absorbs a following activation. Its reference
/// kernel is the oracle.
struct ChannelsLastConvTranspose: KernelOperator, ChannelsLastOperator, CostReporting, ConsumerFusing {
    /// The node's attributes (output size and pads come from the reference operator's layout).
    let reference: ConvTransposeOperator
    let kernel: TransposedConvolutionKernel
    var activation = Activation.none

    var channelsLastInputs: [Int] { [0] }

    private var weightShape: [Int] {
        [kernel.inputChannels, kernel.outputChannels / kernel.groups, kernel.kernelHeight, kernel.kernelWidth]
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X").type
        guard input.elementType == .float, let shape = input.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "channels-last ConvTranspose expects a float NHWC input, got \(input)")
        }
        guard let height = shape[1].value, let width = shape[2].value else {
            return [TensorType(elementType: .float, shape: [shape[0], .unknown, .unknown, .fixed(kernel.outputChannels)])]
        }
        let size = try reference.layout(input: [1, kernel.inputChannels, height, width], weight: weightShape).outputSize
        return [TensorType(elementType: .float,
                           shape: [shape[0], .fixed(size[0]), .fixed(size[1]), .fixed(kernel.outputChannels)])]
    }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let input = inputs.first??.fixedShape, let pixels = checkedElementCount(Array(input.prefix(3))) else {
            return nil
        }
        return pixels * kernel.inputChannels / kernel.groups * kernel.kernelHeight * kernel.kernelWidth
            * kernel.outputChannels
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let output = outputs[0]
        guard input.elementType == .float, input.rank == 4, input.shape[3] == kernel.inputChannels, output.rank == 4
        else {
            throw ONNXRunError(.invalidModel, "channels-last ConvTranspose shapes do not fit",
                               shapes: [input.description, output.description])
        }
        let (batch, height, width) = (input.shape[0], input.shape[1], input.shape[2])
        let layout = try reference.layout(input: [batch, kernel.inputChannels, height, width], weight: weightShape)
        guard output.shape == [batch, layout.outputSize[0], layout.outputSize[1], kernel.outputChannels] else {
            throw ONNXRunError(.invalidModel, "channels-last ConvTranspose output \(output) does not match "
                                   + "\(layout.outputSize)")
        }
        let strides = reference.window.strides ?? [1, 1], dilations = reference.window.dilations ?? [1, 1]
        let shape = ConvolutionShape(
            batch: batch, inputHeight: height, inputWidth: width, inputChannels: kernel.inputChannels,
            outputHeight: layout.outputSize[0], outputWidth: layout.outputSize[1],
            outputChannels: kernel.outputChannels, kernelHeight: kernel.kernelHeight, kernelWidth: kernel.kernelWidth,
            strideHeight: strides[0], strideWidth: strides[1], dilationHeight: dilations[0],
            dilationWidth: dilations[1], groups: kernel.groups)
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        let pixels = batch * height * width
        let columnCount = kernel.columnCount(inputPixels: pixels)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, columnCount) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        defer { raw.deallocate() }
        let columns = raw.bindMemory(to: Float.self, capacity: max(1, columnCount))
        let macs = pixels * (kernel.inputChannels / kernel.groups) * kernel.kernelHeight * kernel.kernelWidth
            * kernel.outputChannels
        let columnTasks = Parallelism.taskCount(work: macs, granularity: .dense, threads: pool.threadCount,
                                                units: pixels)
        pool.parallelFor(columnTasks) { task in
            for group in 0..<kernel.groups {
                kernel.computeColumns(input: source, columns: columns, group: group,
                                      pixels: Parallelism.split(pixels, task, columnTasks))
            }
        }
        let rows = shape.outputRowCount
        let rowTasks = Parallelism.taskCount(work: columnCount, granularity: .depthwise, threads: pool.threadCount,
                                             units: rows)
        pool.parallelFor(rowTasks) { task in
            kernel.accumulate(columns: UnsafePointer(columns), shape: shape, padTop: layout.padsBegin[0],
                              padLeft: layout.padsBegin[1], output: destination, activation: activation,
                              rows: Parallelism.split(rows, task, rowTasks))
        }
    }

    /// An activation with constant parameters (Relu, Clip, Sigmoid, ...) reading the output is applied in col2im's
    /// store.
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        guard let activationOperator = consumer.op as? ActivationOperator, consumer.producedInput == 0,
              activation.isNone, let fusedActivation = activationOperator.activation(consumer.inputs)
        else { return nil }
        var fused = self
        fused.activation = fusedActivation
        return FusedOperator(op: fused, opType: "ConvTransposeNHWC")
    }
}
