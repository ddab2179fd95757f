// The bfloat16 GEMM, every variant the CPU has by name: rounding, against products of bfloat16-rounded inputs
// (tight) and against float32 (loose), on awkward shapes.

import CKernels
import XCTest

@testable import ONNXRun

final class BFloat16GemmTests: XCTestCase {
    private typealias Kernel = (UnsafePointer<ork_gemm_args>, Int, Int) -> Void

    /// The portable reference, and AVX512-BF16 where the CPU has it (a message says when it is skipped).
    private static var variants: [(name: String, kernel: Kernel)] {
        var variants: [(name: String, kernel: Kernel)] = [("portable", { ork_gemm_bfloat16_portable($0, $1, $2) })]
        if ork_bfloat16_detected_isa() == ORK_BFLOAT16_AVX512BF16 {
            variants.append(("avx512bf16", { ork_gemm_bfloat16_avx512bf16($0, $1, $2) }))
        } else {
            print("BFloat16GemmTests: skipping ork_gemm_bfloat16_avx512bf16: this CPU lacks AVX512-BF16")
        }
        return variants
    }

    private func rounded(_ value: Float) -> Float { ork_float_from_bfloat16(ork_bfloat16_from_float(value)) }

    // MARK: - Rounding

    func testRoundingIsNearestEvenWithZeroForDenormals() {
        let cases: [(bits: UInt32, expected: UInt16)] = [
            (0x3F80_0000, 0x3F80),  // 1
            (0x3F80_8000, 0x3F80),  // halfway, even below: down
            (0x3F81_8000, 0x3F82),  // halfway, odd below: up
            (0x3F80_8001, 0x3F81),  // just over halfway: up
            (0x3F80_7FFF, 0x3F80),  // just under halfway: down
            (0xBF81_8000, 0xBF82),  // negative ties to even too
            (0x7F7F_FFFF, 0x7F80),  // the largest float rounds to infinity
            (0x7F80_0000, 0x7F80),  // infinity
            (0x0000_0001, 0x0000),  // denormals become zero (as vcvtne2ps2bf16 does)
            (0x807F_FFFF, 0x8000),
            (0x0080_0000, 0x0080),  // the smallest normal stays
        ]
        for (bits, expected) in cases {
            XCTAssertEqual(ork_bfloat16_from_float(Float(bitPattern: bits)), expected,
                           "bfloat16 of 0x\(String(bits, radix: 16))")
        }
        XCTAssertTrue(Float(bitPattern: UInt32(ork_bfloat16_from_float(.nan)) << 16).isNaN)
        XCTAssertTrue(Float(bitPattern: UInt32(ork_bfloat16_from_float(Float(bitPattern: 0x7F80_0001))) << 16).isNaN,
                      "a NaN whose payload is in the low bits must not become infinity")
        XCTAssertEqual(ork_float_from_bfloat16(0x4049), 3.140625)
    }

    /// A 1 x 1 product by 1 is the rounded input itself: every variant rounds like the portable reference
    /// (ties and denormals included).
    func testEveryVariantRoundsLikeThePortableReference() throws {
        var random = SeededValues(seed: 5)
        var values = random.array(997).map { $0 * 1000 }
        values += [1.00390625, 1.01171875, -1.00390625, 0, 65504.5]  // ties
        values += [Float(bitPattern: 0x0020_0000), Float(bitPattern: 0x8000_1234)]  // denormals
        let weights = try PackedMatrixWeights(
            bfloat16: .packing(weights: [1], layout: .outputMajor, reductionCount: 1, outputCount: 1))
        for (name, kernel) in Self.variants {
            let output = GuardedBuffer(count: values.count)
            run(kernel, weights: weights, input: values, inputStride: 1, output: output, outputStride: 1,
                    rows: values.count)
            for (value, actual) in zip(values, output.values) {
                XCTAssertEqual(actual, rounded(value), "\(name) rounds \(value)")  // 0 + -0 is +0: compare values
            }
        }
    }

    // MARK: - Products

    private struct Case {
        var rows: Int, reduction: Int, outputs: Int
        var inputStride = 0, outputStride = 0  // 0: packed rows
        var bias = true, residual = false
        var clamp = ClampBounds.none
    }

    /// Runs `kernel` over the rows in three calls (a split range must give what one call gives).
    private func run(_ kernel: Kernel, weights: PackedMatrixWeights, input: [Float], inputStride: Int,
                     output: GuardedBuffer, outputStride: Int, residual: GuardedBuffer? = nil,
                     clamp: ClampBounds = .none, rows: Int) {
        let inputBuffer = GuardedBuffer(input)
        weights.withArguments(input: inputBuffer.pointer, inputRowStride: inputStride, output: output.pointer,
                                  outputRowStride: outputStride, residual: residual.map { UnsafePointer($0.pointer) },
                                  residualRowStride: outputStride, activation: .clamp(clamp)) { arguments in
            for range in [0..<rows / 3, rows / 3..<rows / 2, rows / 2..<rows] where !range.isEmpty {
                kernel(arguments, range.lowerBound, range.upperBound)
            }
        }
        output.assertGuardIntact()
    }

    private func check(_ testCase: Case, seed: UInt64) throws {
        var random = SeededValues(seed: seed)
        let m = testCase.rows, k = testCase.reduction, n = testCase.outputs
        let inputStride = max(testCase.inputStride, k), outputStride = max(testCase.outputStride, n)
        let input = random.array(m * inputStride), weights = random.array(n * k)  // weights [n][k]
        let bias = testCase.bias ? random.array(n) : nil
        let residual = testCase.residual ? random.array(m * outputStride) : nil
        let packed = try PackedMatrixWeights(bfloat16: .packing(weights: weights, layout: .outputMajor,
                                                                reductionCount: k, outputCount: n, bias: bias))
        XCTAssertEqual(packed.precision, .bf16)

        // Double-precision sums of the bfloat16-rounded products, and of the exact float32 ones.
        var roundedExpected = [Double](repeating: 0, count: m * outputStride), exactExpected = roundedExpected
        var magnitudes = roundedExpected, written = [Bool](repeating: false, count: m * outputStride)
        for row in 0..<m {
            for column in 0..<n {
                let index = row * outputStride + column
                let start = Double(bias?[column] ?? 0) + Double(residual?[index] ?? 0)
                var roundedSum = start, exactSum = start, magnitude = abs(start)
                for position in 0..<k {
                    let a = input[row * inputStride + position], b = weights[column * k + position]
                    roundedSum += Double(rounded(a)) * Double(rounded(b))
                    exactSum += Double(a) * Double(b)
                    magnitude += abs(Double(a) * Double(b))
                }
                let (low, high) = (Double(testCase.clamp.minimum), Double(testCase.clamp.maximum))
                roundedExpected[index] = min(max(roundedSum, low), high)
                exactExpected[index] = min(max(exactSum, low), high)
                magnitudes[index] = magnitude
                written[index] = true
            }
        }
        let kept = (0..<written.count).filter { written[$0] }
        for (name, kernel) in Self.variants {
            let output = GuardedBuffer(count: m * outputStride, filledWith: -7)
            let residualBuffer = residual.map { GuardedBuffer($0) }
            run(kernel, weights: packed, input: input, inputStride: inputStride, output: output,
                    outputStride: outputStride, residual: residualBuffer, clamp: testCase.clamp, rows: m)
            let actual = output.values
            for index in 0..<actual.count where !written[index] {
                XCTAssertEqual(actual[index], -7, "\(name) wrote outside its columns at \(index)")
            }
            // Only the float32 summation differs from the rounded-input reference.
            assertClose(kept.map { actual[$0] }, kept.map { roundedExpected[$0] }, scale: kept.map { magnitudes[$0] },
                        tolerance: 1e-5, "\(name) \(testCase) against bfloat16-rounded inputs")
            // Each product of two rounded values is within 2 * 2^-9 of the exact one: 4e-3 of the magnitude.
            assertClose(kept.map { actual[$0] }, kept.map { exactExpected[$0] }, scale: kept.map { magnitudes[$0] },
                        tolerance: 4e-3, "\(name) \(testCase) against float32")
        }
    }

    func testAwkwardShapesAtEveryVariant() throws {
        let cases: [Case] = [
            Case(rows: 1, reduction: 1, outputs: 1),
            Case(rows: 7, reduction: 3, outputs: 17),
            Case(rows: 13, reduction: 24, outputs: 33, residual: true),
            Case(rows: 25, reduction: 17, outputs: 101),
            Case(rows: 50, reduction: 64, outputs: 48, clamp: ClampBounds(minimum: 0, maximum: 6)),
            Case(rows: 29, reduction: 33, outputs: 16, inputStride: 40, outputStride: 21, residual: true,
                 clamp: ClampBounds(minimum: -0.5, maximum: 0.5)),
            Case(rows: 31, reduction: 96, outputs: 24, bias: false),
            Case(rows: 3, reduction: 1281, outputs: 40),
            Case(rows: 100, reduction: 320, outputs: 80, residual: true, clamp: ClampBounds(minimum: 0)),
            Case(rows: 12, reduction: 2, outputs: 8),
        ]
        for (index, testCase) in cases.enumerated() { try check(testCase, seed: UInt64(index + 1)) }
    }

    /// An activation other than a clamp (EfficientNet-B0's SiLU) is applied after the sums, at every variant.
    func testActivationAfterTheSums() throws {
        var random = SeededValues(seed: 9)
        let m = 14, k = 20, n = 40
        let packed = try PackedMatrixWeights(bfloat16: .packing(
            weights: random.array(n * k), layout: .outputMajor, reductionCount: k, outputCount: n,
            bias: random.array(n)))
        let input = random.array(m * k), inputBuffer = GuardedBuffer(input)
        for (name, kernel) in Self.variants {
            let plain = GuardedBuffer(count: m * n), activated = GuardedBuffer(count: m * n)
            run(kernel, weights: packed, input: input, inputStride: k, output: plain, outputStride: n, rows: m)
            packed.withArguments(input: inputBuffer.pointer, inputRowStride: k, output: activated.pointer,
                                 outputRowStride: n, residual: nil, residualRowStride: 0,
                                 activation: .swish(alpha: 1)) { kernel($0, 0, m) }
            activated.assertGuardIntact()
            for (sum, actual) in zip(plain.values, activated.values) {
                XCTAssertEqual(actual, sum / (1 + exp(-sum)), accuracy: 1e-5 * max(1, abs(sum)), "\(name) SiLU")
            }
        }
    }

    /// Through the dispatching wrapper: the column split of the classifier and an in-place residual.
    func testPackedWeightsSplitColumnsAndResidualInPlace() throws {
        var random = SeededValues(seed: 77)
        let m = 3, k = 71, n = 53
        let input = GuardedBuffer(random.array(m * k)), start = random.array(m * n)
        let packed = try PackedMatrixWeights(bfloat16: .packing(
            weights: random.array(n * k), layout: .outputMajor, reductionCount: k, outputCount: n,
            bias: random.array(n)))
        let clamp = ClampBounds(minimum: -1, maximum: 1)
        let whole = GuardedBuffer(count: m * n), inPlace = GuardedBuffer(start)
        let residual = GuardedBuffer(start)
        packed.run(input: input.pointer, inputRowStride: k, output: whole.pointer, outputRowStride: n,
                   residual: residual.pointer, residualRowStride: n, activation: .clamp(clamp), rows: 0..<m)
        for columns in [0..<16, 16..<48, 48..<n] {
            packed.run(input: input.pointer, inputRowStride: k, output: inPlace.pointer, outputRowStride: n,
                       residual: inPlace.pointer, residualRowStride: n, activation: .clamp(clamp), rows: 0..<m,
                       columns: columns)
        }
        inPlace.assertGuardIntact()
        XCTAssertEqual(inPlace.values, whole.values)
        XCTAssertFalse(whole.values.contains { $0.isNaN })
    }

    /// A bias added after the conversion lands where the bfloat16 layout keeps it.
    func testBiasAddedToBFloat16Weights() throws {
        var random = SeededValues(seed: 3)
        let k = 5, n = 20
        let weights = random.array(n * k), bias = random.array(n), input = GuardedBuffer(random.array(2 * k))
        let withBias = try PackedMatrixWeights(bfloat16: .packing(weights: weights, layout: .outputMajor,
                                                                  reductionCount: k, outputCount: n, bias: bias))
        let added = try PackedMatrixWeights(
            PackedMatrixWeights(bfloat16: .packing(weights: weights, layout: .outputMajor, reductionCount: k,
                                                   outputCount: n)),
            addingBias: bias)
        let first = GuardedBuffer(count: 2 * n), second = GuardedBuffer(count: 2 * n)
        withBias.run(input: input.pointer, inputRowStride: k, output: first.pointer, outputRowStride: n, rows: 0..<2)
        added.run(input: input.pointer, inputRowStride: k, output: second.pointer, outputRowStride: n, rows: 0..<2)
        XCTAssertEqual(first.values, second.values)
    }
}
