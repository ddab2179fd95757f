// ShuffleNet's channel shuffle (Reshape to [N, g, C/g, H, W], Transpose(0, 2, 1, 3, 4), Reshape back) as one pass,
// in NCHW or, as its channels-last variant, NHWC.

/// Output channel `j * groups + i` is input channel `i * (C / groups) + j` of a 4-D tensor.
struct ChannelShuffle: KernelOperator {
    let groups: Int
    /// Whether the tensors are NHWC (the variant inside a channels-last chain).
    var isChannelsLast = false

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        guard let shape = x.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "channel shuffle expects a 4-D input, got \(x)")
        }
        if let channels = shape[isChannelsLast ? 3 : 1].value, channels % groups != 0 {
            throw ONNXRunError(.invalidModel, "\(channels) channels do not split into \(groups) groups")
        }
        return [x]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let x = try requiredInput(inputs, 0, "X")
        guard x.rank == 4, outputs[0].shape == x.shape, x.shape[isChannelsLast ? 3 : 1] % groups == 0 else {
            throw runtimeError("channel shuffle in \(groups) groups does not fit", [x])
        }
        let size = x.elementType.byteSize
        let channels = x.shape[isChannelsLast ? 3 : 1], perGroup = channels / groups
        let source = UnsafeRawPointer(x.storage.bytes), destination = outputs[0].storage.bytes
        if isChannelsLast {
            let pixels = x.shape[0] * x.shape[1] * x.shape[2]
            let tasks = max(1, min(pool.threadCount, pixels * channels * size / 65_536))
            switch size {
            case 4: shuffleChannelsLast(UInt32.self, source, destination, pixels: pixels, perGroup: perGroup, tasks, pool)
            case 8: shuffleChannelsLast(UInt64.self, source, destination, pixels: pixels, perGroup: perGroup, tasks, pool)
            case 2: shuffleChannelsLast(UInt16.self, source, destination, pixels: pixels, perGroup: perGroup, tasks, pool)
            default: shuffleChannelsLast(UInt8.self, source, destination, pixels: pixels, perGroup: perGroup, tasks, pool)
            }
            return
        }
        // NCHW: whole planes move.
        let plane = x.shape[2] * x.shape[3] * size
        let images = x.shape[0]
        pool.parallelFor(images) { image in
            let base = image * channels * plane
            for group in 0..<groups {
                for index in 0..<perGroup {
                    (destination + base + (index * groups + group) * plane).copyMemory(
                        from: source + base + (group * perGroup + index) * plane, byteCount: plane)
                }
            }
        }
    }
}

extension ChannelShuffle {
    /// Per pixel a [groups, perGroup] -> [perGroup, groups] transpose of `Element`s (the element's bit pattern).
    private func shuffleChannelsLast<Element>(_: Element.Type, _ source: UnsafeRawPointer,
                                              _ destination: UnsafeMutableRawPointer, pixels: Int, perGroup: Int,
                                              _ tasks: Int, _ pool: ThreadPool) {
        let channels = groups * perGroup
        let from = source.assumingMemoryBound(to: Element.self)
        let to = destination.assumingMemoryBound(to: Element.self)
        pool.parallelFor(tasks) { task in
            for pixel in Parallelism.split(pixels, task, tasks) {
                let input = from + pixel * channels, output = to + pixel * channels
                for group in 0..<groups {
                    for index in 0..<perGroup { output[index * groups + group] = input[group * perGroup + index] }
                }
            }
        }
    }
}

extension ChannelShuffle: ChannelsLastAdaptable {
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard !isChannelsLast, channelsLast.first == true else { return nil }
        return ChannelsLastVariant(op: ChannelShuffle(groups: groups, isChannelsLast: true),
                                   opType: "ChannelShuffleNHWC", channelsLastInputs: [0], outputIsChannelsLast: true)
    }
}
