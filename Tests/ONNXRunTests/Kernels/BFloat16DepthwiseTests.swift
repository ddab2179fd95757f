// The depthwise convolution on bfloat16 activations (float32 weights), every variant the CPU has by name, against
// double-precision sums, on awkward shapes; and the GEMM's bfloat16 rows.

import CKernels
import XCTest

@testable import ONNXRun

final class BFloat16DepthwiseTests: XCTestCase {
    private typealias Kernel = (UnsafePointer<ork_depthwise_args>, Int, Int) -> Void

    /// The portable reference, and AVX512-BF16 where the CPU has it (a message says when it is skipped).
    private static var variants: [(name: String, kernel: Kernel)] {
        var variants: [(name: String, kernel: Kernel)] = [("portable", { ork_depthwise_bfloat16_portable($0, $1, $2) })]
        if ork_bfloat16_detected_isa() == ORK_BFLOAT16_AVX512BF16 {
            variants.append(("avx512bf16", { ork_depthwise_bfloat16_avx512bf16($0, $1, $2) }))
        } else {
            print("BFloat16DepthwiseTests: skipping ork_depthwise_bfloat16_avx512bf16: this CPU lacks AVX512-BF16")
        }
        return variants
    }

    private static func bfloat16(_ value: Float) -> UInt16 { ork_bfloat16_from_float(value) }
    private static func float(_ bits: UInt16) -> Float { ork_float_from_bfloat16(bits) }

    /// bfloat16 values two per float-sized word (value 2i in word i's low half), as the kernels read them.
    private static func words(_ values: [UInt16]) -> [Float] {
        stride(from: 0, to: values.count, by: 2).map {
            Float(bitPattern: UInt32(values[$0]) | UInt32(values[$0 + 1]) << 16)
        }
    }

    private static func values(_ words: [Float]) -> [UInt16] {
        words.flatMap { [UInt16(truncatingIfNeeded: $0.bitPattern), UInt16(truncatingIfNeeded: $0.bitPattern >> 16)] }
    }

    private struct Case {
        var batch = 1, height: Int, width: Int, channels: Int
        var kernel = (height: 3, width: 3)
        var strides = (height: 1, width: 1), dilations = (height: 1, width: 1)
        var pads = (top: 1, left: 1, bottom: 1, right: 1)
        var clamp = ClampBounds(minimum: 0, maximum: 6)
    }

    private func check(_ testCase: Case, seed: UInt64) throws {
        var random = SeededValues(seed: seed)
        let c = testCase.channels, (kh, kw) = testCase.kernel
        let outputHeight = (testCase.height + testCase.pads.top + testCase.pads.bottom
            - testCase.dilations.height * (kh - 1) - 1) / testCase.strides.height + 1
        let outputWidth = (testCase.width + testCase.pads.left + testCase.pads.right
            - testCase.dilations.width * (kw - 1) - 1) / testCase.strides.width + 1
        let shape = ConvolutionShape(
            batch: testCase.batch, inputHeight: testCase.height, inputWidth: testCase.width, inputChannels: c,
            outputHeight: outputHeight, outputWidth: outputWidth, outputChannels: c, kernelHeight: kh, kernelWidth: kw,
            strideHeight: testCase.strides.height, strideWidth: testCase.strides.width,
            dilationHeight: testCase.dilations.height, dilationWidth: testCase.dilations.width,
            padTop: testCase.pads.top, padLeft: testCase.pads.left, padBottom: testCase.pads.bottom,
            padRight: testCase.pads.right, groups: c)
        let input = random.array(shape.inputElementCount).map { Self.bfloat16($0 * 3) }
        let weights = random.array(c * kh * kw), bias = random.array(c)
        let float32 = try DepthwiseConvolutionKernel.packing(weights: weights, bias: bias, channels: c,
                                                             kernelHeight: kh, kernelWidth: kw)
        let packed = try XCTUnwrap(DepthwiseConvolutionKernel(bfloat16: float32))
        XCTAssertEqual(packed.precision, .bf16)

        // Double-precision sums of the rounded inputs and weights, clamped; the scale of each for the tolerance.
        var expected = [Double](), magnitudes = [Double]()
        for image in 0..<shape.batch {
            for oh in 0..<outputHeight {
                for ow in 0..<outputWidth {
                    for channel in 0..<c {
                        var sum = Double(bias[channel]), magnitude = abs(sum)
                        for y in 0..<kh {
                            let ih = oh * shape.strideHeight - shape.padTop + y * shape.dilationHeight
                            guard ih >= 0 && ih < shape.inputHeight else { continue }
                            for x in 0..<kw {
                                let iw = ow * shape.strideWidth - shape.padLeft + x * shape.dilationWidth
                                guard iw >= 0 && iw < shape.inputWidth else { continue }
                                let value = Self.float(input[((image * shape.inputHeight + ih) * shape.inputWidth + iw)
                                                             * c + channel])
                                let weight = weights[(channel * kh + y) * kw + x]
                                sum += Double(value) * Double(weight)
                                magnitude += abs(Double(value) * Double(weight))
                            }
                        }
                        expected.append(min(max(sum, Double(testCase.clamp.minimum)), Double(testCase.clamp.maximum)))
                        magnitudes.append(magnitude)
                    }
                }
            }
        }
        var portable: [UInt16]?
        for (name, kernel) in Self.variants {
            let inputBuffer = GuardedBuffer(Self.words(input))
            let output = GuardedBuffer(count: shape.outputElementCount / 2)
            packed.withArguments(shape: shape, input: inputBuffer.pointer, output: output.pointer, residual: nil,
                                 activation: .clamp(testCase.clamp)) { arguments in
                let rows = shape.outputRowCount
                for range in [0..<rows / 3, rows / 3..<rows / 2, rows / 2..<rows] where !range.isEmpty {
                    kernel(arguments, range.lowerBound, range.upperBound)
                }
            }
            output.assertGuardIntact()
            let actual = Self.values(output.values)
            // Float32 fused multiply-adds in tap order, then one rounding to bfloat16: within 2^-8 relative, plus the
            // sums' error.
            let tolerance = expected.indices.map { abs(expected[$0]) / 256 + 1e-6 * magnitudes[$0] }
            if let index = actual.indices.first(where: {
                abs(Double(Self.float(actual[$0])) - expected[$0]) > tolerance[$0]
            }) {
                XCTFail("\(name) \(testCase): value \(index) is \(Self.float(actual[index])), expected \(expected[index])")
            }
            // Every variant sums in the same order: the same bits as the portable reference.
            if let portable { XCTAssertEqual(actual, portable, "\(name) \(testCase) against portable") }
            portable = portable ?? actual
        }
    }

    func testAwkwardShapesAtEveryVariant() throws {
        let cases: [Case] = [
            Case(height: 1, width: 1, channels: 2),
            Case(height: 7, width: 9, channels: 34),  // a 2-channel tail group
            Case(height: 12, width: 19, channels: 96),  // 8 interior pixels and rests
            Case(batch: 2, height: 9, width: 14, channels: 144, strides: (2, 2), pads: (0, 0, 1, 1)),
            Case(height: 11, width: 10, channels: 62, kernel: (5, 5), pads: (2, 1, 1, 2)),
            Case(height: 8, width: 13, channels: 130, kernel: (5, 5), strides: (2, 2), pads: (1, 2, 2, 1)),
            Case(height: 10, width: 10, channels: 40, dilations: (2, 2), pads: (2, 2, 2, 2), clamp: ClampBounds()),
            Case(height: 5, width: 6, channels: 8, pads: (4, 4, 4, 4)),  // rows and columns of padding only
            Case(height: 6, width: 7, channels: 16, kernel: (3, 2), pads: (0, 1, 2, 0),
                 clamp: ClampBounds(minimum: -0.5, maximum: 0.5)),
            Case(height: 3, width: 40, channels: 256, kernel: (1, 7), pads: (0, 3, 0, 3)),
        ]
        for (index, testCase) in cases.enumerated() { try check(testCase, seed: UInt64(index + 11)) }
    }

    func testOddChannelsHaveNoBFloat16Weights() throws {
        let weights = try DepthwiseConvolutionKernel.packing(weights: [Float](repeating: 1, count: 27), channels: 3,
                                                             kernelHeight: 3, kernelWidth: 3)
        XCTAssertNil(DepthwiseConvolutionKernel(bfloat16: weights))
    }

    // MARK: - The GEMM on bfloat16 rows

    /// bfloat16 A rows give the bits the same variant's float32 rows give for the same (rounded) values, and a
    /// bfloat16 C is its float32 C rounded: the conversion moved, the arithmetic did not.
    func testGemmOnBFloat16RowsMatchesFloatRows() throws {
        typealias FloatKernel = (UnsafePointer<ork_gemm_args>, Int, Int) -> Void
        typealias RowsKernel = (UnsafePointer<ork_gemm_args>, UnsafePointer<ork_bfloat16_rows>, Int, Int) -> Void
        var variants: [(String, FloatKernel, RowsKernel)] = [
            ("portable", { ork_gemm_bfloat16_portable($0, $1, $2) }, { ork_gemm_bfloat16_rows_portable($0, $1, $2, $3) }),
        ]
        if ork_bfloat16_detected_isa() == ORK_BFLOAT16_AVX512BF16 {
            variants.append(("avx512bf16", { ork_gemm_bfloat16_avx512bf16($0, $1, $2) },
                             { ork_gemm_bfloat16_rows_avx512bf16($0, $1, $2, $3) }))
        } else {
            print("BFloat16DepthwiseTests: skipping ork_gemm_bfloat16_rows_avx512bf16: this CPU lacks AVX512-BF16")
        }
        var random = SeededValues(seed: 21)
        for (m, k, n, stride) in [(1, 2, 1, 2), (13, 24, 144, 26), (29, 144, 24, 144), (40, 96, 40, 100)] {
            let packed = try PackedMatrixWeights(bfloat16: .packing(
                weights: random.array(n * k), layout: .outputMajor, reductionCount: k, outputCount: n,
                bias: random.array(n)))
            let input = random.array(m * stride).map { Self.bfloat16($0 * 2) }
            let clamp = ClampBounds(minimum: -1, maximum: 1.5)
            let floatInput = GuardedBuffer(input.map { Self.float($0) }), wordInput = GuardedBuffer(Self.words(input))
            for (name, floatKernel, kernel) in variants {
                let reference = GuardedBuffer(count: m * n)
                packed.withArguments(input: floatInput.pointer, inputRowStride: stride, output: reference.pointer,
                                     outputRowStride: n, residual: nil, residualRowStride: 0,
                                     activation: .clamp(clamp)) { floatKernel($0, 0, m) }
                // bfloat16 A, float32 C.
                let fromWords = GuardedBuffer(count: m * n)
                var rows = ork_bfloat16_rows(a: UnsafeRawPointer(wordInput.pointer).assumingMemoryBound(to: UInt16.self),
                                             a_row_stride: stride, c: nil, c_row_stride: 0)
                packed.withArguments(input: floatInput.pointer, inputRowStride: stride, output: fromWords.pointer,
                                     outputRowStride: n, residual: nil, residualRowStride: 0,
                                     activation: .clamp(clamp)) { kernel($0, &rows, 0, m / 2); kernel($0, &rows, m / 2, m) }
                fromWords.assertGuardIntact()
                XCTAssertEqual(fromWords.values, reference.values, "\(name) \(m)x\(k)x\(n): bfloat16 A")
                // float32 A, bfloat16 C (n rounded up to even for whole words).
                let evenN = n + n % 2
                let toWords = GuardedBuffer(count: m * evenN / 2, filledWith: 0)
                rows = ork_bfloat16_rows(a: nil, a_row_stride: 0,
                                         c: UnsafeMutableRawPointer(toWords.pointer).assumingMemoryBound(to: UInt16.self),
                                         c_row_stride: evenN)
                packed.withArguments(input: floatInput.pointer, inputRowStride: stride, output: toWords.pointer,
                                     outputRowStride: n, residual: nil, residualRowStride: 0,
                                     activation: .clamp(clamp)) { kernel($0, &rows, 0, m / 3); kernel($0, &rows, m / 3, m) }
                let written = Self.values(toWords.values)
                for row in 0..<m {
                    for column in 0..<evenN {
                        let actual = written[row * evenN + column]
                        let expected = column < n ? Self.bfloat16(reference.values[row * n + column]) : 0
                        XCTAssertEqual(actual, expected, "\(name) \(m)x\(k)x\(n): bfloat16 C at \(row), \(column)")
                    }
                }
            }
        }
    }
}
