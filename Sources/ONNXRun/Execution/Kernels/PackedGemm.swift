// The optimizer's Gemm/MatMul with constant B: Y = A * B + bias, B packed once for the GEMM micro-kernel.

import CKernels

/// `Y[M, N] = A[M, K] * B[K, N] + bias[N]`, A float 2-D, B packed at load (alpha folded into B, beta * C into bias).
struct PackedGemm: KernelOperator {
    let depth: Int
    let columns: Int
    let packed: AlignedFloatBuffer

    /// - Parameters:
    ///   - b: the constant B as ONNX gives it; `transposed` when it is [N, K] (Gemm transB = 1).
    ///   - bias: N floats (beta * C already applied), or nil.
    init(b: Tensor, transposed: Bool, alpha: Float, bias: [Float]?) {
        depth = transposed ? b.shape[1] : b.shape[0]
        columns = transposed ? b.shape[0] : b.shape[1]
        let scaled = alpha == 1 ? b.floats : b.floats.map { $0 * alpha }
        let (depth, columns) = (depth, columns)
        packed = AlignedFloatBuffer(count: ork_gemm_packed_size(depth, columns))
        let destination = packed.pointer
        scaled.withUnsafeBufferPointer { weights in
                if let bias {
                    bias.withUnsafeBufferPointer { biasBuffer in
                        if transposed {
                            ork_gemm_pack_nk(weights.baseAddress, depth, columns, biasBuffer.baseAddress, destination)
                        } else {
                            ork_gemm_pack_kn(weights.baseAddress, depth, columns, biasBuffer.baseAddress, destination)
                        }
                    }
                } else if transposed {
                    ork_gemm_pack_nk(weights.baseAddress, depth, columns, nil, destination)
                } else {
                    ork_gemm_pack_kn(weights.baseAddress, depth, columns, nil, destination)
                }
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type
        guard a.elementType == .float, let shape = a.shape, shape.count == 2 else {
            throw ONNXRunError(.invalidModel, "packed Gemm expects a float 2-D A, got \(a)")
        }
        if let k = shape[1].value, k != depth {
            throw ONNXRunError(.invalidModel, "A has \(k) columns, B has \(depth) rows")
        }
        return [TensorType(elementType: .float, shape: [shape[0], .fixed(columns)])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let a = try requiredInput(inputs, 0, "A")
        guard a.rank == 2 else { throw ONNXRunError(.invalidModel, "packed Gemm expects a 2-D A, got \(a)") }
        let output = Tensor(zeros: .float, shape: [a.shape[0], columns])
        try execute(inputs, into: [output], pool: ThreadPool(threadCount: 1))
        return [output]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let a = try requiredInput(inputs, 0, "A")
        guard a.rank == 2, a.shape[1] == depth, outputs[0].shape == [a.shape[0], columns] else {
            throw ONNXRunError(.invalidModel, "packed Gemm shapes do not fit", shapes: [a.description])
        }
        let arguments = ork_gemm_args(
            k: depth, n: columns, a: UnsafePointer(a.storage.bytes.assumingMemoryBound(to: Float.self)),
            a_row_stride: depth, packed_b: UnsafePointer(packed.pointer), residual: nil, residual_row_stride: 0,
            c: outputs[0].storage.bytes.assumingMemoryBound(to: Float.self), c_row_stride: columns,
            min: -.infinity, max: .infinity)
        let rows = a.shape[0]
        // The classifier has one row per image: split the columns instead, by whole 16-column panels
        // (each panel is [16 bias][depth x 16 weights] in the packed layout).
        let panels = (columns + 15) / 16
        let tasks = taskCount(work: rows * depth * columns, threads: pool.threadCount, minimum: 1 << 16, units: panels)
        let panelsPerTask = (panels + tasks - 1) / tasks
        let base = arguments
        pool.parallelFor(tasks) { task in
            let firstPanel = task * panelsPerTask
            let lastPanel = min(panels, firstPanel + panelsPerTask)
            guard firstPanel < lastPanel else { return }
            var slice = base
            slice.n = min(columns, lastPanel * 16) - firstPanel * 16
            slice.packed_b = base.packed_b + firstPanel * 16 * (depth + 1)
            slice.c = base.c + firstPanel * 16
            withUnsafePointer(to: &slice) { ork_gemm($0, 0, rows) }
        }
    }
}
