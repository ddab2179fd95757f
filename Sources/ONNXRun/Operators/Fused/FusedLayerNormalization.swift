// The optimizer's layer normalization: LayerNormalization with constant Scale/B, and the ReduceMean/Sub/Pow/
// ReduceMean/Add/Sqrt/Div(/Mul/Add) chain exporters write for it, as one pass per row in the C kernel.

import CKernels

/// `y = (x - mean) / sqrt(variance + epsilon) * scale + bias` over the trailing axes from `axis` on, flattened to
/// `scale.count` elements per row.
struct FusedLayerNormalization: KernelOperator {
    /// First normalized axis; negative counts from the end.
    let axis: Int
    let epsilon: Float
    let scale: [Float]
    let bias: [Float]?

    init(axis: Int, epsilon: Float, scale: [Float], bias: [Float]?) throws {
        try requireKernelArgument(!scale.isEmpty && (bias == nil || bias?.count == scale.count),
                                  "layer normalization needs scale and bias of one positive size")
        self.axis = axis
        self.epsilon = epsilon
        self.scale = scale
        self.bias = bias
    }

    /// The number of elements per row an input of `shape` has, when `axis` is in range.
    private func rowSize(_ shape: [Int]) -> Int? {
        normalizedAxis(axis, rank: shape.count).map { product(shape[$0...]) }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        if let shape = x.fixedShape, rowSize(shape) != scale.count {
            throw ONNXRunError(.invalidModel, "layer normalization of \(scale.count) elements per row from axis "
                                   + "\(axis) does not fit \(x)")
        }
        return [x]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let x = try requiredInput(inputs, 0, "X")
        let size = scale.count
        guard x.elementType == .float, rowSize(x.shape) == size, outputs[0].shape == x.shape else {
            throw runtimeError("layer normalization of \(size) elements per row from axis \(axis) does not fit", [x])
        }
        let rows = x.elementCount / size
        let input = UnsafePointer(x.storage.bytes.assumingMemoryBound(to: Float.self))
        let output = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        // A few flops per element: as light per element as a depthwise MAC.
        let tasks = Parallelism.taskCount(work: rows * size, granularity: .depthwise, threads: pool.threadCount,
                                          units: rows)
        scale.withUnsafeBufferPointer { scaleValues in
            withOptionalBufferPointer(bias) { biasValues in
                let arguments = ork_layer_norm_args(size: size, input: input, scale: scaleValues.baseAddress,
                                                    bias: biasValues?.baseAddress, output: output, epsilon: epsilon)
                pool.parallelFor(tasks) { task in
                    let range = Parallelism.split(rows, task, tasks)
                    withUnsafePointer(to: arguments) { ork_layer_norm($0, range.lowerBound, range.upperBound) }
                }
            }
        }
    }
}
