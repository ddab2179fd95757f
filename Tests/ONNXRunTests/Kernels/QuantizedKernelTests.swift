// The int8 C kernels, every variant this CPU has called by name, against plain references on awkward shapes:
// remainders of the 4-step groups and 16-column panels, 1 column, per-tensor and per-channel scales, zero points
// 0/128/255, weight zero points, the fused QLinearAdd in both operand orders, int32 output, and 255 x -128 pairs
// (beyond int16: every variant, the AVX2 one too, stays exact).

import CKernels
import XCTest

@testable import ONNXRun

/// Deterministic bytes (a 64-bit LCG).
private struct SeededBytes {
    private var state: UInt64
    init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33) % bound
    }
}

/// MLAS's requantization: clamp in float, round half to even, add the zero point.
private func requantized(_ accumulator: Int, scale: Float, zeroPoint: Int32, lower: Int32 = 0, upper: Int32 = 255) -> Int32 {
    let value = min(max(Float(accumulator) * scale, Float(lower - zeroPoint)), Float(upper - zeroPoint))
    return Int32(value.rounded(.toNearestOrEven)) + zeroPoint
}

/// com.microsoft QLinearAdd as MLAS's AVX2 kernel computes it (A applied last).
private func quantizedSum(_ y: Int32, _ residual: UInt8, _ addition: QuantizedResidualAddition) -> Int32 {
    let (first, second) = addition.residualIsFirst ? (Float(residual), Float(y)) : (Float(y), Float(residual))
    let (firstRatio, secondRatio) = addition.residualIsFirst
        ? (addition.residualRatio, addition.outputRatio) : (addition.outputRatio, addition.residualRatio)
    let sum = (addition.offset).addingProduct(second, secondRatio).addingProduct(first, firstRatio)
    return Int32(min(max(sum, Float(addition.lower)), Float(addition.upper)).rounded(.toNearestOrEven))
}

private let residualAddition = QuantizedResidualAddition(residualIsFirst: false, scaleA: 0.05, zeroPointA: 7,
                                                         scaleB: 0.08, zeroPointB: 130, scaleC: 0.07, zeroPointC: 120)

/// The exact int32 sum of `(x - inputZero) * (w - weightZeroPoints[o])` over the window of output `[n, y, x, o]` of
/// an NHWC int8 convolution (ONNX weights `[O, C / groups, KH, KW]`; padding contributes nothing).
func referenceAccumulator(_ shape: ConvolutionShape, input: [UInt8], inputZero: Int32, weights: [Int8],
                          weightZeroPoints: [Int8], at position: (n: Int, y: Int, x: Int, o: Int)) -> Int {
    let (n, y, x, o) = position
    let perGroup = shape.inputChannels / shape.groups, outputsPerGroup = shape.outputChannels / shape.groups
    var accumulator = 0
    for c in 0..<perGroup {
        let channel = (o / outputsPerGroup) * perGroup + c
        for i in 0..<shape.kernelHeight {
            let inputY = y * shape.strideHeight - shape.padTop + i * shape.dilationHeight
            guard inputY >= 0 && inputY < shape.inputHeight else { continue }
            for j in 0..<shape.kernelWidth {
                let inputX = x * shape.strideWidth - shape.padLeft + j * shape.dilationWidth
                guard inputX >= 0 && inputX < shape.inputWidth else { continue }
                let value = Int(input[((n * shape.inputHeight + inputY) * shape.inputWidth + inputX)
                    * shape.inputChannels + channel]) - Int(inputZero)
                let weight = Int(weights[((o * perGroup + c) * shape.kernelHeight + i) * shape.kernelWidth + j])
                    - Int(weightZeroPoints[o])
                accumulator += value * weight
            }
        }
    }
    return accumulator
}

final class QuantizedKernelTests: XCTestCase {
    private typealias GemmVariant = (QuantizedKernelVariant, (UnsafePointer<ork_qgemm_args>?, Int, Int) -> Void)
    private let gemmVariants: [GemmVariant] = [(.portable, ork_qgemm_portable), (.avx2, ork_qgemm_avx2),
                                               (.avx512VNNI, ork_qgemm_avx512vnni)]

    private func supported<Variant>(_ variants: [(QuantizedKernelVariant, Variant)]) -> [(QuantizedKernelVariant, Variant)] {
        variants.filter { variant, _ in
            if !variant.isSupported { print("skipping the \(variant) int8 kernels: this CPU lacks them") }
            return variant.isSupported
        }
    }

    // MARK: GEMM

    private struct GemmCase {
        var m: Int, k: Int, n: Int
        var inputZero: Int32 = 128
        var perChannel = true
        var weightZeroPoints = false
        var extremes = false
        var residual: QuantizedResidualAddition?
        var int32Output = false
        /// Scales up to ~1e4: products far outside int32 once scaled (the store must clamp before converting).
        var hugeScales = false
        /// Weights in [-64, 64] (onnxruntime's reduce_range): pair sums fit int16, the AVX2 kernel's whole-byte path.
        var sevenBitWeights = false
    }

    private func checkGemm(_ test: GemmCase, variant: QuantizedKernelVariant,
                           kernel: (UnsafePointer<ork_qgemm_args>?, Int, Int) -> Void) {
        var random = SeededBytes(seed: UInt64(test.m * 1000 + test.k * 10 + test.n))
        let a = (0..<test.m * test.k).map { _ in UInt8(test.extremes && random.next(2) == 0 ? 255 : random.next(256)) }
        let (lowest, values) = test.sevenBitWeights ? (-64, 129) : (-128, 256)
        let w = (0..<test.k * test.n).map { _ in
            Int8(test.extremes && random.next(2) == 0 ? lowest : random.next(values) + lowest)
        }
        let bias = (0..<test.n).map { _ in Int32(random.next(20001) - 10000) }
        let scales = (0..<(test.perChannel ? test.n : 1)).map { _ in
            Float(random.next(1000) + 1) * (test.hugeScales ? 10 : 1e-6)
        }
        let zeros = (0..<(test.perChannel ? test.n : 1)).map { _ in Int8(test.weightZeroPoints ? random.next(21) - 10 : 0) }
        let residual = (0..<test.m * test.n).map { _ in UInt8(random.next(256)) }
        let store = QuantizedStore(zeroPoint: 7, lower: 3, upper: 250, residualAddition: test.residual)
        let packed = AlignedBytes(count: ork_qgemm_packed_size(test.k, test.n))
        ork_qgemm_pack(w, 0, test.k, test.n, test.n, 1, bias, zeros, zeros.count, scales, scales.count, packed.pointer)
        var output = [UInt8](repeating: 0, count: test.m * test.n + 64)
        var output32 = [Int32](repeating: 0, count: test.m * test.n + 16)
        residual.withUnsafeBufferPointer { residualBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                output32.withUnsafeMutableBufferPointer { output32Buffer in
                    a.withUnsafeBufferPointer { aBuffer in
                        var arguments = ork_qgemm_args(
                            k: test.k, n: test.n, a: aBuffer.baseAddress, a_row_stride: test.k,
                            a_zero_point: test.inputZero, packed_b: UnsafeRawPointer(packed.pointer),
                            c: test.int32Output ? nil : outputBuffer.baseAddress,
                            c_int32: test.int32Output ? output32Buffer.baseAddress : nil, c_row_stride: test.n,
                            epilogue: store.epilogue(residual: residualBuffer.baseAddress, residualRowStride: test.n))
                        // Two calls over a split of the rows, as threads do.
                        kernel(&arguments, 0, test.m / 2)
                        kernel(&arguments, test.m / 2, test.m)
                    }
                }
            }
        }
        XCTAssertTrue(output[(test.m * test.n)...].allSatisfy { $0 == 0 }, "\(variant) wrote past C")
        for i in 0..<test.m {
            for j in 0..<test.n {
                let zeroW = Int(zeros[test.perChannel ? j : 0])
                var accumulator = Int(bias[j])
                for step in 0..<test.k {
                    accumulator += (Int(a[i * test.k + step]) - Int(test.inputZero)) * (Int(w[step * test.n + j]) - zeroW)
                }
                let label = "\(variant) m\(test.m) k\(test.k) n\(test.n) zero \(test.inputZero) [\(i)][\(j)]"
                if test.int32Output {
                    XCTAssertEqual(Int(output32[i * test.n + j]), accumulator, label)
                    if Int(output32[i * test.n + j]) != accumulator { return }
                    continue
                }
                var expected = requantized(accumulator, scale: scales[test.perChannel ? j : 0], zeroPoint: 7,
                                           lower: 3, upper: 250)
                if let addition = test.residual { expected = quantizedSum(expected, residual[i * test.n + j], addition) }
                XCTAssertEqual(Int32(output[i * test.n + j]), expected, label)
                if Int32(output[i * test.n + j]) != expected { return }
            }
        }
    }

    func testGemmVariantsOnAwkwardShapes() {
        var swapped = residualAddition
        swapped.residualIsFirst = true
        for (variant, kernel) in supported(gemmVariants) {
            // Rows past one tile of every width; columns: partial panels, and 1-4 panels past groups of four.
            for m in [1, 5, 13, 26] {
                for k in [1, 3, 4, 7, 27, 64] {
                    for n in [1, 15, 17, 33, 64, 80, 130] {
                        checkGemm(GemmCase(m: m, k: k, n: n), variant: variant, kernel: kernel)
                    }
                }
            }
            checkGemm(GemmCase(m: 12, k: 9, n: 24, inputZero: 0, perChannel: false), variant: variant, kernel: kernel)
            checkGemm(GemmCase(m: 25, k: 37, n: 40, inputZero: 255, weightZeroPoints: true), variant: variant, kernel: kernel)
            checkGemm(GemmCase(m: 14, k: 30, n: 20, residual: residualAddition), variant: variant, kernel: kernel)
            checkGemm(GemmCase(m: 14, k: 30, n: 20, inputZero: 3, residual: swapped), variant: variant, kernel: kernel)
            checkGemm(GemmCase(m: 7, k: 11, n: 35, int32Output: true), variant: variant, kernel: kernel)
            checkGemm(GemmCase(m: 7, k: 11, n: 35, weightZeroPoints: true, int32Output: true), variant: variant,
                      kernel: kernel)
            // 255 x -128 pairs: beyond int16 (where onnxruntime's MLAS without VNNI saturates vpmaddubsw's sums).
            checkGemm(GemmCase(m: 6, k: 64, n: 18, extremes: true), variant: variant, kernel: kernel)
            checkGemm(GemmCase(m: 6, k: 64, n: 18, extremes: true, int32Output: true), variant: variant, kernel: kernel)
            checkGemm(GemmCase(m: 9, k: 40, n: 70, extremes: true, hugeScales: true), variant: variant, kernel: kernel)
            // 255 x -64 pairs: the most that fits int16, where AVX2 takes whole bytes.
            checkGemm(GemmCase(m: 6, k: 64, n: 18, extremes: true, sevenBitWeights: true), variant: variant, kernel: kernel)
            checkGemm(GemmCase(m: 5, k: 29, n: 33, inputZero: 0, sevenBitWeights: true), variant: variant, kernel: kernel)
        }
    }

    // MARK: Depthwise and general convolution

    private func checkConvolution(_ shape: ConvolutionShape, inputZero: Int32, residual addition: QuantizedResidualAddition?,
                                  label: String, seed: UInt64,
                                  run: (QuantizedConvolutionWeights, [UInt8], [UInt8], inout [UInt8]) -> Void) throws {
        var random = SeededBytes(seed: seed)
        let perGroup = shape.inputChannels / shape.groups
        let weightCount = shape.outputChannels * perGroup * shape.kernelHeight * shape.kernelWidth
        let input = (0..<shape.inputElementCount).map { _ in UInt8(random.next(256)) }
        let weights = (0..<weightCount).map { _ in Int8(random.next(256) - 128) }
        let zeros = (0..<shape.outputChannels).map { _ in Int8(random.next(11) - 5) }
        let bias = (0..<shape.outputChannels).map { _ in Int32(random.next(2001) - 1000) }
        let scales = (0..<shape.outputChannels).map { _ in Float(random.next(100) + 1) * 1e-4 }
        let residual = (0..<shape.outputElementCount).map { _ in UInt8(random.next(256)) }
        let packed = try QuantizedConvolutionWeights(
            weights: Tensor(shape: [shape.outputChannels, perGroup, shape.kernelHeight, shape.kernelWidth],
                            computed: weights),
            weightZeroPoints: Tensor(shape: [shape.outputChannels], computed: zeros), bias: bias, scales: scales,
            inputZeroPoint: inputZero, groups: shape.groups)
        var output = [UInt8](repeating: 0, count: shape.outputElementCount)
        run(packed, input, residual, &output)
        for n in 0..<shape.batch {
            for y in 0..<shape.outputHeight {
                for x in 0..<shape.outputWidth {
                    for o in 0..<shape.outputChannels {
                        let accumulator = Int(bias[o]) + referenceAccumulator(
                            shape, input: input, inputZero: inputZero, weights: weights, weightZeroPoints: zeros,
                            at: (n, y, x, o))
                        let index = ((n * shape.outputHeight + y) * shape.outputWidth + x) * shape.outputChannels + o
                        var expected = requantized(accumulator, scale: scales[o], zeroPoint: 100)
                        if let addition { expected = quantizedSum(expected, residual[index], addition) }
                        XCTAssertEqual(Int32(output[index]), expected, "\(label) \(shape) at [\(n), \(y), \(x), \(o)]")
                        if Int32(output[index]) != expected { return }
                    }
                }
            }
        }
    }

    /// Shapes around the kernels' special cases: 3x3 and 5x5 (constant-width interiors), other kernels, strides,
    /// dilation, pads on one side, fewer than and more than 16 channels.
    private let depthwiseShapes: [(kernel: (Int, Int), stride: Int, dilation: Int, pads: (Int, Int), channels: Int)] = [
        ((3, 3), 1, 1, (1, 1), 17), ((3, 3), 2, 1, (1, 0), 5), ((5, 5), 1, 1, (2, 2), 16), ((5, 5), 2, 1, (2, 1), 33),
        ((3, 2), 1, 1, (0, 1), 1), ((3, 3), 1, 2, (2, 2), 40), ((1, 1), 1, 1, (0, 0), 20),
        // Wide rows: blocks of 8 interior pixels and every remainder count (1-7) over the widths below.
        ((3, 3), 1, 1, (1, 1), 48), ((5, 5), 2, 1, (2, 2), 19),
    ]

    func testDepthwiseVariants() throws {
        typealias Kernel = (UnsafePointer<ork_qdepthwise_args>?, Int, Int) -> Void
        let variants: [(QuantizedKernelVariant, Kernel)] = [(.portable, ork_qdepthwise_portable),
                                                            (.avx2, ork_qdepthwise_avx2),
                                                            (.avx512, ork_qdepthwise_avx512),
                                                            (.avx512VNNI, ork_qdepthwise_avx512vnni)]
        for (variant, kernel) in supported(variants) {
            for (index, test) in depthwiseShapes.enumerated() {
                let (height, width) = (9 + index % 3, 11 + index * 3)
                let outputHeight = (height + 2 * test.pads.0 - test.dilation * (test.kernel.0 - 1) - 1) / test.stride + 1
                let outputWidth = (width + 2 * test.pads.1 - test.dilation * (test.kernel.1 - 1) - 1) / test.stride + 1
                let shape = ConvolutionShape(
                    batch: 2, inputHeight: height, inputWidth: width, inputChannels: test.channels,
                    outputHeight: outputHeight, outputWidth: outputWidth, outputChannels: test.channels,
                    kernelHeight: test.kernel.0, kernelWidth: test.kernel.1, strideHeight: test.stride,
                    strideWidth: test.stride, dilationHeight: test.dilation, dilationWidth: test.dilation,
                    padTop: test.pads.0, padLeft: test.pads.1, groups: test.channels)
                for (inputZero, addition) in [(Int32(0), nil), (128, residualAddition), (255, nil)] as [(Int32, QuantizedResidualAddition?)] {
                    let store = QuantizedStore(zeroPoint: 100, residualAddition: addition)
                    try checkConvolution(shape, inputZero: inputZero, residual: addition, label: "\(variant) depthwise",
                                         seed: UInt64(index * 7 + Int(inputZero))) { weights, input, residual, output in
                        XCTAssertTrue(weights.isDepthwise)
                        input.withUnsafeBufferPointer { input in
                            residual.withUnsafeBufferPointer { residual in
                                output.withUnsafeMutableBufferPointer { output in
                                    var arguments = weights.depthwiseArguments(
                                        shape, input: input.baseAddress!, output: output.baseAddress!, store: store,
                                        residual: residual.baseAddress)
                                    kernel(&arguments, 0, 1)
                                    kernel(&arguments, 1, shape.outputRowCount)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func testGeneralConvolutionAtEveryLevel() throws {
        let shapes: [ConvolutionShape] = [
            // The stem: 3x3 stride 2, 3 -> 19 channels (K = 27, not a multiple of 4), pads 1.
            ConvolutionShape(batch: 1, inputHeight: 9, inputWidth: 8, inputChannels: 3, outputHeight: 5, outputWidth: 4,
                             outputChannels: 19, kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2,
                             padTop: 1, padLeft: 1),
            // Two images, stride 1, pads on every side: pixel ranges that cross rows and images.
            ConvolutionShape(batch: 2, inputHeight: 4, inputWidth: 5, inputChannels: 5, outputHeight: 4, outputWidth: 5,
                             outputChannels: 18, kernelHeight: 3, kernelWidth: 3, padTop: 1, padLeft: 1),
            // A pointwise 1x1 (a plain GEMM over pixels) and a grouped, dilated one.
            ConvolutionShape(batch: 2, inputHeight: 5, inputWidth: 3, inputChannels: 21, outputHeight: 5, outputWidth: 3,
                             outputChannels: 34, kernelHeight: 1, kernelWidth: 1),
            ConvolutionShape(batch: 1, inputHeight: 7, inputWidth: 7, inputChannels: 6, outputHeight: 5, outputWidth: 5,
                             outputChannels: 4, kernelHeight: 3, kernelWidth: 3, dilationHeight: 2, dilationWidth: 2,
                             padTop: 1, padLeft: 1, groups: 2),
        ]
        for (index, shape) in shapes.enumerated() {
            try forEachInstructionSet { level in
                let store = QuantizedStore(zeroPoint: 100, residualAddition: index == 2 ? residualAddition : nil)
                try checkConvolution(shape, inputZero: index == 0 ? 0 : 131, residual: store.residualAddition,
                                     label: "\(QuantizedKernelVariant.current) convolution", seed: UInt64(index)) {
                    weights, input, residual, output in
                    let scratchCount = weights.scratchCount(for: shape)
                    let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: max(scratchCount, 1))
                    defer { scratch.deallocate() }
                    input.withUnsafeBufferPointer { input in
                        residual.withUnsafeBufferPointer { residual in
                            output.withUnsafeMutableBufferPointer { output in
                                let units = weights.workUnits(shape)
                                for part in [0..<units / 3, units / 3..<units] {
                                    weights.run(shape: shape, input: input.baseAddress!, output: output.baseAddress!,
                                                store: store, residual: residual.baseAddress, units: part,
                                                scratch: scratch)
                                }
                            }
                        }
                    }
                }
                _ = level
            }
        }
    }

    // MARK: Pooling, quantization, layout

    func testGlobalAveragePoolQuantizeAndLayout() {
        var random = SeededBytes(seed: 5)
        let (pixels, channels) = (13, 300)
        let input = (0..<2 * pixels * channels).map { _ in UInt8(random.next(256)) }
        var pooled = [UInt8](repeating: 0, count: 2 * channels)
        let scale = Float(0.037) / (Float(0.021) * Float(pixels))
        ork_qglobal_average_pool_nhwc(input, pixels, channels, 117, scale, 9, &pooled, 0, 2)
        for image in 0..<2 {
            for c in 0..<channels {
                let sum = (0..<pixels).reduce(-117 * pixels) { $0 + Int(input[(image * pixels + $1) * channels + c]) }
                XCTAssertEqual(Int32(pooled[image * channels + c]), requantized(sum, scale: scale, zeroPoint: 9),
                               "pool [\(image)][\(c)]")
            }
        }

        // Halves, extremes, NaN and infinities, then random values: vector bodies and every tail length.
        let special: [Float] = [-1e9, -3.5, -0.1, 0, 0.25, 0.75, 1.25, 2.5, 3.5, 100, 1e9, .nan, .infinity, -.infinity]
        let floats = special + (0..<45).map { _ in Float(random.next(4001) - 2000) / 16 }
        let expected: [UInt8] = floats.map { value in
            guard !value.isNaN else { return 0 }
            return UInt8(min(max((value / 0.5).rounded(.toNearestOrEven) + 3, 0), 255))
        }
        typealias Quantize = (UnsafePointer<Float>?, Float, Int32, UnsafeMutablePointer<UInt8>?, Int, Int) -> Void
        let quantizers: [(ork_isa, String, Quantize)] = [(ORK_ISA_PORTABLE, "portable", ork_quantize_linear_u8_portable),
                                                         (ORK_ISA_AVX2, "AVX2", ork_quantize_linear_u8_avx2),
                                                         (ORK_ISA_AVX512, "AVX-512", ork_quantize_linear_u8_avx512)]
        for (level, name, quantize) in quantizers {
            guard ork_kernel_table_for(level) != nil else {
                print("skipping the \(name) QuantizeLinear: this CPU lacks it")
                continue
            }
            for split in [0, 1, 7, 16, 30] {
                var quantized = [UInt8](repeating: 0, count: floats.count + 1)
                quantize(floats, 0.5, 3, &quantized, 0, split)
                quantize(floats, 0.5, 3, &quantized, split, floats.count)
                XCTAssertEqual(Array(quantized.prefix(floats.count)), expected, "\(name) split at \(split)")
                XCTAssertEqual(quantized.last, 0, "\(name) wrote past the end")
            }
        }

        // Many channels (tiled) and the 1-4 channel images (interleaved plane by plane).
        for (layoutChannels, height, width) in [(19, 5, 7), (1, 3, 5), (2, 4, 3), (3, 5, 7), (4, 2, 9)] {
            let (batch, layoutPixels) = (2, height * width)
            let nchw = (0..<batch * layoutChannels * layoutPixels).map { _ in UInt8(random.next(256)) }
            var nhwc = [UInt8](repeating: 0, count: nchw.count), back = nhwc
            ork_nchw_to_nhwc_u8(nchw, layoutChannels, layoutPixels, &nhwc, 0, batch)
            ork_nhwc_to_nchw_u8(nhwc, layoutChannels, layoutPixels, &back, 0, batch)
            XCTAssertEqual(nhwc, channelsLast(nchw, batch: batch, channels: layoutChannels, height: height, width: width))
            XCTAssertEqual(back, nchw)
        }
    }
}
