// The fast matrix products (PackedGemm on N-D inputs, BatchedMatMul with broadcasting) against the reference
// MatMul at every ISA level, on awkward shapes, with 1 and 3 threads.

import XCTest

@testable import ONNXRun

final class MatrixProductTests: XCTestCase {
    private func tensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var values = SeededValues(seed: seed)
        return try Tensor(shape: shape, floats: values.array(shape.reduce(1, *)))
    }

    private func run(_ op: any KernelOperator, _ inputs: [Tensor], threads: Int) throws -> Tensor {
        let types = try op.inferOutputs(inputs.map { InferenceValue(type: TensorType(elementType: .float,
                                                                                       fixedShape: $0.shape)) })
        let output = Tensor(zeros: .float, shape: try XCTUnwrap(types.first?.fixedShape))
        try op.execute(inputs, into: [output], pool: ThreadPool(threadCount: threads))
        return output
    }

    private func assertMatches(_ actual: Tensor, _ expected: Tensor, _ message: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, message, file: file, line: line)
        assertClose(actual.floats, expected.floats.map(Double.init), tolerance: 1e-5, message, file: file, line: line)
    }

    /// A Linear layer on N-D inputs: all leading axes are rows of one GEMM; bias and clamp in the store.
    func testPackedGemmOverLeadingAxes() throws {
        // (A shape, K x N): rows below and above the row-split threshold, N not a multiple of 16, K = 1.
        let cases: [([Int], Int, Int)] = [([1, 7, 5, 13], 13, 37), ([2, 3, 40], 40, 16), ([3, 1], 1, 5),
                                          ([1, 56, 3, 24], 24, 96), ([70, 9], 9, 17)]
        try forEachInstructionSet { level in
            for (index, (shape, depth, columns)) in cases.enumerated() {
                let a = try tensor(shape, seed: UInt64(index) + 1)
                let b = try tensor([depth, columns], seed: UInt64(index) + 100)
                let bias = try tensor([columns], seed: UInt64(index) + 200)
                let product = try XCTUnwrap(MatMulOperator(OperatorContext(
                    node: Node(name: "m", opType: "MatMul", inputs: ["a", "b"], outputs: ["y"]), opset: 13)).run([a, b])
                    .first)
                let expected = try Tensor(shape: product.shape, floats: product.floats.enumerated().map { i, value in
                    max(0, value + bias.floats[i % columns])
                })
                var gemm = try PackedGemm(adding: bias.floats, to: PackedGemm(b: b, transposed: false, alpha: 1,
                                                                                bias: nil))
                gemm.clamp = ClampBounds(minimum: 0)
                for threads in [1, 3] {
                    assertMatches(try run(gemm, [a], threads: threads), expected,
                                  "\(level) A \(shape) K \(depth) N \(columns), \(threads) threads")
                }
            }
        }
    }

    /// Attention-shaped products: batch axes broadcast either way, one or many matrices, odd sizes.
    func testBatchedMatMulBroadcastsBatchAxes() throws {
        let cases: [([Int], [Int])] = [
            ([2, 3, 5, 7], [2, 3, 7, 19]), ([4, 9, 8], [8, 3]), ([9, 8], [2, 8, 33]), ([2, 1, 4, 6], [1, 3, 6, 5]),
            ([1, 40, 17], [1, 17, 40]), ([3, 1, 1], [3, 1, 2]),
        ]
        let reference = try MatMulOperator(OperatorContext(
            node: Node(name: "m", opType: "MatMul", inputs: ["a", "b"], outputs: ["y"]), opset: 13))
        try forEachInstructionSet { level in
            for (index, (aShape, bShape)) in cases.enumerated() {
                let a = try tensor(aShape, seed: UInt64(index) + 300)
                let b = try tensor(bShape, seed: UInt64(index) + 400)
                let expected = try XCTUnwrap(reference.run([a, b]).first)
                // The same product with B given transposed (its last two axes swapped in memory).
                let transposedB = try XCTUnwrap(TransposeOperator(OperatorContext(
                    node: Node(name: "t", opType: "Transpose", inputs: ["b"], outputs: ["t"],
                               attributes: ["perm": .ints(Array(0..<(bShape.count - 2)) + [bShape.count - 1,
                                                                                          bShape.count - 2])]),
                    opset: 13)).run([b]).first)
                for threads in [1, 3] {
                    assertMatches(try run(BatchedMatMul(), [a, b], threads: threads), expected,
                                  "\(level) \(aShape) x \(bShape), \(threads) threads")
                    assertMatches(try run(BatchedMatMul(transposesB: true), [a, transposedB], threads: threads),
                                  expected, "\(level) \(aShape) x \(bShape) transposed, \(threads) threads")
                }
            }
        }
    }
}
