// Concat, Split and Slice along one axis as block copies into the planned buffers: the channels-last variants of
// those operators (the channel axis of NHWC is the last one, so each pixel contributes one block per tensor).

/// A tensor seen as `[outer, length, inner]` around one axis, `inner` counted in bytes; its own elements start at
/// `first` along the axis (a channel window of wider rows: the axis is the last one, `length` the row stride).
private struct AxisView {
    let outer: Int
    let length: Int
    let innerBytes: Int
    let first: Int

    init(_ shape: [Int], axis: Int, elementSize: Int, window: ChannelWindow? = nil) {
        outer = product(shape[..<axis])
        length = window?.rowStride ?? shape[axis]
        innerBytes = product(shape[(axis + 1)...]) * elementSize
        first = window?.offset ?? 0
    }
}

/// Copies `count` slices along the axis, from `sourceStart` in `source` to `destinationStart` in `destination`,
/// for every outer index; outer indices are split over the pool when there is enough to copy.
private func copySlices(from source: UnsafeRawPointer, _ sourceView: AxisView, start sourceStart: Int,
                        to destination: UnsafeMutableRawPointer, _ destinationView: AxisView,
                        start destinationStart: Int, count: Int, pool: ThreadPool) {
    let block = count * sourceView.innerBytes
    guard block > 0, sourceView.outer > 0 else { return }
    let sourceStride = sourceView.length * sourceView.innerBytes
    let destinationStride = destinationView.length * destinationView.innerBytes
    let sourceBase = source + (sourceView.first + sourceStart) * sourceView.innerBytes
    let destinationBase = destination + (destinationView.first + destinationStart) * destinationView.innerBytes
    // Copies are memory-bound: a task is worth it from about 64 KiB on.
    let tasks = max(1, min(pool.threadCount * 2, sourceView.outer, sourceView.outer * block / 65_536))
    pool.parallelFor(tasks) { task in
        for index in Parallelism.split(sourceView.outer, task, tasks) {
            (destinationBase + index * destinationStride).copyMemory(from: sourceBase + index * sourceStride,
                                                                     byteCount: block)
        }
    }
}

/// Concat along `axis` (non-negative) of tensors whose other axes agree.
struct AxisConcat: AxisConcatenating {
    let axis: Int

    var concatenationAxis: Int { axis }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        try ConcatOperator(axis: axis).inferOutputs(inputs)
    }

    /// Reads channel windows along its own axis when that is the last one.
    func readsChannelWindow(input position: Int, rank: Int) -> Bool { axis == rank - 1 }
    func writesChannelWindow(rank: Int) -> Bool { false }

    /// An input the planner placed in this output's buffer at its own columns is already there.
    func execute(_ inputs: [Tensor?], inputWindows: [ChannelWindow?], into outputs: [Tensor],
                 outputWindow: ChannelWindow?, pool: ThreadPool) throws {
        let tensors = try inputs.indices.map { try requiredInput(inputs, $0, "inputs") }
        let output = outputs[0]
        guard axis < output.rank, tensors.allSatisfy({ tensor in
            tensor.elementType == output.elementType && tensor.rank == output.rank
                && (0..<output.rank).allSatisfy { $0 == axis || tensor.shape[$0] == output.shape[$0] }
        }), tensors.reduce(0, { $0 + $1.shape[axis] }) == output.shape[axis], outputWindow == nil,
              inputWindows.allSatisfy({ $0 == nil }) || axis == output.rank - 1 else {
            throw runtimeError("inputs do not concatenate along axis \(axis) into \(output)", inputs)
        }
        let size = output.elementType.byteSize
        let destinationView = AxisView(output.shape, axis: axis, elementSize: size)
        var offset = 0
        for (position, tensor) in tensors.enumerated() {
            let window = position < inputWindows.count ? inputWindows[position] : nil
            let inPlace = tensor.storage === output.storage
                && window == ChannelWindow(offset: offset, rowStride: output.shape[axis])
            if !inPlace {
                copySlices(from: tensor.storage.bytes,
                           AxisView(tensor.shape, axis: axis, elementSize: size, window: window), start: 0,
                           to: output.storage.bytes, destinationView, start: offset, count: tensor.shape[axis],
                           pool: pool)
            }
            offset += tensor.shape[axis]
        }
    }
}

/// Split along `axis` (non-negative) into pieces of the given sizes.
struct AxisSplit: KernelOperator {
    let axis: Int
    let sizes: [Int]

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard let shape = input.shape, axis < shape.count,
              shape[axis].value.map({ $0 == sizes.reduce(0, +) }) ?? true else {
            throw ONNXRunError(.invalidModel, "\(input) does not split into \(sizes) along axis \(axis)")
        }
        return sizes.map { size in
            var piece = shape
            piece[axis] = .fixed(size)
            return TensorType(elementType: input.elementType, shape: piece)
        }
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "input")
        guard axis < input.rank, input.shape[axis] == sizes.reduce(0, +), outputs.count == sizes.count else {
            throw runtimeError("input does not split into \(sizes) along axis \(axis)", inputs)
        }
        let size = input.elementType.byteSize
        let sourceView = AxisView(input.shape, axis: axis, elementSize: size)
        var offset = 0
        for (output, count) in zip(outputs, sizes) {
            copySlices(from: input.storage.bytes, sourceView, start: offset, to: output.storage.bytes,
                       AxisView(output.shape, axis: axis, elementSize: size), start: 0, count: count, pool: pool)
            offset += count
        }
    }
}

/// Slice of `count` elements from `start` with step 1 along `axis` (non-negative), every other axis whole.
struct AxisSlice: ChannelWindowOperator {
    let axis: Int
    let start: Int
    let count: Int

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        guard var shape = data.shape, axis < shape.count, shape[axis].value.map({ start + count <= $0 }) ?? true else {
            throw ONNXRunError(.invalidModel, "\(data) has no range \(start)..<\(start + count) on axis \(axis)")
        }
        shape[axis] = .fixed(count)
        return [TensorType(elementType: data.elementType, shape: shape)]
    }

    func readsChannelWindow(input position: Int, rank: Int) -> Bool { false }

    /// A slice of the last axis may be copied straight into a Concat's buffer (ShuffleNet's kept half).
    func writesChannelWindow(rank: Int) -> Bool { axis == rank - 1 }

    func execute(_ inputs: [Tensor?], inputWindows: [ChannelWindow?], into outputs: [Tensor],
                 outputWindow: ChannelWindow?, pool: ThreadPool) throws {
        let data = try requiredInput(inputs, 0, "data")
        guard axis < data.rank, start + count <= data.shape[axis], inputWindows.allSatisfy({ $0 == nil }),
              outputWindow == nil || writesChannelWindow(rank: outputs[0].rank) else {
            throw runtimeError("no range \(start)..<\(start + count) on axis \(axis)", inputs)
        }
        let size = data.elementType.byteSize
        copySlices(from: data.storage.bytes, AxisView(data.shape, axis: axis, elementSize: size), start: start,
                   to: outputs[0].storage.bytes,
                   AxisView(outputs[0].shape, axis: axis, elementSize: size, window: outputWindow), start: 0,
                   count: count, pool: pool)
    }
}

/// The NHWC axis holding NCHW axis `axis` of a 4-D tensor (channels last, spatial axes one earlier).
func channelsLastAxis(_ axis: Int) -> Int {
    [0, 3, 1, 2][axis]
}
