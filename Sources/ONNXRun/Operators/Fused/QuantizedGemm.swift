// The optimizer's int8 matrix product: com.microsoft QGemm and QLinearMatMul with constant B, uint8 A and output.

import CKernels

/// `Y = requantize((A - a_zero_point) x (B - b_zero_point) + C)` with B packed once: QGemm (`alpha`, transB,
/// int32 C per column) and 2-D QLinearMatMul, per-column B parameters, onnxruntime's arithmetic (`QuantizedStore`).
/// Input: `[A]` ([M, K] uint8). The reference operators are the oracle.
struct QuantizedGemm: KernelOperator {
    let reductionCount: Int
    let outputCount: Int
    let inputZeroPoint: Int32
    let store: QuantizedStore
    private let packed: AlignedBytes

    /// b: [K, N] (or [N, K] when `transposed`), int8 or uint8; scales: 1 or N multipliers of the accumulators.
    init(b: Tensor, transposed: Bool, weightZeroPoints: Tensor?, bias: [Int32]?, scales: [Float],
         inputZeroPoint: Int32, outputZeroPoint: Int32) throws {
        try requireKernelArgument(b.rank == 2 && [.int8, .uint8].contains(b.elementType) && b.elementCount > 0,
                                  "int8 GEMM weights must be a non-empty int8 or uint8 matrix, got \(b)")
        let (k, n) = transposed ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        try requireKernelArgument(scales.count == 1 || scales.count == n, "\(scales.count) scales for \(n) columns")
        try requireKernelArgument(bias == nil || bias?.count == n, "bias holds \(bias?.count ?? 0) values, expected \(n)")
        if let weightZeroPoints {
            try requireKernelArgument(weightZeroPoints.elementType == b.elementType
                                          && (weightZeroPoints.elementCount == 1 || weightZeroPoints.elementCount == n),
                                      "weight zero points \(weightZeroPoints) do not match \(b)")
        }
        (reductionCount, outputCount) = (k, n)
        self.inputZeroPoint = inputZeroPoint
        store = QuantizedStore(zeroPoint: outputZeroPoint)
        let buffer = AlignedBytes(count: ork_qgemm_packed_size(k, n))
        let isUnsigned: Int32 = b.elementType == .uint8 ? 1 : 0
        let zeroPointBytes = weightZeroPoints.map { zeroPoints in zeroPoints.withUnsafeBytes { Array($0) } }
        let zeroPointCount = weightZeroPoints?.elementCount ?? 0
        b.withUnsafeBytes { bytes in
            (zeroPointBytes ?? []).withUnsafeBufferPointer { zeroPoints in
                (bias ?? []).withUnsafeBufferPointer { biasValues in
                    scales.withUnsafeBufferPointer { scales in
                        ork_qgemm_pack(bytes.baseAddress, isUnsigned, k, n, transposed ? 1 : n, transposed ? k : 1,
                                       bias == nil ? nil : biasValues.baseAddress,
                                       zeroPointBytes == nil ? nil : UnsafeRawPointer(zeroPoints.baseAddress),
                                       zeroPointCount, scales.baseAddress, scales.count, buffer.pointer)
                    }
                }
            }
        }
        packed = buffer
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type
        guard a.elementType == .uint8, let shape = a.shape, shape.count == 2 else {
            throw ONNXRunError(.invalidModel, "int8 GEMM expects a uint8 matrix, got \(a)")
        }
        if let depth = shape[1].value, depth != reductionCount {
            throw ONNXRunError(.invalidModel, "A \(a) does not match \(reductionCount) x \(outputCount) weights")
        }
        return [TensorType(elementType: .uint8, shape: [shape[0], .fixed(outputCount)])]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let a = try requiredInput(inputs, 0, "A")
        guard a.elementType == .uint8, a.rank == 2, a.shape[1] == reductionCount,
              outputs[0].shape == [a.shape[0], outputCount] else {
            throw ONNXRunError(.invalidModel, "int8 GEMM shapes do not fit", shapes: [a.description, outputs[0].description])
        }
        let rows = a.shape[0]
        var arguments = ork_qgemm_args(
            k: reductionCount, n: outputCount, a: UnsafePointer(a.storage.bytes.assumingMemoryBound(to: UInt8.self)),
            a_row_stride: reductionCount, a_zero_point: inputZeroPoint, packed_b: UnsafeRawPointer(packed.pointer),
            c: outputs[0].storage.bytes.assumingMemoryBound(to: UInt8.self), c_int32: nil, c_row_stride: outputCount,
            epilogue: store.epilogue(residual: nil, residualRowStride: 0))
        let block = Int(ORK_GEMM_COLUMN_BLOCK), panels = (outputCount + block - 1) / block
        // Few rows (a classifier): split the columns, bound by reading the weights; otherwise the rows.
        if rows < 4 {
            let tasks = Parallelism.taskCount(work: rows * reductionCount * outputCount / 4, granularity: .matrixVector,
                                              threads: pool.threadCount, units: panels)
            pool.parallelFor(tasks) { task in
                let part = Parallelism.split(panels, task, tasks)
                withUnsafePointer(to: arguments) {
                    ork_qgemm_columns($0, 0, rows, part.lowerBound * block, min(part.upperBound * block, outputCount))
                }
            }
        } else {
            let tasks = Parallelism.taskCount(work: rows * reductionCount * outputCount / 4, granularity: .dense,
                                              threads: pool.threadCount, units: rows)
            pool.parallelFor(tasks) { task in
                let part = Parallelism.split(rows, task, tasks)
                ork_qgemm(&arguments, part.lowerBound, part.upperBound)
            }
        }
    }
}

extension QuantizedGemm: CostReporting {
    var isIntegerArithmetic: Bool { true }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        outputs.first?.fixedShape.flatMap { checkedElementCount($0) }.map { $0 * reductionCount }
    }
}

extension QuantizedGemmOperator: ConstantInputPacking {
    /// QGemm with uint8 A and output, constant B and parameters, no transposed A.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard !transposesA, inputs.count >= 9, let b = inputs[3]?.constant, b.rank == 2,
              inputs[0]?.type.elementType == .uint8, inputs[8]?.type.elementType == .uint8,
              let aScale = perTensorFloat(inputs, 1), let aZero = perTensorZeroPoint(inputs, 2),
              let yScale = perTensorFloat(inputs, 7), let yZero = perTensorZeroPoint(inputs, 8),
              let bScales = inputs[4]?.constant, bScales.elementType == .float
        else { return nil }
        let columns = b.shape[transposesB ? 0 : 1]
        var bias: [Int32]?
        if let biasInput = inputs[6] {
            guard let constant = biasInput.constant, constant.elementType == .int32, constant.rank <= 1,
                  constant.elementCount == columns else { return nil }
            bias = constant.scalars(as: Int32.self)
        }
        // As the reference: alpha * a_scale * b_scale, then / y_scale.
        let scales = bScales.floats.map { alpha * aScale * $0 / yScale }
        guard let gemm = try? packedGemm(b: b, transposed: transposesB, zeroPoints: inputs[5], bias: bias,
                                         scales: scales, inputZero: aZero, outputZero: yZero) else { return nil }
        return PackedOperator(op: gemm, opType: "QuantizedGemm", remainingInputs: [0])
    }
}

extension IntegerMatMulOperator: ConstantInputPacking {
    /// QLinearMatMul of a uint8 matrix by a constant matrix, per-tensor A and Y, per-column B parameters.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard isQuantizedLinear, inputs.count >= 8, let b = inputs[3]?.constant, b.rank == 2,
              inputs[0]?.type.elementType == .uint8, inputs[0]?.type.shape?.count == 2,
              inputs[7]?.type.elementType == .uint8,
              let aScale = perTensorFloat(inputs, 1), let aZero = perTensorZeroPoint(inputs, 2),
              let yScale = perTensorFloat(inputs, 6), let yZero = perTensorZeroPoint(inputs, 7),
              let bScales = inputs[4]?.constant, bScales.elementType == .float
        else { return nil }
        let scales = bScales.floats.map { aScale * $0 / yScale }
        guard let gemm = try? packedGemm(b: b, transposed: false, zeroPoints: inputs[5], bias: nil, scales: scales,
                                         inputZero: aZero, outputZero: yZero) else { return nil }
        return PackedOperator(op: gemm, opType: "QuantizedGemm", remainingInputs: [0])
    }
}

/// The packed GEMM when the weight zero points are absent or constant; nil (the node runs as it is) otherwise.
private func packedGemm(b: Tensor, transposed: Bool, zeroPoints: InferenceValue??, bias: [Int32]?, scales: [Float],
                        inputZero: Int32, outputZero: Int32) throws -> QuantizedGemm? {
    let zeroPointInput = zeroPoints ?? nil
    if zeroPointInput != nil && zeroPointInput?.constant == nil { return nil }
    return try QuantizedGemm(b: b, transposed: transposed, weightZeroPoints: zeroPointInput?.constant, bias: bias,
                             scales: scales, inputZeroPoint: inputZero, outputZeroPoint: outputZero)
}
