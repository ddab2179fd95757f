// The transposed convolution (packed GEMM per group + col2im) against the ONNX ConvTranspose definition, at every
// ISA level.

import XCTest

@testable import ONNXRun

final class TransposedConvolutionKernelTests: XCTestCase {
    private struct Case {
        var batch = 1, height: Int, width: Int, inputChannels: Int, outputChannels: Int
        var kernel: (Int, Int), stride = (1, 1), dilation = (1, 1)
        var pads: (top: Int, left: Int)  // begin pads (negative: zero borders), output size given below
        var output: (Int, Int)
        var groups = 1, bias = true
        var activation = Activation.none
    }

    /// The definition on NHWC data: every input pixel and tap adds x * w at output position
    /// input * stride - pad + tap * dilation, when that lies inside the output.
    private func reference(_ c: Case, input: [Float], weights: [Float], bias: [Float]?) -> [Double] {
        let inputsPerGroup = c.inputChannels / c.groups, outputsPerGroup = c.outputChannels / c.groups
        var result = [Double](repeating: 0, count: c.batch * c.output.0 * c.output.1 * c.outputChannels)
        for n in 0..<c.batch {
            for oh in 0..<c.output.0 {
                for ow in 0..<c.output.1 {
                    for m in 0..<c.outputChannels {
                        result[((n * c.output.0 + oh) * c.output.1 + ow) * c.outputChannels + m] = Double(bias?[m] ?? 0)
                    }
                }
            }
            for ih in 0..<c.height {
                for iw in 0..<c.width {
                    for ci in 0..<c.inputChannels {
                        let x = Double(input[((n * c.height + ih) * c.width + iw) * c.inputChannels + ci])
                        let group = ci / inputsPerGroup
                        for co in 0..<outputsPerGroup {
                            for kh in 0..<c.kernel.0 {
                                let oh = ih * c.stride.0 - c.pads.top + kh * c.dilation.0
                                guard oh >= 0, oh < c.output.0 else { continue }
                                for kw in 0..<c.kernel.1 {
                                    let ow = iw * c.stride.1 - c.pads.left + kw * c.dilation.1
                                    guard ow >= 0, ow < c.output.1 else { continue }
                                    let w = weights[((ci * outputsPerGroup + co) * c.kernel.0 + kh) * c.kernel.1 + kw]
                                    let m = group * outputsPerGroup + co
                                    result[((n * c.output.0 + oh) * c.output.1 + ow) * c.outputChannels + m] +=
                                        x * Double(w)
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    private func check(_ c: Case, seed: UInt64, level: KernelInstructionSet) throws {
        var random = SeededValues(seed: seed)
        let input = random.array(c.batch * c.height * c.width * c.inputChannels)
        let weights = random.array(c.inputChannels * (c.outputChannels / c.groups) * c.kernel.0 * c.kernel.1)
        let bias = c.bias ? random.array(c.outputChannels) : nil
        let kernel = try TransposedConvolutionKernel(
            weights: weights, bias: bias, inputChannels: c.inputChannels, outputChannels: c.outputChannels,
            kernelHeight: c.kernel.0, kernelWidth: c.kernel.1, groups: c.groups)
        let shape = ConvolutionShape(
            batch: c.batch, inputHeight: c.height, inputWidth: c.width, inputChannels: c.inputChannels,
            outputHeight: c.output.0, outputWidth: c.output.1, outputChannels: c.outputChannels,
            kernelHeight: c.kernel.0, kernelWidth: c.kernel.1, strideHeight: c.stride.0, strideWidth: c.stride.1,
            dilationHeight: c.dilation.0, dilationWidth: c.dilation.1, groups: c.groups)
        let pixels = c.batch * c.height * c.width
        let inputBuffer = GuardedBuffer(input)
        let columns = GuardedBuffer(count: kernel.columnCount(inputPixels: pixels))
        let output = GuardedBuffer(count: shape.outputElementCount)
        // Pixels and rows in uneven pieces, as a thread pool would split them.
        for pixelRange in [0..<min(pixels, 5), min(pixels, 5)..<pixels] {
            for group in 0..<c.groups {
                kernel.computeColumns(input: inputBuffer.pointer, columns: columns.pointer, group: group,
                                      pixels: pixelRange, using: level)
            }
        }
        let rows = shape.outputRowCount
        for range in [0..<min(rows, 3), min(rows, 3)..<rows] {
            kernel.accumulate(columns: columns.pointer, shape: shape, padTop: c.pads.top, padLeft: c.pads.left,
                              output: output.pointer, activation: c.activation, rows: range)
        }
        columns.assertGuardIntact()
        output.assertGuardIntact()
        let expected = referenceEpilogue(reference(c, input: input, weights: weights, bias: bias), residual: nil,
                                         activation: c.activation)
        assertClose(output.values, expected,
                    "ConvTranspose \(c) at \(level)")
    }

    func testAwkwardShapesAtEveryLevel() throws {
        let cases = [
            // A decoder's 2x2 stride-2 upsampling (no overlap), odd channels.
            Case(height: 5, width: 7, inputChannels: 17, outputChannels: 9, kernel: (2, 2), stride: (2, 2),
                 pads: (0, 0), output: (10, 14)),
            // 4x4 stride 2 pads 1 (overlapping taps), batch 2, no bias.
            Case(batch: 2, height: 4, width: 3, inputChannels: 6, outputChannels: 20, kernel: (4, 4), stride: (2, 2),
                 pads: (1, 1), output: (8, 6), bias: false,
                 activation: .clamp(ClampBounds(minimum: 0, maximum: 0.5))),
            // Grouped, asymmetric stride and dilation, output_padding-like extra row and column, a fused SiLU.
            Case(height: 3, width: 6, inputChannels: 8, outputChannels: 12, kernel: (3, 2), stride: (3, 1),
                 dilation: (1, 2), pads: (1, 0), output: (9, 8), groups: 4, activation: .swish(alpha: 1)),
            // Negative begin pads (output_shape beyond the full size) and a 1x1 kernel.
            Case(height: 4, width: 4, inputChannels: 3, outputChannels: 5, kernel: (3, 3), pads: (-1, -2),
                 output: (8, 9)),
            Case(height: 6, width: 1, inputChannels: 33, outputChannels: 1, kernel: (1, 1), pads: (0, 0),
                 output: (6, 1)),
        ]
        try forEachInstructionSet { level in
            for (index, testCase) in cases.enumerated() {
                try check(testCase, seed: UInt64(index + 1), level: level)
            }
        }
    }

    func testRejectsBadWeights() {
        XCTAssertThrowsError(try TransposedConvolutionKernel(weights: [Float](repeating: 0, count: 7), bias: nil,
                                                             inputChannels: 2, outputChannels: 2, kernelHeight: 2,
                                                             kernelWidth: 2, groups: 1))
        XCTAssertThrowsError(try TransposedConvolutionKernel(weights: [Float](repeating: 0, count: 8), bias: nil,
                                                             inputChannels: 2, outputChannels: 2, kernelHeight: 2,
                                                             kernelWidth: 2, groups: 3))
    }
}
