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
        let a = try requiredInput(inputs, 0, "A").type
        let b = try requiredInput(inputs, 1, "B").type
        try requireFloat(a, "A")
        try requireFloat(b, "B")
        guard let aShape = a.shape, let bShape = b.shape else { return [TensorType(elementType: .float, shape: nil)] }
        guard !aShape.isEmpty, !bShape.isEmpty else { throw ONNXRunError(.invalidModel, "MatMul operands must not be scalars") }
        // Promote 1-D operands, then drop the added axes from the result.
        let left = aShape.count == 1 ? [.fixed(1)] + aShape : aShape
        let right = bShape.count == 1 ? bShape + [.fixed(1)] : bShape
        if let k = left.last?.value, let kB = right[right.count - 2].value, k != kB {
            throw ONNXRunError(.invalidModel, "inner dimensions \(k) and \(kB) differ")
        }
        guard let batch = try broadcastDimensions([Array(left.dropLast(2)), Array(right.dropLast(2))]) else {
            return [TensorType(elementType: .float, shape: nil)]
        }
        var shape = batch
        if aShape.count > 1 { shape.append(left[left.count - 2]) }
        if bShape.count > 1 { shape.append(right[right.count - 1]) }
        return [TensorType(elementType: .float, shape: shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let a = try requiredInput(inputs, 0, "A")
        let b = try requiredInput(inputs, 1, "B")
        try requireFloat(a, "A")
        try requireFloat(b, "B")
        guard a.rank >= 1, b.rank >= 1 else { throw runtimeError("MatMul operands must not be scalars", [a, b]) }
        let left = a.rank == 1 ? [1] + a.shape : a.shape
        let right = b.rank == 1 ? b.shape + [1] : b.shape
        let m = left[left.count - 2], k = left[left.count - 1]
        let kB = right[right.count - 2], n = right[right.count - 1]
        guard k == kB else { throw runtimeError("inner dimensions \(k) and \(kB) differ", [a, b]) }
        let leftBatch = Array(left.dropLast(2)), rightBatch = Array(right.dropLast(2))
        guard let batch = broadcastShape([leftBatch, rightBatch]) else {
            throw runtimeError("batch dimensions do not broadcast", [a, b])
        }
        // Offsets (in matrices) of each broadcast batch entry in A and B.
        let leftMatrices = broadcastOffsets(from: leftBatch, to: batch)
        let rightMatrices = broadcastOffsets(from: rightBatch, to: batch)
        let count = try checkedCount(batch + [m, n], [a, b])
        var values = [Float](repeating: 0, count: count)
        a.withUnsafeBufferPointer(as: Float.self) { leftValues in
            b.withUnsafeBufferPointer(as: Float.self) { rightValues in
                for entry in leftMatrices.indices {
                    let leftBase = leftMatrices[entry] * m * k, rightBase = rightMatrices[entry] * k * n
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
        var shape = batch
        if a.rank > 1 { shape.append(m) }
        if b.rank > 1 { shape.append(n) }
        return [Tensor(shape: shape, computed: values)]
    }
}

// MARK: - Optimizer hooks

extension MatMulOperator: CostReporting, ConstantInputPacking {
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let output = outputs.first?.fixedShape, let count = checkedElementCount(output),
              let depth = inputs.first??.fixedShape?.last else { return nil }
        return count * depth
    }

    /// A 2-D A times a constant 2-D B runs on the packed GEMM.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard inputs.count == 2, let a = inputs[0]?.type, a.elementType == .float, a.shape?.count == 2,
              let b = inputs[1]?.constant, b.elementType == .float, b.rank == 2 else { return nil }
        return PackedOperator(op: try PackedGemm(b: b, transposed: false, alpha: 1, bias: nil),
                              opType: "PackedGemm", remainingInputs: [0])
    }
}
