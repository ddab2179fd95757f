// The optimizer's Gemm/MatMul with constant B: Y = A * B + bias, B packed once for the GEMM micro-kernel.

/// `Y[M, N] = A[M, K] * B[K, N] + bias[N]`, A float 2-D, B packed at load (alpha folded into B, beta * C into bias).
struct PackedGemm: KernelOperator {
    let weights: PackedMatrixWeights

    /// - Parameters:
    ///   - b: the constant B as ONNX gives it; `transposed` when it is [N, K] (Gemm transB = 1).
    ///   - bias: N floats (beta * C already applied), or nil.
    init(b: Tensor, transposed: Bool, alpha: Float, bias: [Float]?) throws {
        let scaled = alpha == 1 ? b.floats : b.floats.map { $0 * alpha }
        weights = try PackedMatrixWeights.packing(
            weights: scaled, layout: transposed ? .outputMajor : .reductionMajor,
            reductionCount: transposed ? b.shape[1] : b.shape[0], outputCount: transposed ? b.shape[0] : b.shape[1],
            bias: bias)
    }

    /// `gemm` with `bias` added.
    init(adding bias: [Float], to gemm: PackedGemm) throws {
        weights = try PackedMatrixWeights(gemm.weights, addingBias: bias)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type
        guard a.elementType == .float, let shape = a.shape, shape.count == 2 else {
            throw ONNXRunError(.invalidModel, "packed Gemm expects a float 2-D A, got \(a)")
        }
        if let k = shape[1].value, k != weights.reductionCount {
            throw ONNXRunError(.invalidModel, "A has \(k) columns, B has \(weights.reductionCount) rows")
        }
        return [TensorType(elementType: .float, shape: [shape[0], .fixed(weights.outputCount)])]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let a = try requiredInput(inputs, 0, "A")
        let (depth, columns) = (weights.reductionCount, weights.outputCount)
        guard a.elementType == .float, a.rank == 2, a.shape[1] == depth, outputs[0].shape == [a.shape[0], columns]
        else {
            throw ONNXRunError(.invalidModel, "packed Gemm shapes do not fit", shapes: [a.description])
        }
        let input = UnsafePointer(a.storage.bytes.assumingMemoryBound(to: Float.self))
        let output = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        let rows = a.shape[0]
        // The classifier has one row per image: split the columns instead, in whole packed panels.
        let block = PackedMatrixWeights.columnBlock
        let panels = (columns + block - 1) / block
        let tasks = Parallelism.taskCount(work: rows * depth * columns, granularity: .matrixVector, threads: pool.threadCount,
                                          units: panels)
        pool.parallelFor(tasks) { task in
            let panelRange = Parallelism.split(panels, task, tasks)
            let columnRange = (panelRange.lowerBound * block)..<min(columns, panelRange.upperBound * block)
            guard !columnRange.isEmpty else { return }
            weights.run(input: input, inputRowStride: depth, output: output, outputRowStride: columns,
                        rows: 0..<rows, columns: columnRange)
        }
    }
}

// MARK: - Optimizer hooks

extension PackedGemm: CostReporting, ConsumerFusing {
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        outputs.first?.fixedShape.flatMap { checkedElementCount($0) }.map { $0 * weights.reductionCount }
    }

    /// Keras/tf2onnx classifiers are MatMul -> Add(bias): a constant bias over the columns joins the packed
    /// weights (when none is there yet).
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        guard !weights.hasBias, let arithmetic = consumer.op as? BinaryArithmeticOperator, arithmetic.operation == .add,
              let bias = consumer.otherInput?.value.constant, bias.elementType == .float,
              bias.shape == [weights.outputCount] || bias.shape == [1, weights.outputCount] else { return nil }
        return FusedOperator(op: try PackedGemm(adding: bias.floats, to: self), opType: "PackedGemm")
    }
}
