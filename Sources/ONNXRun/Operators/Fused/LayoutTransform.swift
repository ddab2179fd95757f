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
        guard input.elementType == .float, input.rank == 4 else {
            throw ONNXRunError(.unsupported, "layout transform of \(input)")
        }
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        let shape = input.shape
        let batch = shape[0]
        let pixels = direction == .toChannelsLast ? shape[2] * shape[3] : shape[1] * shape[2]
        // Images are independent; a single image is one task (the transform is a small share of a run).
        pool.parallelFor(batch) { image in
            switch direction {
            case .toChannelsLast:
                LayoutKernels.transposeToChannelsLast(input: source, channels: shape[1], pixelCount: pixels,
                                                      output: destination, images: image..<image + 1)
            case .toChannelsFirst:
                LayoutKernels.transposeToChannelsFirst(input: source, channels: shape[3], pixelCount: pixels,
                                                       output: destination, images: image..<image + 1)
            }
        }
    }
}
