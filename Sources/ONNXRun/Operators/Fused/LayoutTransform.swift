// Converts 4-D tensors between ONNX's NCHW and the convolution chain's NHWC, at the edges of that chain.

struct LayoutTransform: KernelOperator {
    enum Direction: Sendable {
        case toChannelsLast
        case toChannelsFirst
    }

    let direction: Direction

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard let shape = input.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "layout transform expects a 4-D input, got \(input)")
        }
        let permuted = direction == .toChannelsLast
            ? [shape[0], shape[2], shape[3], shape[1]] : [shape[0], shape[3], shape[1], shape[2]]
        return [TensorType(elementType: input.elementType, shape: permuted)]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "input")
        guard [.float, .uint8].contains(input.elementType), input.rank == 4 else {
            throw ONNXRunError(.unsupported, "layout transform of \(input)")
        }
        let shape = input.shape
        let batch = shape[0]
        let (channels, pixels) = direction == .toChannelsLast
            ? (shape[1], shape[2] * shape[3]) : (shape[3], shape[1] * shape[2])
        let (source, destination) = (UnsafeRawPointer(input.storage.bytes), outputs[0].storage.bytes)
        let direction = direction
        guard input.elementType == .float else {
            // Quantized models' edges: one task per image.
            pool.parallelFor(batch) { image in
                let images = image..<image + 1
                switch direction {
                case .toChannelsLast:
                    LayoutKernels.transposeToChannelsLast(
                        input: source.assumingMemoryBound(to: UInt8.self), channels: channels, pixelCount: pixels,
                        output: destination.assumingMemoryBound(to: UInt8.self), images: images)
                case .toChannelsFirst:
                    LayoutKernels.transposeToChannelsFirst(
                        input: source.assumingMemoryBound(to: UInt8.self), channels: channels, pixelCount: pixels,
                        output: destination.assumingMemoryBound(to: UInt8.self), images: images)
                }
            }
            return
        }
        // Ranges of pixels of one image per task: a model's input transform (one 224x224 image, ~35 µs, memory-bound)
        // is otherwise a serial step of every run.
        let tasks = Parallelism.taskCount(work: input.elementCount, granularity: .elementwise,
                                          threads: pool.threadCount, units: batch * pixels)
        let tasksPerImage = max(1, tasks / max(1, batch))
        pool.parallelFor(batch * tasksPerImage) { task in
            let images = (task / tasksPerImage)..<(task / tasksPerImage + 1)
            let range = Parallelism.split(pixels, task % tasksPerImage, tasksPerImage)
            switch direction {
            case .toChannelsLast:
                LayoutKernels.transposeToChannelsLast(
                    input: source.assumingMemoryBound(to: Float.self), channels: channels, pixelCount: pixels,
                    output: destination.assumingMemoryBound(to: Float.self), images: images, pixels: range)
            case .toChannelsFirst:
                LayoutKernels.transposeToChannelsFirst(
                    input: source.assumingMemoryBound(to: Float.self), channels: channels, pixelCount: pixels,
                    output: destination.assumingMemoryBound(to: Float.self), images: images, pixels: range)
            }
        }
    }
}

/// com.microsoft QLinearGlobalAveragePool reading NHWC uint8 and writing [N, C, 1, 1] (the same bytes as NHWC), with
/// MLAS's arithmetic: the integer sum minus x_zero_point * pixels, times x_scale / (y_scale * pixels), requantized.
struct ChannelsLastQuantizedGlobalAveragePool: KernelOperator {
    let inputScale: Float
    let inputZeroPoint: Int32
    let outputScale: Float
    let outputZeroPoint: Int32

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X").type
        guard input.elementType == .uint8, let shape = input.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "expects a uint8 NHWC input, got \(input)")
        }
        return [TensorType(elementType: .uint8, shape: [shape[0], shape[3], .fixed(1), .fixed(1)])]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let (batch, pixels, channels) = (input.shape[0], input.shape[1] * input.shape[2], input.shape[3])
        guard pixels > 0, pixels < 1 << 24 else {
            throw ONNXRunError(.unsupported, "QLinearGlobalAveragePool of \(input): image size out of range")
        }
        let scale = inputScale / (outputScale * Float(pixels))
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: UInt8.self))
        let destination = outputs[0].storage.bytes.assumingMemoryBound(to: UInt8.self)
        let (inputZero, outputZero) = (inputZeroPoint, outputZeroPoint)
        pool.parallelFor(batch) { image in
            LayoutKernels.quantizedGlobalAveragePool(input: source, pixelCount: pixels, channels: channels,
                                                     inputZeroPoint: inputZero, scale: scale,
                                                     outputZeroPoint: outputZero, output: destination,
                                                     images: image..<image + 1)
        }
    }
}

extension QuantizedGlobalAveragePoolOperator: ChannelsLastAdaptable {
    /// An NHWC uint8 input with constant per-tensor parameters is pooled directly (no transform back to NCHW).
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard !self.channelsLast, channelsLast.first == true, inputs.first??.type.elementType == .uint8,
              inputs.first??.type.shape?.count == 4, inputs.count >= 5, inputs[4]?.type.elementType == .uint8,
              let inputScale = perTensorFloat(inputs, 1), let inputZero = perTensorZeroPoint(inputs, 2),
              let outputScale = perTensorFloat(inputs, 3), let outputZero = perTensorZeroPoint(inputs, 4)
        else { return nil }
        return ChannelsLastVariant(
            op: ChannelsLastQuantizedGlobalAveragePool(inputScale: inputScale, inputZeroPoint: inputZero,
                                                       outputScale: outputScale, outputZeroPoint: outputZero),
            opType: "QLinearGlobalAveragePoolNHWC", channelsLastInputs: [0], outputIsChannelsLast: false)
    }
}
