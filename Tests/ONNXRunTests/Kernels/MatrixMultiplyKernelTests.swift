// The packed GEMM (1x1 convolution, Gemm) against a naive product, at every ISA level, on awkward shapes.

import XCTest

@testable import ONNXRun

final class MatrixMultiplyKernelTests: XCTestCase {
    private struct Case {
        var rows: Int, reduction: Int, outputs: Int
        var inputStride = 0, outputStride = 0  // 0: packed rows
        var layout = WeightMatrixLayout.outputMajor
        var bias = true, residual = false
        var activation = Activation.none
    }

    private func check(_ testCase: Case, seed: UInt64, level: KernelInstructionSet) throws {
        var random = SeededValues(seed: seed)
        let m = testCase.rows, k = testCase.reduction, n = testCase.outputs
        let inputStride = max(testCase.inputStride, k), outputStride = max(testCase.outputStride, n)
        let input = random.array(m * inputStride)
        let weights = random.array(n * k)  // [n][k] (output-major); reduction-major packs its transpose
        let bias = testCase.bias ? random.array(n) : nil
        let residual = testCase.residual ? random.array(m * outputStride) : nil
        var reductionMajor = [Float](repeating: 0, count: k * n)
        for row in 0..<n { for column in 0..<k { reductionMajor[column * n + row] = weights[row * k + column] } }
        let packed = try PackedMatrixWeights.packing(
            weights: testCase.layout == .outputMajor ? weights : reductionMajor, layout: testCase.layout,
            reductionCount: k, outputCount: n, bias: bias)

        var expected = [Double](repeating: 0, count: m * outputStride), magnitudes = expected
        var expectedMask = [Bool](repeating: false, count: m * outputStride)
        for row in 0..<m {
            for column in 0..<n {
                var sum = Double(bias?[column] ?? 0), magnitude = abs(sum)
                for index in 0..<k {
                    let term = Double(input[row * inputStride + index]) * Double(weights[column * k + index])
                    sum += term
                    magnitude += abs(term)
                }
                sum += Double(residual?[row * outputStride + column] ?? 0)
                expected[row * outputStride + column] = referenceActivation(testCase.activation, sum)
                magnitudes[row * outputStride + column] = magnitude
                expectedMask[row * outputStride + column] = true
            }
        }

        let inputBuffer = GuardedBuffer(input)
        let outputBuffer = GuardedBuffer(count: m * outputStride, filledWith: -7)
        let residualBuffer = residual.map { GuardedBuffer($0) }
        // Two calls over a split row range must give the same as one.
        let split = m / 3
        for rows in [0..<split, split..<m] {
            packed.run(input: inputBuffer.pointer, inputRowStride: inputStride, output: outputBuffer.pointer,
                       outputRowStride: outputStride, residual: residualBuffer.map { UnsafePointer($0.pointer) },
                       residualRowStride: outputStride, activation: testCase.activation, rows: rows, using: level)
        }
        outputBuffer.assertGuardIntact()
        let actual = outputBuffer.values
        for index in 0..<actual.count where !expectedMask[index] {
            XCTAssertEqual(actual[index], -7, "GEMM wrote outside its columns at \(index) (\(level))")
        }
        let kept = (0..<actual.count).filter { expectedMask[$0] }
        assertClose(kept.map { actual[$0] }, kept.map { expected[$0] }, scale: kept.map { magnitudes[$0] },
                    "GEMM \(m)x\(k)x\(n) \(testCase) at \(level)")
    }

    func testAwkwardShapesAtEveryLevel() throws {
        let cases: [Case] = [
            Case(rows: 1, reduction: 1, outputs: 1),
            Case(rows: 7, reduction: 3, outputs: 17),
            Case(rows: 13, reduction: 24, outputs: 33, residual: true),
            Case(rows: 25, reduction: 17, outputs: 101, layout: .reductionMajor),
            Case(rows: 50, reduction: 64, outputs: 48, activation: .clamp(ClampBounds(minimum: 0, maximum: 6))),
            Case(rows: 29, reduction: 32, outputs: 16, inputStride: 40, outputStride: 21, residual: true,
                 activation: .clamp(ClampBounds(minimum: -0.5, maximum: 0.5))),
            Case(rows: 31, reduction: 96, outputs: 24, bias: false),
            Case(rows: 3, reduction: 1280, outputs: 40, layout: .reductionMajor),
            Case(rows: 41, reduction: 320, outputs: 80, residual: true, activation: .clamp(ClampBounds(minimum: 0))),
            // A 7x7 image on a long reduction: row chunks of 48 with a remainder of one row (joined to the last
            // chunk) and of 13 (a chunk of its own).
            Case(rows: 49, reduction: 520, outputs: 40, residual: true),
            Case(rows: 61, reduction: 520, outputs: 20),
            // Few rows (classifier): calls of 1, 2 and 3 rows take the 64-column path, remainders the usual one.
            Case(rows: 1, reduction: 640, outputs: 200, layout: .reductionMajor),
            Case(rows: 7, reduction: 50, outputs: 150, residual: true,
                 activation: .clamp(ClampBounds(minimum: -1, maximum: 1))),
            Case(rows: 10, reduction: 33, outputs: 64, outputStride: 70, residual: true),
            // Small reductions (MobileNetV2's expansions), a panel and a half in 9-row tiles (49 = 5 x 9 + 4), with
            // its last 8 columns masked (21 = 16 + 5; 53 = 32 + 16 + 5).
            Case(rows: 23, reduction: 16, outputs: 21, residual: true,
                 activation: .clamp(ClampBounds(minimum: 0, maximum: 6))),
            Case(rows: 19, reduction: 24, outputs: 53, inputStride: 27, outputStride: 60, residual: true),
            Case(rows: 49, reduction: 144, outputs: 24, residual: true),
            Case(rows: 26, reduction: 16, outputs: 96, activation: .clamp(ClampBounds(minimum: 0, maximum: 6))),
            // One-panel tiles in a loop of whole tiles, the last 12 + 1 rows as 7 + 6, the last panel masked
            // (100 = 6 x 16 + 4), written into wider rows with a residual.
            Case(rows: 37, reduction: 16, outputs: 100, outputStride: 104, residual: true,
                 activation: .clamp(ClampBounds(minimum: 0, maximum: 6))),
        ] + testedActivations.enumerated().flatMap { index, activation in
            // Activations in the store: the 64-column path (1 row), full and partial panels, a residual.
            [Case(rows: 1, reduction: 40, outputs: 70, activation: activation),
             Case(rows: 17, reduction: 19, outputs: 41, outputStride: 45, residual: index % 2 == 0,
                  activation: activation)]
        }
        try forEachInstructionSet { level in
            for (index, testCase) in cases.enumerated() {
                try check(testCase, seed: UInt64(index + 1), level: level)
            }
        }
    }

    /// Every row count 1...50 (every remainder tile height, chunks with a joined remainder as at 49 = 48 + 1), with
    /// column tails of every panel shape (57 = 48 + a masked 9 in one-panel tiles, or 32 + a masked pair in the
    /// two-panel tiles of reductions over 256; 41 = 32 + 9, 24 = a panel and a half, 8 = half a panel), an odd
    /// reduction and one long enough for row chunks and two-panel tiles.
    func testEveryRowCountUpToFiftyAtEveryLevel() throws {
        let outputs = [57, 41, 24, 8], reductions = [19, 400]
        try forEachInstructionSet { level in
            for rows in 1...50 {
                let testCase = Case(rows: rows, reduction: reductions[rows % reductions.count],
                                    outputs: outputs[rows % outputs.count], residual: rows % 3 == 0,
                                    activation: rows % 5 == 0 ? .clamp(ClampBounds(minimum: 0, maximum: 6)) : .none)
                try check(testCase, seed: UInt64(100 + rows), level: level)
            }
        }
    }

    func testResidualMayBeTheOutput() throws {
        try forEachInstructionSet { level in
            var random = SeededValues(seed: 99)
            let m = 19, k = 10, n = 37
            let input = random.array(m * k), weights = random.array(n * k), start = random.array(m * n)
            let packed = try PackedMatrixWeights.packing(weights: weights, layout: .outputMajor, reductionCount: k,
                                                         outputCount: n)
            let buffer = GuardedBuffer(start)
            let inputBuffer = GuardedBuffer(input)
            packed.run(input: inputBuffer.pointer, inputRowStride: k, output: buffer.pointer, outputRowStride: n,
                       residual: buffer.pointer, residualRowStride: n, rows: 0..<m, using: level)
            var expected = [Double](repeating: 0, count: m * n)
            for row in 0..<m {
                for column in 0..<n {
                    var sum = Double(start[row * n + column])
                    for index in 0..<k { sum += Double(input[row * k + index]) * Double(weights[column * k + index]) }
                    expected[row * n + column] = sum
                }
            }
            assertClose(buffer.values, expected, "in-place residual at \(level)")
        }
    }

    func testColumnSplitMatchesWholeProduct() throws {
        try forEachInstructionSet { level in
            var random = SeededValues(seed: 77)
            let m = 3, k = 70, n = 53  // classifier-like: few rows, columns split in 16s
            let input = GuardedBuffer(random.array(m * k)), weights = random.array(n * k), bias = random.array(n)
            let residual = GuardedBuffer(random.array(m * n))
            let packed = try PackedMatrixWeights.packing(weights: weights, layout: .outputMajor, reductionCount: k,
                                                         outputCount: n, bias: bias)
            let whole = GuardedBuffer(count: m * n), split = GuardedBuffer(count: m * n)
            let clamp = ClampBounds(minimum: -1, maximum: 1)
            packed.run(input: input.pointer, inputRowStride: k, output: whole.pointer, outputRowStride: n,
                       residual: residual.pointer, residualRowStride: n, activation: .clamp(clamp), rows: 0..<m,
                       using: level)
            for columns in [0..<16, 16..<48, 48..<n] {
                packed.run(input: input.pointer, inputRowStride: k, output: split.pointer, outputRowStride: n,
                           residual: residual.pointer, residualRowStride: n, activation: .clamp(clamp), rows: 0..<m,
                           columns: columns, using: level)
            }
            split.assertGuardIntact()
            XCTAssertEqual(split.values, whole.values, "column split at \(level)")
            XCTAssertFalse(whole.values.contains { $0.isNaN })
        }
    }

    func testPackingRejectsMismatchedSizes() {
        XCTAssertThrowsError(try PackedMatrixWeights.packing(weights: [1, 2, 3], layout: .outputMajor,
                                                             reductionCount: 2, outputCount: 2))
        XCTAssertThrowsError(try PackedMatrixWeights.packing(weights: [1, 2, 3, 4], layout: .outputMajor,
                                                             reductionCount: 2, outputCount: 2, bias: [1]))
        XCTAssertThrowsError(try PackedMatrixWeights.packing(weights: [], layout: .outputMajor,
                                                             reductionCount: 0, outputCount: 0))
    }

    func testKernelTables() {
        XCTAssertEqual(KernelInstructionSet.supported.first, .portable)
        XCTAssertEqual(KernelInstructionSet.supported.last, KernelInstructionSet.detected)
        for level in KernelInstructionSet.supported {
            XCTAssertEqual(level.kernels.isa.rawValue, level.rawValue, "the \(level) table")
        }
    }
}
