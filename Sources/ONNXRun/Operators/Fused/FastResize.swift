// The optimizer's Resize: nearest or linear over the two spatial axes of a 4-D tensor, NCHW or NHWC, with at most
// two taps per axis computed once per call by the reference operator's own coordinate code.

/// Resize whose batch and channel axes stay as they are. `resize` is the node's operator (its attributes) and
/// `scales`/`sizes` its constant inputs, so output sizes and taps are exactly the reference's.
struct FastResize: KernelOperator {
    let resize: ResizeOperator
    let scales: [Double]?
    let sizes: [Int]?
    var isChannelsLast = false

    /// Per output coordinate of one axis: two input indices and their weights (a single tap has weight 0 on the
    /// second index).
    private struct AxisTaps {
        var first: [Int] = []
        var second: [Int] = []
        var firstWeight: [Float] = []
        var secondWeight: [Float] = []
    }

    /// The NCHW shape of an input shape in this operator's layout, and back.
    private func channelsFirst(_ shape: [Int]) -> [Int] {
        isChannelsLast ? [shape[0], shape[3], shape[1], shape[2]] : shape
    }

    private func ownLayout(_ shape: [Int]) -> [Int] {
        isChannelsLast ? [shape[0], shape[2], shape[3], shape[1]] : shape
    }

    private func layout(_ shape: [Int]) throws -> ResizeOperator.Layout {
        try resize.layout(channelsFirst(shape), roi: nil, scales: scales, sizes: sizes)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        guard let shape = x.shape, shape.count == 4 else {
            throw ONNXRunError(.invalidModel, "fast Resize expects a 4-D input, got \(x)")
        }
        guard let fixed = x.fixedShape else { return [TensorType(elementType: .float, shape: shape.map { _ in .unknown })] }
        return [TensorType(elementType: .float, fixedShape: ownLayout(try layout(fixed).outputShape))]
    }

    /// The taps of one spatial axis (2 = height, 3 = width in NCHW terms).
    private func taps(axis: Int, layout: ResizeOperator.Layout, inputLength: Int) throws -> AxisTaps {
        var result = AxisTaps()
        let outputLength = layout.outputShape[axis]
        for output in 0..<outputLength {
            guard let list = resize.taps(output: output, inputLength: inputLength, outputLength: outputLength,
                                         scale: layout.scales[axis], roiStart: 0, roiEnd: 1), list.count <= 2 else {
                throw ONNXRunError(.unsupported, "fast Resize needs at most two taps per axis")
            }
            // No tap (a degenerate coordinate): the reference writes 0, as weights 0 on index 0 do.
            let first = list.first ?? (index: 0, weight: 0)
            let second = list.count > 1 ? list[1] : (index: first.index, weight: 0)
            result.first.append(first.index)
            result.second.append(second.index)
            result.firstWeight.append(Float(first.weight))
            result.secondWeight.append(Float(second.weight))
        }
        return result
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let x = try requiredInput(inputs, 0, "X")
        guard x.elementType == .float, x.rank == 4 else { throw runtimeError("fast Resize expects a 4-D float input", [x]) }
        let nchw = channelsFirst(x.shape)
        let layout = try layout(x.shape)
        let outputShape = layout.outputShape
        guard outputShape[0] == nchw[0], outputShape[1] == nchw[1], outputs[0].shape == ownLayout(outputShape) else {
            throw runtimeError("fast Resize output \(describeShape(outputShape)) does not fit", [x])
        }
        guard x.elementCount > 0 || outputs[0].elementCount == 0 else {
            throw runtimeError("cannot resize an empty tensor", [x])
        }
        let rows = try taps(axis: 2, layout: layout, inputLength: nchw[2])
        let columns = try taps(axis: 3, layout: layout, inputLength: nchw[3])
        let (images, channels, inputHeight, inputWidth) = (nchw[0], nchw[1], nchw[2], nchw[3])
        let (outputHeight, outputWidth) = (outputShape[2], outputShape[3])
        let input = UnsafePointer(x.storage.bytes.assumingMemoryBound(to: Float.self))
        let output = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        // Work units: output rows of every image (NHWC) or of every plane (NCHW).
        let planes = isChannelsLast ? images : images * channels
        let units = planes * outputHeight
        let tasks = max(1, min(pool.threadCount * 3, units, outputs[0].elementCount / 16_384))
        pool.parallelFor(tasks) { task in
            for unit in Parallelism.split(units, task, tasks) {
                let plane = unit / outputHeight, y = unit % outputHeight
                let (top, bottom) = (rows.first[y], rows.second[y])
                let (topWeight, bottomWeight) = (rows.firstWeight[y], rows.secondWeight[y])
                if isChannelsLast {
                    let image = input + plane * inputHeight * inputWidth * channels
                    let topRow = image + top * inputWidth * channels, bottomRow = image + bottom * inputWidth * channels
                    var destination = output + (plane * outputHeight + y) * outputWidth * channels
                    for column in 0..<outputWidth {
                        let (left, right) = (columns.first[column] * channels, columns.second[column] * channels)
                        let (leftWeight, rightWeight) = (columns.firstWeight[column], columns.secondWeight[column])
                        let (a, b) = (topWeight * leftWeight, topWeight * rightWeight)
                        let (c, d) = (bottomWeight * leftWeight, bottomWeight * rightWeight)
                        for channel in 0..<channels {
                            destination[channel] = a * topRow[left + channel] + b * topRow[right + channel]
                                + c * bottomRow[left + channel] + d * bottomRow[right + channel]
                        }
                        destination += channels
                    }
                } else {
                    let source = input + plane * inputHeight * inputWidth
                    let topRow = source + top * inputWidth, bottomRow = source + bottom * inputWidth
                    let destination = output + (plane * outputHeight + y) * outputWidth
                    for column in 0..<outputWidth {
                        let (left, right) = (columns.first[column], columns.second[column])
                        let (leftWeight, rightWeight) = (columns.firstWeight[column], columns.secondWeight[column])
                        destination[column] = topWeight * (leftWeight * topRow[left] + rightWeight * topRow[right])
                            + bottomWeight * (leftWeight * bottomRow[left] + rightWeight * bottomRow[right])
                    }
                }
            }
        }
    }
}

extension FastResize: ChannelsLastAdaptable {
    /// Reads and writes NHWC when its input already is (a detector's upsampling between convs).
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard !isChannelsLast, channelsLast.first == true else { return nil }
        var variant = self
        variant.isChannelsLast = true
        return ChannelsLastVariant(op: variant, opType: "FastResizeNHWC", channelsLastInputs: [0],
                                   outputIsChannelsLast: true)
    }
}
