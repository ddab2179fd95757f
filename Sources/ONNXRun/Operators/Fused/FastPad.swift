// The optimizer's Pad of float tensors (the Pads no convolution absorbs: nonzero value, reflect, edge, channel
// axes, several readers), as row copies in any layout.

/// Pads known at load (ONNX order over all axes, not negative) in constant, reflect or edge mode. Each output row
/// (along the last axis) is the fill value, or an input row copied whole into its middle with its borders mapped
/// element by element; an NHWC variant pads the same tensor with its pads permuted. The reference `PadOperator` is
/// the oracle.
struct FastPad: KernelOperator {
    let mode: PadOperator.Mode
    let pads: [Int]
    let value: Float

    private var rank: Int { pads.count / 2 }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        try requireFloat(data, "data")
        guard let shape = data.shape, shape.count == rank else {
            throw ONNXRunError(.invalidModel, "pads \(pads) do not fit \(data)")
        }
        return [TensorType(elementType: .float, shape: shape.indices.map { axis in
            let added = pads[axis] + pads[rank + axis]
            if added == 0 { return shape[axis] }
            return shape[axis].value.map { .fixed($0 + added) } ?? .unknown
        })]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let data = try requiredInput(inputs, 0, "data")
        let output = outputs[0]
        guard data.elementType == .float, output.elementType == .float, data.rank == rank,
              output.shape == data.shape.indices.map({ data.shape[$0] + pads[$0] + pads[rank + $0] }),
              mode == .constant || data.shape.indices.allSatisfy({ data.shape[$0] > 0 || output.shape[$0] == 0 })
        else { throw runtimeError("pads \(pads) (\(mode)) do not fit", [data, output]) }
        guard output.elementCount > 0 else { return }
        let maps = (0..<rank).map { axis in
            mode.sourceCoordinates(outputSize: output.shape[axis], inputSize: data.shape[axis], begin: pads[axis])
        }
        let width = output.shape[rank - 1], inputWidth = data.shape[rank - 1], begin = pads[rank - 1]
        let rows = output.elementCount / width
        let outerShape = Array(output.shape.dropLast())
        let inputStrides = contiguousStrides(data.shape)
        let source = UnsafePointer(data.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        let value = value
        let tasks = Parallelism.taskCount(work: output.elementCount, granularity: .elementwise,
                                          threads: pool.threadCount, units: rows)
        pool.parallelFor(tasks) { task in
            for row in Parallelism.split(rows, task, tasks) {
                let target = destination + row * width
                // The input row this output row copies, or nil when it is all fill.
                var remaining = row, offset: Int? = 0
                for axis in outerShape.indices.reversed() {
                    let coordinate = remaining % outerShape[axis]
                    remaining /= outerShape[axis]
                    if let mapped = maps[axis][coordinate], let sum = offset { offset = sum + mapped * inputStrides[axis] }
                    else { offset = nil }
                }
                guard let offset else {
                    target.update(repeating: value, count: width)
                    continue
                }
                let inputRow = source + offset
                // Only the borders map element by element; the middle is the input row.
                for column in 0..<begin {
                    target[column] = maps[rank - 1][column].map { inputRow[$0] } ?? value
                }
                for column in (begin + inputWidth)..<width {
                    target[column] = maps[rank - 1][column].map { inputRow[$0] } ?? value
                }
                (target + begin).update(from: inputRow, count: inputWidth)
            }
        }
    }
}

// MARK: - Optimizer hooks

extension FastPad: ChannelsLastAdaptable {
    /// An NHWC input padded as NHWC: the same pads, permuted with the axes.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard channelsLast.first == true, rank == 4 else { return nil }
        let order = [0, 2, 3, 1]
        let permuted = FastPad(mode: mode, pads: order.map { pads[$0] } + order.map { pads[4 + $0] }, value: value)
        return ChannelsLastVariant(op: permuted, opType: "FastPadNHWC", channelsLastInputs: [0],
                                   outputIsChannelsLast: true)
    }
}
