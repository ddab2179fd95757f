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

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        let type = try inferOutputs([InferenceValue(type: TensorType(elementType: input.elementType, fixedShape: input.shape))])[0]
        let output = Tensor(zeros: input.elementType, shape: type.fixedShape ?? [])
        try execute(inputs, into: [output], pool: ThreadPool(threadCount: 1))
        return [output]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "input")
        guard input.elementType == .float, input.rank == 4 else {
            throw ONNXRunError(.unsupported, "layout transform of \(input)")
        }
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        let shape = input.shape
        switch direction {
        case .toChannelsLast:
            let (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3])
            pool.parallelFor(batch * height) { row in
                let image = row / height, y = row % height
                for x in 0..<width {
                    let out = ((image * height + y) * width + x) * channels
                    for channel in 0..<channels {
                        destination[out + channel] = source[((image * channels + channel) * height + y) * width + x]
                    }
                }
            }
        case .toChannelsFirst:
            let (batch, height, width, channels) = (shape[0], shape[1], shape[2], shape[3])
            pool.parallelFor(batch * channels) { plane in
                let image = plane / channels, channel = plane % channels
                let out = plane * height * width
                for position in 0..<height * width {
                    destination[out + position] = source[(image * height * width + position) * channels + channel]
                }
            }
        }
    }
}

/// GlobalAveragePool reading NHWC and writing [N, C, 1, 1] — the same bytes as NHWC [N, 1, 1, C], so the chain
/// leaves channels-last here without a transform.
struct ChannelsLastGlobalAveragePool: KernelOperator {
    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X").type
        guard input.elementType == .float, let shape = input.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "expects a float NHWC input, got \(input)")
        }
        return [TensorType(elementType: .float, shape: [shape[0], shape[3], .fixed(1), .fixed(1)])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "X")
        let output = Tensor(zeros: .float, shape: [input.shape[0], input.shape[3], 1, 1])
        try execute(inputs, into: [output], pool: ThreadPool(threadCount: 1))
        return [output]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let (batch, height, width, channels) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        let scale = 1 / Float(max(height * width, 1))
        for image in 0..<batch {
            let out = destination + image * channels
            out.update(repeating: 0, count: channels)
            let base = source + image * height * width * channels
            for position in 0..<height * width {
                let pixel = base + position * channels
                for channel in 0..<channels { out[channel] += pixel[channel] }
            }
            for channel in 0..<channels { out[channel] *= scale }
        }
    }
}
