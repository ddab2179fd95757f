// Gemm: Y = alpha * A' * B' + beta * C, with optional transposes and C broadcast to [M, N].
//
// Spec: https://onnx.ai/onnx/operators/onnx__Gemm.html
// Opset history: 1 (C required, `broadcast` attribute), 6 (same), 7 (unidirectional broadcasting of C always),
// 9 (integer types), 11 (C optional), 13 (bfloat16). The reference kernel broadcasts C unidirectionally in every
// opset (opset < 7 files with broadcast = 0 have C already [M, N]).
// Arity: A, B, optional C -> Y (C required before opset 11).

struct GemmOperator: Operator {
    let alpha: Float
    let beta: Float
    let transposeA: Bool
    let transposeB: Bool

    init(_ context: OperatorContext) throws {
        try context.expectInputs(context.opset < 11 ? 3...3 : 2...3)
        alpha = try context.float("alpha", default: 1)
        beta = try context.float("beta", default: 1)
        transposeA = try context.int("transA", default: 0) != 0
        transposeB = try context.int("transB", default: 0) != 0
    }

    /// (M, K) of A' and (K, N) of B', checked.
    private func dimensions(_ a: [Dimension], _ b: [Dimension]) throws -> (m: Dimension, n: Dimension) {
        guard a.count == 2, b.count == 2 else {
            throw ONNXRunError(.invalidModel, "A and B must be matrices")
        }
        let (m, k) = transposeA ? (a[1], a[0]) : (a[0], a[1])
        let (kB, n) = transposeB ? (b[1], b[0]) : (b[0], b[1])
        if let k = k.value, let kB = kB.value, k != kB {
            throw ONNXRunError(.invalidModel, "inner dimensions \(k) and \(kB) differ (transA \(transposeA), transB \(transposeB))")
        }
        return (m, n)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type
        let b = try requiredInput(inputs, 1, "B").type
        try requireFloat(a, "A")
        try requireFloat(b, "B")
        guard let aShape = a.shape, let bShape = b.shape else { return [TensorType(elementType: .float, shape: nil)] }
        let (m, n) = try dimensions(aShape, bShape)
        if let c = optionalInput(inputs, 2)?.type {
            try requireFloat(c, "C")
            if let cShape = c.shape {
                guard cShape.count <= 2 else { throw ONNXRunError(.invalidModel, "C \(c) has rank above 2") }
                _ = try broadcastDimensions([[m, n], cShape])
            }
        }
        return [TensorType(elementType: .float, shape: [m, n])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let a = try requiredInput(inputs, 0, "A")
        let b = try requiredInput(inputs, 1, "B")
        let c = optionalInput(inputs, 2)
        try requireFloat(a, "A")
        try requireFloat(b, "B")
        if let c { try requireFloat(c, "C") }
        let tensors = [a, b, c]
        guard a.rank == 2, b.rank == 2 else { throw runtimeError("A and B must be matrices", tensors) }
        let m = transposeA ? a.shape[1] : a.shape[0], k = transposeA ? a.shape[0] : a.shape[1]
        let n = transposeB ? b.shape[0] : b.shape[1], kB = transposeB ? b.shape[1] : b.shape[0]
        guard k == kB else { throw runtimeError("inner dimensions \(k) and \(kB) differ", tensors) }
        var biasOffsets: [Int]?
        if let c {
            // Unidirectional: C broadcasts to [M, N], never the other way.
            guard c.rank <= 2, broadcastShape([[m, n], c.shape]) == [m, n] else {
                throw runtimeError("C does not broadcast to [\(m),\(n)]", tensors)
            }
            biasOffsets = broadcastOffsets(from: c.shape, to: [m, n])
        }
        let count = try checkedCount([m, n], tensors)
        var values = [Float](repeating: 0, count: count)
        let bias = c?.floats ?? []
        a.withUnsafeBufferPointer(as: Float.self) { left in
            b.withUnsafeBufferPointer(as: Float.self) { right in
                // Element strides of A' and B' so one loop serves all four transpose combinations.
                let aRow = transposeA ? 1 : k, aColumn = transposeA ? m : 1
                let bRow = transposeB ? 1 : n, bColumn = transposeB ? k : 1
                for i in 0..<m {
                    for j in 0..<n {
                        var sum: Float = 0
                        for p in 0..<k { sum += left[i * aRow + p * aColumn] * right[p * bRow + j * bColumn] }
                        var value = alpha * sum
                        if let biasOffsets { value += beta * bias[biasOffsets[i * n + j]] }
                        values[i * n + j] = value
                    }
                }
            }
        }
        return [Tensor(shape: [m, n], computed: values)]
    }
}

// MARK: - Optimizer hooks

extension GemmOperator: CostReporting, ConstantInputPacking {
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let output = outputs.first?.fixedShape, let count = checkedElementCount(output),
              let a = inputs.first??.fixedShape, a.count == 2 else { return nil }
        return count * (transposeA ? a[0] : a[1])
    }

    /// With a constant 2-D B: the packed GEMM, alpha folded into B and beta * C into a bias when C broadcasts
    /// along rows only ([N], [1, N] or one value).
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard !transposeA, inputs.count >= 2, let a = inputs[0]?.type, a.elementType == .float, a.shape?.count == 2,
              let b = inputs[1]?.constant, b.elementType == .float, b.rank == 2 else { return nil }
        let columns = transposeB ? b.shape[0] : b.shape[1]
        var bias: [Float]?
        if let c = optionalInput(inputs, 2) {
            guard let constant = c.constant, constant.elementType == .float else { return nil }
            let values = constant.floats
            if constant.elementCount == columns && (constant.shape == [columns] || constant.shape == [1, columns]) {
                bias = values.map { $0 * beta }
            } else if constant.elementCount == 1 {
                bias = [Float](repeating: values[0] * beta, count: columns)
            } else {
                return nil
            }
        }
        return PackedOperator(op: try PackedGemm(b: b, transposed: transposeB, alpha: alpha, bias: bias),
                              opType: "PackedGemm", remainingInputs: [0])
    }
}
