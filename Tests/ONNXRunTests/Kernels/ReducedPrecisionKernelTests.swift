// The reduced-precision float kernels at every ISA level the CPU has, bit for bit against plain Swift (float16
// rounding against the reference Cast; the range; the rescaling of int32 accumulators, with and without residual
// and clamp, over channel counts around the vector widths), and the int8 depthwise kernels' int32 output with the
// input zero point set at run time (dynamic quantization), every variant called by name.

import CKernels
import Foundation
import XCTest

@testable import ONNXRun

final class ReducedPrecisionKernelTests: XCTestCase {
    /// Values around float16's edges: ties at both precisions, the subnormal range and its boundary, the largest
    /// finite value and the overflow threshold, infinities, NaN, and signed zeros.
    private func awkwardValues() -> [Float] {
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.996, 65520, 65536, -65520, 1e10, .infinity, -.infinity, .nan,
                               Float(bitPattern: 0x3880_0000), Float(bitPattern: 0x387F_FFFF), 5.960_464_5e-8,
                               2.980_232_2e-8, 2.980_233e-8, 8.940_697e-8, -1.192_092_9e-7, 1e-30, .leastNonzeroMagnitude,
                               1 + 1.0 / 2048, 1 + 3.0 / 2048, 1 + 1.0 / 2048 + 1.0 / 65536, 2049, 2051, -4097]
        var random = SeededValues(seed: 7)
        // Random magnitudes over float16's whole range, and random bit patterns.
        values += (0..<300).map { _ in random.next() * Float(pow(2.0, Double(Int(random.next() * 20)))) }
        values += (0..<300).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: Int(random.next() * 2_147_483_647)) &* 2_654_435_761) }
        return values
    }

    func testRoundToFloat16MatchesTheCastAtEveryLevel() throws {
        let values = awkwardValues()
        let expected = try castTensor(castTensor(Tensor(shape: [values.count], floats: values), to: .float16), to: .float).floats
        try forEachInstructionSet { level in
            // Every count up to a few vectors (tails), then all at once.
            for count in Array(0...37) + [values.count] {
                let input = GuardedBuffer(Array(values.prefix(count)))
                let output = GuardedBuffer(count: count)
                ReducedPrecisionKernels.roundToFloat16(input.pointer, output.pointer, count: count, using: level)
                output.assertGuardIntact()
                for (index, value) in output.values.enumerated() where value.bitPattern != expected[index].bitPattern {
                    XCTAssertTrue(value.isNaN && expected[index].isNaN,
                                  "\(level): \(values[index]) rounded to \(value), the Cast gives \(expected[index])")
                }
            }
            // In place.
            let buffer = GuardedBuffer(values)
            ReducedPrecisionKernels.roundToFloat16(buffer.pointer, buffer.pointer, count: values.count, using: level)
            XCTAssertEqual(buffer.values.filter { !$0.isNaN }, expected.filter { !$0.isNaN }, "\(level) in place")
        }
    }

    func testRangeAtEveryLevel() {
        var random = SeededValues(seed: 11)
        try? forEachInstructionSet { level in
            for count in [1, 3, 4, 7, 8, 15, 16, 17, 33, 1000] {
                let values = random.array(count).map { $0 * 100 }
                let range = values.withUnsafeBufferPointer {
                    ReducedPrecisionKernels.range($0.baseAddress!, count: count, using: level)
                }
                XCTAssertEqual(range.minimum, values.min(), "\(level) minimum of \(count)")
                XCTAssertEqual(range.maximum, values.max(), "\(level) maximum of \(count)")
            }
        }
    }

    func testRescaleInt32AtEveryLevel() {
        var random = SeededValues(seed: 13)
        try? forEachInstructionSet { level in
            for channels in [1, 3, 4, 8, 15, 16, 17, 40] {
                for (withResidual, clamp) in [(false, ClampBounds.none), (true, .none), (false, ClampBounds(minimum: 0, maximum: 6)),
                                              (true, ClampBounds(minimum: -1, maximum: .infinity))] {
                    let rows = 3, count = rows * channels
                    let accumulators = (0..<count).map { _ in Int32(random.next() * 2_000_000) }
                    let scales = (0..<channels).map { _ in abs(random.next()) * 1e-4 + 1e-6 }
                    let bias = random.array(channels)
                    let residual = random.array(count).map { $0 * 3 }
                    let output = GuardedBuffer(count: count)
                    accumulators.withUnsafeBufferPointer { accumulators in
                        scales.withUnsafeBufferPointer { scales in
                            bias.withUnsafeBufferPointer { bias in
                                residual.withUnsafeBufferPointer { residual in
                                    ReducedPrecisionKernels.rescale(
                                        ork_rescale_args(channels: channels, input: accumulators.baseAddress,
                                                         scale: scales.baseAddress, bias: bias.baseAddress,
                                                         residual: withResidual ? residual.baseAddress : nil,
                                                         output: output.pointer, min: clamp.minimum, max: clamp.maximum),
                                        rows: rows, using: level)
                                }
                            }
                        }
                    }
                    output.assertGuardIntact()
                    for index in 0..<count {
                        // Cast, Mul, Add (and the residual Add): each rounded on its own.
                        var expected = Float(accumulators[index]) * scales[index % channels]
                        expected = expected + bias[index % channels]
                        if withResidual { expected = expected + residual[index] }
                        expected = min(max(expected, clamp.minimum), clamp.maximum)
                        XCTAssertEqual(output.pointer[index].bitPattern, expected.bitPattern,
                                       "\(level), \(channels) channels, residual \(withResidual), \(clamp): [\(index)]")
                    }
                }
            }
        }
    }

    func testDepthwiseInt32OutputWithRunTimeZeroPoint() throws {
        typealias Kernel = (UnsafePointer<ork_qdepthwise_args>?, Int, Int) -> Void
        let variants: [(QuantizedKernelVariant, Kernel)] = [(.portable, ork_qdepthwise_portable),
                                                            (.avx2, ork_qdepthwise_avx2),
                                                            (.avx512, ork_qdepthwise_avx512),
                                                            (.avx512VNNI, ork_qdepthwise_avx512vnni)]
        // 3x3 stride 1 and 2 (the interiors), 5x5, fewer and more channels than a tile, 1 channel.
        let shapes = [(3, 1, 17), (3, 2, 5), (5, 1, 33), (3, 1, 1), (3, 2, 48)].enumerated().map { index, test in
            let (kernel, stride, channels) = test
            let (height, width, pad) = (7 + index, 12 + 3 * index, kernel / 2)
            return ConvolutionShape(
                batch: 2, inputHeight: height, inputWidth: width, inputChannels: channels,
                outputHeight: (height + 2 * pad - kernel) / stride + 1, outputWidth: (width + 2 * pad - kernel) / stride + 1,
                outputChannels: channels, kernelHeight: kernel, kernelWidth: kernel, strideHeight: stride,
                strideWidth: stride, padTop: pad, padLeft: pad, groups: channels)
        }
        var random = SeededValues(seed: 17)
        for (variant, kernel) in variants {
            guard variant.isSupported else {
                print("skipping the \(variant) int8 kernels: this CPU lacks them")
                continue
            }
            for shape in shapes {
                let weights = (0..<shape.outputChannels * shape.kernelHeight * shape.kernelWidth).map { _ in
                    Int8(clamping: Int(random.next() * 128))
                }
                let zeros = (0..<shape.outputChannels).map { _ in Int8(clamping: Int(random.next() * 5)) }
                let input = (0..<shape.inputElementCount).map { _ in UInt8(clamping: Int((random.next() + 1) * 128)) }
                // Packed for zero point 0, run for others: the run-time copy re-derives the interior bias.
                let packed = try QuantizedConvolutionWeights(
                    weights: Tensor(shape: [shape.outputChannels, 1, shape.kernelHeight, shape.kernelWidth],
                                    computed: weights),
                    weightZeroPoints: Tensor(shape: [shape.outputChannels], computed: zeros), bias: nil, scales: [1],
                    inputZeroPoint: 0, groups: shape.groups)
                for inputZero: Int32 in [0, 37, 255] {
                    let copy = try XCTUnwrap(packed.depthwiseWeights(inputZeroPoint: inputZero))
                    var output = [Int32](repeating: .min, count: shape.outputElementCount)
                    input.withUnsafeBufferPointer { input in
                        output.withUnsafeMutableBufferPointer { output in
                            var arguments = packed.depthwiseArguments(shape, input: input.baseAddress!, output: nil,
                                                                      store: QuantizedStore(zeroPoint: 0), residual: nil)
                            arguments.x_zero_point = inputZero
                            arguments.packed_weights = UnsafeRawPointer(copy.pointer)
                            arguments.output_int32 = output.baseAddress
                            kernel(&arguments, 0, 1)
                            kernel(&arguments, 1, shape.outputRowCount)
                        }
                    }
                    check: for n in 0..<shape.batch {
                        for y in 0..<shape.outputHeight {
                            for x in 0..<shape.outputWidth {
                                for o in 0..<shape.outputChannels {
                                    let index = ((n * shape.outputHeight + y) * shape.outputWidth + x) * shape.outputChannels + o
                                    let expected = referenceAccumulator(shape, input: input, inputZero: inputZero,
                                                                        weights: weights, weightZeroPoints: zeros,
                                                                        at: (n, y, x, o))
                                    if Int(output[index]) != expected {
                                        XCTFail("\(variant) \(shape), zero point \(inputZero), at [\(n), \(y), \(x), \(o)]: "
                                                    + "\(output[index]), expected \(expected)")
                                        break check
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
