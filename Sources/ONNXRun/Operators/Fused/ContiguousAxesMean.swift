// The optimizer's ReduceMean over adjacent axes (Keras' squeeze-excite and global pooling reduce H and W of NHWC
// tensors), as column means in the vectorized C kernel.

import CKernels

/// `mean` of a float tensor over the axes `axes` (adjacent, ascending, known at load), read as `[outer, reduced,
/// inner]`: each outer slice is `reduced` rows of `inner` columns whose column means are the outputs. The reference
/// `ReduceOperator` is the oracle.
struct ContiguousAxesMean: KernelOperator {
    let axes: ClosedRange<Int>
    let keepDimensions: Bool

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        try requireFloat(data, "data")
        guard let shape = data.shape, axes.upperBound < shape.count else {
            throw ONNXRunError(.invalidModel, "mean over axes \(axes) does not fit \(data)")
        }
        return [TensorType(elementType: .float, shape: shape.indices.compactMap { axis in
            axes.contains(axis) ? (keepDimensions ? .fixed(1) : nil) : shape[axis]
        })]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let data = try requiredInput(inputs, 0, "data")
        let output = outputs[0]
        guard data.elementType == .float, output.elementType == .float, axes.upperBound < data.rank else {
            throw runtimeError("mean over axes \(axes) does not fit", [data, output])
        }
        let outer = product(data.shape[..<axes.lowerBound])
        let reduced = product(data.shape[axes])
        let inner = product(data.shape[(axes.upperBound + 1)...])
        guard output.elementCount == outer * inner else {
            throw runtimeError("mean over axes \(axes) does not fit", [data, output])
        }
        guard outer * inner > 0 else { return }
        let input = UnsafePointer(data.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        let tasks = Parallelism.taskCount(work: data.elementCount, granularity: .elementwise,
                                          threads: pool.threadCount, units: outer)
        pool.parallelFor(tasks) { task in
            for slice in Parallelism.split(outer, task, tasks) {
                ork_mean_rows(input + slice * reduced * inner, reduced, inner, destination + slice * inner)
            }
        }
    }
}

// MARK: - Optimizer hooks

extension ReduceOperator: ConstantInputPacking {
    /// A float ReduceMean whose axes are known at load and adjacent.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard reduction == .mean, let data = inputs.first??.type, data.elementType == .float,
              let rank = data.shape?.count, let axes = reducedAxes(inputs, rank: rank), let first = axes.first,
              let last = axes.last, last - first + 1 == axes.count
        else { return nil }
        return PackedOperator(op: ContiguousAxesMean(axes: first...last, keepDimensions: keepDimensions),
                              opType: "ContiguousAxesMean", remainingInputs: [0])
    }
}

extension ContiguousAxesMean: ChannelsLastAdaptable {
    /// ReduceMean over H and W of an NHWC tensor is its global average pool (squeeze-excite in exports that write it
    /// so); the result has the same bytes in either layout.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard channelsLast.first == true, inputs.first??.type.shape?.count == 4, axes == 2...3 else { return nil }
        let pooling = ChannelsLastPooling(kernel: PoolingKernel(reduction: .average), window: .global,
                                          keepsPooledAxes: keepDimensions)
        return ChannelsLastVariant(op: pooling,
                                   opType: "GlobalAveragePoolNHWC", channelsLastInputs: [0], outputIsChannelsLast: false)
    }
}
