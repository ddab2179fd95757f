// The optimizer's MatMul of two computed matrices (attention's Q K^T and P V, broadcast batch axes): each B packed
// per call for the GEMM micro-kernel.

/// numpy.matmul for float operands of rank >= 2 with broadcast batch axes. Packing one B costs K * N copies against
/// M * K * N multiply-adds, so it pays from a few rows on; the micro-kernel then runs at its full speed.
struct BatchedMatMul: KernelOperator, CostReporting, MatrixTransposeAbsorbing {
    /// B's matrices are stored [columns, depth] (the Transpose before it absorbed).
    var transposesB = false

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        var b = try requiredInput(inputs, 1, "B").type
        if transposesB, var shape = b.shape {
            guard shape.count >= 2 else { throw ONNXRunError(.invalidModel, "a transposed B must be a matrix, is \(b)") }
            shape.swapAt(shape.count - 1, shape.count - 2)
            b.shape = shape
        }
        return [try matrixProductType(try requiredInput(inputs, 0, "A").type, b)]
    }

    func absorbingMatrixTranspose(ofInput position: Int) -> (any Operator)? {
        guard position == 1, !transposesB else { return nil }
        return BatchedMatMul(transposesB: true)
    }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let output = outputs.first?.fixedShape, let count = checkedElementCount(output),
              let depth = inputs.first??.fixedShape?.last else { return nil }
        return count * depth
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let a = try requiredInput(inputs, 0, "A")
        let b = try requiredInput(inputs, 1, "B")
        let product = try MatrixProductGeometry(a, b, transposedB: transposesB)
        guard a.rank >= 2, b.rank >= 2, outputs[0].shape == product.outputShape else {
            throw runtimeError("batched MatMul expects operands of rank 2 or more", [a, b])
        }
        let (rows, depth, columns) = (product.rows, product.depth, product.columns)
        let entries = product.leftMatrices.count
        guard rows > 0, columns > 0, entries > 0 else { return }
        let left = UnsafePointer(a.storage.bytes.assumingMemoryBound(to: Float.self))
        let right = UnsafePointer(b.storage.bytes.assumingMemoryBound(to: Float.self))
        let output = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        guard depth > 0 else {
            output.update(repeating: 0, count: entries * rows * columns)
            return
        }

        // Each distinct B packed once (a broadcast B serves several outputs), before the parallel part.
        var packedMatrices: [Int: PackedMatrixWeights] = [:]
        var weights: [PackedMatrixWeights] = []
        for matrix in product.rightMatrices {
            if let packed = packedMatrices[matrix] {
                weights.append(packed)
                continue
            }
            let packed = try PackedMatrixWeights(
                weights: UnsafeBufferPointer(start: right + matrix * depth * columns, count: depth * columns),
                layout: transposesB ? .outputMajor : .reductionMajor, reductionCount: depth, outputCount: columns)
            packedMatrices[matrix] = packed
            weights.append(packed)
        }
        // Work units: (output matrix, row) pairs in order, split evenly, so one matrix or many both spread.
        let units = entries * rows
        let tasks = Parallelism.taskCount(work: units * depth * columns, granularity: .dense,
                                          threads: pool.threadCount, units: units)
        pool.parallelFor(tasks) { task in
            let range = Parallelism.split(units, task, tasks)
            var unit = range.lowerBound
            while unit < range.upperBound {
                let entry = unit / rows, firstRow = unit % rows
                let lastRow = min(rows, firstRow + range.upperBound - unit)
                weights[entry].run(input: left + product.leftMatrices[entry] * rows * depth, inputRowStride: depth,
                                   output: output + entry * rows * columns, outputRowStride: columns,
                                   rows: firstRow..<lastRow)
                unit += lastRow - firstRow
            }
        }
    }
}
