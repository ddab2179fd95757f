// NHWC max and average pooling kernels against the ONNX MaxPool / AveragePool definitions, at every ISA level.

import XCTest

@testable import ONNXRun

final class PoolingKernelTests: XCTestCase {
    private struct Window {
        var kernel: (Int, Int)
        var stride = (1, 1)
        var dilation = (1, 1)
        var pads = [0, 0, 0, 0]  // ONNX order: top, left, bottom, right
        var ceilMode = false
    }

    /// The ONNX definition on NHWC data: taps inside the input are pooled; a tap in the pads counts for
    /// count_include_pad; a tap past the end pads (ceil_mode's last window) counts nowhere.
    private func reference(_ input: [Float], _ shape: ConvolutionShape, _ kernel: PoolingKernel) -> [Double] {
        var result = [Double](repeating: 0, count: shape.outputElementCount)
        let channels = shape.inputChannels
        for n in 0..<shape.batch {
            for oh in 0..<shape.outputHeight {
                for ow in 0..<shape.outputWidth {
                    for c in 0..<channels {
                        var maximum = -Double.infinity, sum = 0.0, inside = 0, padded = 0
                        for kh in 0..<shape.kernelHeight {
                            let ih = oh * shape.strideHeight - shape.padTop + kh * shape.dilationHeight
                            guard ih < shape.inputHeight + shape.padBottom else { continue }
                            for kw in 0..<shape.kernelWidth {
                                let iw = ow * shape.strideWidth - shape.padLeft + kw * shape.dilationWidth
                                guard iw < shape.inputWidth + shape.padRight else { continue }
                                padded += 1
                                guard ih >= 0, ih < shape.inputHeight, iw >= 0, iw < shape.inputWidth else { continue }
                                let value = Double(input[((n * shape.inputHeight + ih) * shape.inputWidth + iw)
                                    * channels + c])
                                maximum = max(maximum, value)
                                sum += value
                                inside += 1
                            }
                        }
                        let divisor = kernel.countIncludePad ? padded : inside
                        result[((n * shape.outputHeight + oh) * shape.outputWidth + ow) * channels + c] =
                            kernel.reduction == .maximum ? maximum : (divisor > 0 ? sum / Double(divisor) : 0)
                    }
                }
            }
        }
        return result
    }

    private func check(batch: Int = 1, height: Int, width: Int, channels: Int, _ window: Window,
                       _ kernel: PoolingKernel, seed: UInt64, level: KernelInstructionSet) throws {
        let geometry = try ConvolutionGeometry(
            inputSize: [height, width], kernelSize: [window.kernel.0, window.kernel.1],
            strides: [window.stride.0, window.stride.1], dilations: [window.dilation.0, window.dilation.1],
            pads: window.pads, ceilMode: window.ceilMode)
        let shape = ConvolutionShape(batch: batch, inputChannels: channels, outputChannels: channels,
                                     geometry: geometry)
        var random = SeededValues(seed: seed)
        let values = random.array(shape.inputElementCount)
        let input = GuardedBuffer(values)
        let output = GuardedBuffer(count: shape.outputElementCount)
        // Dense, and into a channel window of wider rows (a Concat's buffer).
        let windowed = WindowedOutput(pixels: shape.outputPixelCount, channels: channels)
        var windowShape = shape
        windowShape.outputPixelStride = windowed.rowStride
        for (shape, output) in [(shape, output.pointer), (windowShape, windowed.pointer)] {
            // Rows in uneven pieces, as a thread pool would split them.
            var begin = 0
            for piece in [1, 2, shape.outputRowCount] {
                let end = min(shape.outputRowCount, begin + piece)
                kernel.run(shape: shape, input: input.pointer, output: output, rows: begin..<end, using: level)
                begin = end
            }
        }
        output.assertGuardIntact()
        let expected = reference(values, shape, kernel)
        assertClose(output.values, expected, "\(kernel) \(shape) at \(level)")
        assertClose(windowed.values(), expected, "\(kernel) \(shape) into a window at \(level)")
    }

    func testAwkwardWindowsAtEveryLevel() throws {
        let windows: [Window] = [
            // ResNet's MaxPool after the stem: 3x3 stride 2, pads 1.
            Window(kernel: (3, 3), stride: (2, 2), pads: [1, 1, 1, 1]),
            // GoogLeNet / SqueezeNet: 3x3 stride 2, ceil_mode, no pads (the last window hangs over the edge).
            Window(kernel: (3, 3), stride: (2, 2), ceilMode: true),
            // Asymmetric pads with ceil_mode, a 2x2 window, dilation, a window wider than the image.
            Window(kernel: (2, 3), stride: (2, 1), pads: [0, 1, 1, 2], ceilMode: true),
            Window(kernel: (3, 2), stride: (1, 2), dilation: (2, 3), pads: [2, 1, 1, 0]),
            Window(kernel: (5, 9), stride: (3, 3), pads: [2, 4, 2, 4]),
            Window(kernel: (1, 1), stride: (2, 2)),
        ]
        let kernels = [PoolingKernel(reduction: .maximum), PoolingKernel(reduction: .average),
                       PoolingKernel(reduction: .average, countIncludePad: true)]
        try forEachInstructionSet { level in
            var seed: UInt64 = 0
            for (index, window) in windows.enumerated() {
                for kernel in kernels {
                    // Channel counts below one vector, with a tail, and a multiple of four vectors plus a tail.
                    for channels in [1, 3, 17, 64 + 5] {
                        seed += 1
                        try check(batch: 1 + index % 2, height: 7 + index % 3, width: 6 + index, channels: channels,
                                  window, kernel, seed: seed, level: level)
                    }
                }
            }
        }
    }

    func testGlobalWindowAtEveryLevel() {
        forEachInstructionSet { level in
            for reduction in [PoolingKernel.Reduction.maximum, .average] {
                var random = SeededValues(seed: 11)
                let batch = 3, height = 7, width = 5, channels = 37
                let values = random.array(batch * height * width * channels)
                let shape = ConvolutionShape(batch: batch, inputHeight: height, inputWidth: width,
                                             inputChannels: channels, outputHeight: 1, outputWidth: 1,
                                             outputChannels: channels, kernelHeight: height, kernelWidth: width)
                let input = GuardedBuffer(values), output = GuardedBuffer(count: batch * channels)
                let kernel = PoolingKernel(reduction: reduction)
                kernel.run(shape: shape, input: input.pointer, output: output.pointer, rows: 0..<1, using: level)
                kernel.run(shape: shape, input: input.pointer, output: output.pointer, rows: 1..<batch, using: level)
                output.assertGuardIntact()
                assertClose(output.values, reference(values, shape, kernel), "global \(reduction) at \(level)")
            }
        }
    }
}
