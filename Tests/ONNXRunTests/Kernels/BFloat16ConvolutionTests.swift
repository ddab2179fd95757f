// The bfloat16 general convolution, every variant the CPU has by name, against the ONNX Conv definition in float64
// (loose: bfloat16 products) and the variants against each other (tight: the same rounding, other sums).

import CKernels
import XCTest

@testable import ONNXRun

final class BFloat16ConvolutionTests: XCTestCase {
    private typealias Kernel = (UnsafePointer<ork_convolution_args>, Int, Int, UnsafeMutablePointer<Float>?) -> Void

    /// The portable reference, and AVX512-BF16 where the CPU has it (a message says when it is skipped).
    private static var variants: [(name: String, kernel: Kernel)] {
        var variants: [(name: String, kernel: Kernel)] = [
            ("portable", { ork_convolution_bfloat16_portable($0, $1, $2, $3) }),
        ]
        if ork_bfloat16_detected_isa() == ORK_BFLOAT16_AVX512BF16 {
            variants.append(("avx512bf16", { ork_convolution_bfloat16_avx512bf16($0, $1, $2, $3) }))
        } else {
            print("BFloat16ConvolutionTests: skipping ork_convolution_bfloat16_avx512bf16: this CPU lacks AVX512-BF16")
        }
        return variants
    }

    private struct Case {
        var batch = 1, height: Int, width: Int, channels: Int, outputs: Int
        var kernel: (Int, Int), stride = (1, 1), dilation = (1, 1), pads: (Int, Int, Int, Int), groups = 1
        var residual = false, activation = Activation.none
    }

    private func check(_ testCase: Case, seed: UInt64) throws {
        let (kh, kw) = testCase.kernel, (sh, sw) = testCase.stride, (dh, dw) = testCase.dilation
        let (top, left, bottom, right) = testCase.pads
        let shape = ConvolutionShape(
            batch: testCase.batch, inputHeight: testCase.height, inputWidth: testCase.width,
            inputChannels: testCase.channels,
            outputHeight: (testCase.height + top + bottom - ((kh - 1) * dh + 1)) / sh + 1,
            outputWidth: (testCase.width + left + right - ((kw - 1) * dw + 1)) / sw + 1,
            outputChannels: testCase.outputs, kernelHeight: kh, kernelWidth: kw, strideHeight: sh, strideWidth: sw,
            dilationHeight: dh, dilationWidth: dw, padTop: top, padLeft: left, groups: testCase.groups)
        var random = SeededValues(seed: seed)
        let input = random.array(shape.inputElementCount)
        let weights = random.array(shape.outputChannels * (shape.inputChannels / shape.groups) * kh * kw)
        let bias = random.array(shape.outputChannels)
        let residual = testCase.residual ? random.array(shape.outputElementCount) : nil
        let reference = referenceConvolutionNCHW(input: input, weights: weights, bias: bias, shape: shape)
        let layout = { (values: [Double]) in
            channelsLast(values, batch: shape.batch, channels: shape.outputChannels, height: shape.outputHeight,
                         width: shape.outputWidth)
        }
        let expected = referenceEpilogue(layout(reference.values), residual: residual, activation: testCase.activation)
        let magnitudes = layout(reference.magnitudes)

        let float32 = try ConvolutionKernel.packing(
            weights: weights, bias: bias, outputChannels: shape.outputChannels,
            inputChannelsPerGroup: shape.inputChannels / shape.groups, kernelHeight: kh, kernelWidth: kw,
            groups: shape.groups)
        let kernel = ConvolutionKernel(bfloat16: float32)
        XCTAssertEqual(kernel.precision, .bf16)
        let inputBuffer = GuardedBuffer(channelsLast(input, batch: shape.batch, channels: shape.inputChannels,
                                                     height: shape.inputHeight, width: shape.inputWidth))
        let residualBuffer = residual.map { GuardedBuffer($0) }
        let scratchCount = max(1, kernel.scratchCount(for: shape))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
        defer { scratch.deallocate() }
        var outputs: [(String, [Float])] = []
        for (name, variant) in Self.variants {
            let output = GuardedBuffer(count: shape.outputElementCount)
            var arguments = kernel.arguments(shape, input: inputBuffer.pointer, output: output.pointer,
                                             residual: residualBuffer.map { UnsafePointer($0.pointer) },
                                             activation: testCase.activation)
            // Pixels in uneven pieces, as a thread pool would split them.
            let pixels = shape.outputPixelCount
            for range in [0..<pixels / 3, pixels / 3..<pixels / 2, pixels / 2..<pixels] where !range.isEmpty {
                variant(&arguments, range.lowerBound, range.upperBound, scratch)
            }
            output.assertGuardIntact()
            // Each product of two bfloat16-rounded values is within 2 * 2^-9 of the exact one.
            assertClose(output.values, expected, scale: magnitudes, tolerance: 4e-3, "\(name) \(testCase)")
            outputs.append((name, output.values))
        }
        // The vector variant rounds as the portable one; only the float32 summation order differs.
        for (name, values) in outputs.dropFirst() {
            assertClose(values, outputs[0].1.map(Double.init), scale: magnitudes, tolerance: 1e-5,
                        "\(name) against portable \(testCase)")
        }
        // The dispatching entry, through the weights' own run.
        let output = GuardedBuffer(count: shape.outputElementCount)
        kernel.run(shape: shape, input: inputBuffer.pointer, output: output.pointer,
                   residual: residualBuffer.map { UnsafePointer($0.pointer) }, activation: testCase.activation,
                   pixels: 0..<shape.outputPixelCount, scratch: scratch)
        assertClose(output.values, expected, scale: magnitudes, tolerance: 4e-3, "run \(testCase)")
    }

    func testAwkwardShapesAtEveryVariant() throws {
        let cases: [Case] = [
            // The stem's window (3 channels: odd pieces of 9 floats, pairs across kernel rows), stride 2, pads.
            Case(height: 13, width: 15, channels: 3, outputs: 64, kernel: (3, 3), stride: (2, 2), pads: (1, 1, 1, 1),
                 activation: .clamp(ClampBounds(minimum: 0, maximum: 6))),
            // Odd channels, 5 and 24 outputs (half panels), residual, asymmetric pads, batch 2.
            Case(batch: 2, height: 7, width: 9, channels: 5, outputs: 24, kernel: (3, 3), pads: (0, 1, 1, 0),
                 residual: true),
            Case(height: 6, width: 20, channels: 17, outputs: 5, kernel: (3, 3), pads: (1, 1, 1, 1)),
            // Dilation (a piece per tap), a wide kernel row, and a 1x1 with stride (the general path).
            Case(height: 11, width: 12, channels: 6, outputs: 40, kernel: (3, 2), dilation: (2, 3),
                 pads: (2, 1, 0, 2)),
            Case(height: 9, width: 9, channels: 33, outputs: 70, kernel: (1, 1), stride: (2, 2), pads: (0, 0, 0, 0)),
            // Groups, and weights outweighing the pixels (whole im2col path; K = 3 * 3 * 160 over chunks).
            Case(height: 8, width: 7, channels: 8, outputs: 66, kernel: (3, 3), pads: (1, 1, 1, 1), groups: 2),
            Case(height: 4, width: 3, channels: 160, outputs: 80, kernel: (3, 3), pads: (1, 1, 1, 1), residual: true),
        ]
        for (index, testCase) in cases.enumerated() { try check(testCase, seed: UInt64(index + 11)) }
    }
}
