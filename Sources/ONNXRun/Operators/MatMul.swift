// MatMul: matrix product with numpy.matmul semantics (1-D operands promoted, batch dimensions broadcast).
//
// Spec: https://onnx.ai/onnx/operators/onnx__MatMul.html
// Opset history: 1, 9 (integer types), 13 (bfloat16). Float32 here.
// Arity: A, B -> Y.

struct MatMulOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...2)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        [try matrixProductType(try requiredInput(inputs, 0, "A").type, try requiredInput(inputs, 1, "B").type)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let a = try requiredInput(inputs, 0, "A")
        let b = try requiredInput(inputs, 1, "B")
        let product = try MatrixProductGeometry(a, b)
        let (m, k, n) = (product.rows, product.depth, product.columns)
        var values = [Float](repeating: 0, count: product.outputElementCount)
        a.withUnsafeBufferPointer(as: Float.self) { leftValues in
            b.withUnsafeBufferPointer(as: Float.self) { rightValues in
                for entry in product.leftMatrices.indices {
                    let leftBase = product.leftMatrices[entry] * m * k
                    let rightBase = product.rightMatrices[entry] * k * n
                    let outputBase = entry * m * n
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum: Float = 0
                            for p in 0..<k { sum += leftValues[leftBase + i * k + p] * rightValues[rightBase + p * n + j] }
                            values[outputBase + i * n + j] = sum
                        }
                    }
                }
            }
        }
        return [Tensor(shape: product.outputShape, computed: values)]
    }
}

/// The output type of numpy.matmul on float operands of these types (shared by the fast matrix products).
func matrixProductType(_ a: TensorType, _ b: TensorType) throws -> TensorType {
    try requireFloat(a, "A")
    try requireFloat(b, "B")
    guard let aShape = a.shape, let bShape = b.shape else { return TensorType(elementType: .float, shape: nil) }
    guard !aShape.isEmpty, !bShape.isEmpty else { throw ONNXRunError(.invalidModel, "MatMul operands must not be scalars") }
    // Promote 1-D operands, then drop the added axes from the result.
    let left = aShape.count == 1 ? [.fixed(1)] + aShape : aShape
    let right = bShape.count == 1 ? bShape + [.fixed(1)] : bShape
    if let k = left.last?.value, let kB = right[right.count - 2].value, k != kB {
        throw ONNXRunError(.invalidModel, "inner dimensions \(k) and \(kB) differ")
    }
    guard let batch = try broadcastDimensions([Array(left.dropLast(2)), Array(right.dropLast(2))]) else {
        return TensorType(elementType: .float, shape: nil)
    }
    var shape = batch
    if aShape.count > 1 { shape.append(left[left.count - 2]) }
    if bShape.count > 1 { shape.append(right[right.count - 1]) }
    return TensorType(elementType: .float, shape: shape)
}

/// numpy.matmul of two float tensors as a batch of `rows x depth` times `depth x columns` products.
struct MatrixProductGeometry {
    let rows: Int
    let depth: Int
    let columns: Int
    /// Per output matrix (broadcast batch entry), the index of the A and of the B matrix it multiplies.
    let leftMatrices: [Int]
    let rightMatrices: [Int]
    let outputShape: [Int]
    let outputElementCount: Int

    /// `transposedB`: B holds its matrices as [columns, depth] (a Transpose of its last two axes absorbed).
    init(_ a: Tensor, _ b: Tensor, transposedB: Bool = false) throws {
        try requireFloat(a, "A")
        try requireFloat(b, "B")
        guard a.rank >= 1, b.rank >= 1 else { throw runtimeError("MatMul operands must not be scalars", [a, b]) }
        guard !transposedB || b.rank >= 2 else { throw runtimeError("a transposed B must be a matrix", [a, b]) }
        let left = a.rank == 1 ? [1] + a.shape : a.shape
        var right = b.rank == 1 ? b.shape + [1] : b.shape
        if transposedB { right.swapAt(right.count - 1, right.count - 2) }
        rows = left[left.count - 2]
        depth = left[left.count - 1]
        columns = right[right.count - 1]
        let kB = right[right.count - 2]
        guard depth == kB else { throw runtimeError("inner dimensions \(depth) and \(kB) differ", [a, b]) }
        let leftBatch = Array(left.dropLast(2)), rightBatch = Array(right.dropLast(2))
        guard let batch = broadcastShape([leftBatch, rightBatch]) else {
            throw runtimeError("batch dimensions do not broadcast", [a, b])
        }
        leftMatrices = broadcastOffsets(from: leftBatch, to: batch)
        rightMatrices = broadcastOffsets(from: rightBatch, to: batch)
        var shape = batch
        if a.rank > 1 { shape.append(rows) }
        if b.rank > 1 { shape.append(columns) }
        outputShape = shape
        outputElementCount = try checkedCount(batch + [rows, columns], [a, b])
    }
}

// MARK: - Optimizer hooks

extension MatMulOperator: CostReporting, ConstantInputPacking {
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let output = outputs.first?.fixedShape, let count = checkedElementCount(output),
              let depth = inputs.first??.fixedShape?.last else { return nil }
        return count * depth
    }

    /// An A of rank >= 2 times a constant 2-D B runs on the packed GEMM over all of A's rows at once (a Linear
    /// layer on an NHWC or [batch, tokens, features] tensor); any other pair of matrices (rank >= 2, attention's
    /// batched products with broadcasting) on the batched GEMM, which packs B per call.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard inputs.count == 2, let a = inputs[0]?.type, a.elementType == .float, let aRank = a.shape?.count,
              aRank >= 2, let b = inputs[1], b.type.elementType == .float, let bRank = b.type.shape?.count, bRank >= 2
        else { return nil }
        if let weights = b.constant, bRank == 2 {
            return PackedOperator(op: try PackedGemm(b: weights, transposed: false, alpha: 1, bias: nil),
                                  opType: "PackedGemm", remainingInputs: [0])
        }
        return PackedOperator(op: BatchedMatMul(), opType: "BatchedMatMul", remainingInputs: [0, 1])
    }
}
