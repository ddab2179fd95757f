// Wrappers of the int8 C kernels: the variants, packed int8 convolution weights, and the requantizing store.

import CKernels

// MARK: - Variants

/// The int8 kernels' instruction-set variants; each C kernel exports one function per variant, which tests call by
/// name. The dispatching entry points use the detected level (VNNI at the AVX-512 level when present).
enum QuantizedKernelVariant: Int32, CaseIterable, CustomStringConvertible {
    case portable = 0
    /// vpmaddubsw on A's nibbles + vpmaddwd: exact (onnxruntime's MLAS without VNNI saturates int16 pair sums).
    case avx2 = 1
    /// AVX-512 BW (the depthwise kernel; the GEMM uses the AVX2 variant at this level without VNNI).
    case avx512 = 2
    /// vpdpbusd, exact.
    case avx512VNNI = 3

    var isSupported: Bool { ork_int8_variant_supported(rawValue) != 0 }

    /// The variant the entry points use.
    static var current: QuantizedKernelVariant { QuantizedKernelVariant(rawValue: ork_int8_variant()) ?? .portable }

    var description: String {
        switch self {
        case .portable: "portable C"
        case .avx2: "AVX2"
        case .avx512: "AVX-512"
        case .avx512VNNI: "AVX-512 VNNI"
        }
    }
}

// MARK: - The store

/// com.microsoft QLinearAdd fused into a producer's store: `sum = clamp(round(first * firstRatio + (second *
/// secondRatio + offset)))` (fused multiply-adds, as MLAS), where the producer's requantized output and the residual
/// are QLinearAdd's A and B in the order the model gives.
struct QuantizedResidualAddition: Sendable, Equatable {
    /// The residual is QLinearAdd's A (the producer's output its B).
    var residualIsFirst: Bool
    /// The producer output's scale / the sum's scale.
    var outputRatio: Float
    /// The residual's scale / the sum's scale.
    var residualRatio: Float
    /// `sum_zero_point - (ratio_A * zero_point_A + ratio_B * zero_point_B)`.
    var offset: Float
    var lower: Int32 = 0
    var upper: Int32 = 255

    /// The parameters of QLinearAdd(A, B) -> C with per-tensor scales and zero points.
    init(residualIsFirst: Bool, scaleA: Float, zeroPointA: Int32, scaleB: Float, zeroPointB: Int32, scaleC: Float,
         zeroPointC: Int32) {
        self.residualIsFirst = residualIsFirst
        let ratioA = scaleA / scaleC, ratioB = scaleB / scaleC
        outputRatio = residualIsFirst ? ratioB : ratioA
        residualRatio = residualIsFirst ? ratioA : ratioB
        offset = Float(zeroPointC) - (ratioA * Float(zeroPointA) + ratioB * Float(zeroPointB))
    }
}

/// How int32 accumulators become uint8: `y = clamp(round_half_even(acc * scale[c]) + zeroPoint, lower, upper)`
/// (the scales are packed with the weights), then the optional fused QLinearAdd.
struct QuantizedStore: Sendable, Equatable {
    var zeroPoint: Int32
    var lower: Int32 = 0
    var upper: Int32 = 255
    var residualAddition: QuantizedResidualAddition?

    func epilogue(residual: UnsafePointer<UInt8>?, residualRowStride: Int) -> ork_qepilogue {
        let addition = residualAddition
        return ork_qepilogue(
            zero_point: zeroPoint, min: lower, max: upper, residual: addition == nil ? nil : residual,
            residual_row_stride: residualRowStride, residual_is_first: addition?.residualIsFirst == true ? 1 : 0,
            output_ratio: addition?.outputRatio ?? 1, residual_ratio: addition?.residualRatio ?? 0,
            offset: addition?.offset ?? 0, sum_min: addition?.lower ?? 0, sum_max: addition?.upper ?? 255)
    }
}

// MARK: - Convolution weights

/// int8 (or uint8) convolution weights `[Cout, Cin / groups, KH, KW]`, packed once with their int32 bias, weight zero
/// points and per-channel output scales, for the depthwise kernel (groups = channels, one input channel per group)
/// or the general one (a 1x1 without stride or pads there is a plain GEMM over pixels).
final class QuantizedConvolutionWeights: Sendable {
    let outputChannels: Int
    let inputChannelsPerGroup: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let groups: Int
    let inputZeroPoint: Int32
    let isDepthwise: Bool
    private let packed: AlignedBytes

    /// weights: int8 or uint8 tensor; weightZeroPoints: 1 or Cout values of its type (nil = 0); scales: 1 or Cout
    /// (input scale * weight scale / output scale, per channel); bias: Cout int32 values or nil.
    init(weights: Tensor, weightZeroPoints: Tensor?, bias: [Int32]?, scales: [Float], inputZeroPoint: Int32,
         groups: Int) throws {
        try requireKernelArgument(weights.rank == 4 && [.int8, .uint8].contains(weights.elementType),
                                  "int8 convolution weights must be 4-D int8 or uint8, got \(weights)")
        let shape = weights.shape
        try requireKernelArgument(shape.allSatisfy { $0 > 0 } && groups > 0 && shape[0] % groups == 0,
                                  "int8 convolution weights \(weights) do not split into \(groups) groups")
        let outputs = shape[0]
        try requireKernelArgument(scales.count == 1 || scales.count == outputs,
                                  "\(scales.count) scales for \(outputs) output channels")
        try requireKernelArgument(bias == nil || bias?.count == outputs,
                                  "bias holds \(bias?.count ?? 0) values, expected \(outputs)")
        if let weightZeroPoints {
            try requireKernelArgument(weightZeroPoints.elementType == weights.elementType
                                          && (weightZeroPoints.elementCount == 1 || weightZeroPoints.elementCount == outputs),
                                      "weight zero points \(weightZeroPoints) do not match \(weights)")
        }
        (outputChannels, inputChannelsPerGroup, kernelHeight, kernelWidth) = (outputs, shape[1], shape[2], shape[3])
        self.groups = groups
        self.inputZeroPoint = inputZeroPoint
        isDepthwise = inputChannelsPerGroup == 1 && groups == outputs && kernelHeight <= 64
        let isUnsigned: Int32 = weights.elementType == .uint8 ? 1 : 0
        let zeroPointCount = weightZeroPoints?.elementCount ?? 0
        let (depthwise, kh, kw, perGroup) = (isDepthwise, kernelHeight, kernelWidth, inputChannelsPerGroup)
        packed = AlignedBytes(count: depthwise ? ork_qdepthwise_packed_size(outputs, kh, kw)
                                               : ork_qconvolution_packed_size(outputs, perGroup, kh, kw, groups))
        let destination = packed.pointer
        weights.withUnsafeBytes { weightBytes in
            let zeroPointBytes = weightZeroPoints.map { zeroPoints in zeroPoints.withUnsafeBytes { Array($0) } }
            zeroPointBytes.withOptionalBaseAddress { zeroPoints in
                bias.withOptionalBaseAddress { bias in
                    scales.withUnsafeBufferPointer { scales in
                        if depthwise {
                            ork_qdepthwise_pack(weightBytes.baseAddress, isUnsigned, bias, zeroPoints, zeroPointCount,
                                                scales.baseAddress, scales.count, inputZeroPoint, outputs, kh, kw,
                                                destination)
                        } else {
                            ork_qconvolution_pack(weightBytes.baseAddress, isUnsigned, bias, zeroPoints, zeroPointCount,
                                                  scales.baseAddress, scales.count, outputs, perGroup, kh, kw, groups,
                                                  destination)
                        }
                    }
                }
            }
        }
    }

    /// True when `shape` is a convolution these weights compute.
    func accepts(_ shape: ConvolutionShape) -> Bool {
        shape.isValid && shape.groups == groups && shape.outputChannels == outputChannels
            && shape.inputChannels == inputChannelsPerGroup * groups && shape.kernelHeight == kernelHeight
            && shape.kernelWidth == kernelWidth
    }

    /// The units `run` splits: output rows (depthwise) or output pixels.
    func workUnits(_ shape: ConvolutionShape) -> Int { isDepthwise ? shape.outputRowCount : shape.outputPixelCount }

    /// Bytes of im2col scratch one `run` needs (0: none).
    func scratchCount(for shape: ConvolutionShape) -> Int {
        if isDepthwise { return 0 }
        var arguments = convolutionArguments(shape, input: nil, output: nil, store: QuantizedStore(zeroPoint: 0),
                                             residual: nil)
        return ork_qconvolution_scratch_size(&arguments)
    }

    /// Computes work units `units` (see `workUnits`) of the NHWC uint8 convolution; residual: NHWC like the output,
    /// read when `store` fuses a QLinearAdd.
    func run(shape: ConvolutionShape, input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>,
             store: QuantizedStore, residual: UnsafePointer<UInt8>?, units: Range<Int>,
             scratch: UnsafeMutablePointer<UInt8>?) {
        precondition(accepts(shape) && units.lowerBound >= 0 && units.upperBound <= workUnits(shape),
                     "int8 convolution weights [\(outputChannels), \(inputChannelsPerGroup), \(kernelHeight), "
                         + "\(kernelWidth)] given \(shape), units \(units)")
        precondition(store.residualAddition == nil || residual != nil, "int8 convolution residual missing")
        if isDepthwise {
            var arguments = depthwiseArguments(shape, input: input, output: output, store: store, residual: residual)
            ork_qdepthwise(&arguments, units.lowerBound, units.upperBound)
            return
        }
        var arguments = convolutionArguments(shape, input: input, output: output, store: store, residual: residual)
        precondition(scratch != nil || ork_qconvolution_scratch_size(&arguments) == 0, "int8 convolution needs scratch")
        ork_qconvolution(&arguments, units.lowerBound, units.upperBound, scratch)
    }

    /// The depthwise kernel's arguments (tests call each variant with them).
    func depthwiseArguments(_ shape: ConvolutionShape, input: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>?,
                            store: QuantizedStore, residual: UnsafePointer<UInt8>?) -> ork_qdepthwise_args {
        ork_qdepthwise_args(
            batch: shape.batch, input_h: shape.inputHeight, input_w: shape.inputWidth,
            channels: shape.inputChannels, output_h: shape.outputHeight, output_w: shape.outputWidth,
            kernel_h: shape.kernelHeight, kernel_w: shape.kernelWidth, stride_h: shape.strideHeight,
            stride_w: shape.strideWidth, dilation_h: shape.dilationHeight, dilation_w: shape.dilationWidth,
            pad_top: shape.padTop, pad_left: shape.padLeft, x_zero_point: inputZeroPoint, input: input,
            packed_weights: UnsafeRawPointer(packed.pointer), output: output,
            epilogue: store.epilogue(residual: residual, residualRowStride: outputChannels), output_int32: nil)
    }

    private func convolutionArguments(_ shape: ConvolutionShape, input: UnsafePointer<UInt8>?,
                                      output: UnsafeMutablePointer<UInt8>?, store: QuantizedStore,
                                      residual: UnsafePointer<UInt8>?) -> ork_qconvolution_args {
        ork_qconvolution_args(
            batch: shape.batch, input_h: shape.inputHeight, input_w: shape.inputWidth,
            input_channels: shape.inputChannels, output_h: shape.outputHeight, output_w: shape.outputWidth,
            output_channels: shape.outputChannels, kernel_h: shape.kernelHeight, kernel_w: shape.kernelWidth,
            stride_h: shape.strideHeight, stride_w: shape.strideWidth, dilation_h: shape.dilationHeight,
            dilation_w: shape.dilationWidth, pad_top: shape.padTop, pad_left: shape.padLeft, groups: shape.groups,
            x_zero_point: inputZeroPoint, input: input, packed_weights: packed.pointer, output: output,
            output_int32: nil, epilogue: store.epilogue(residual: residual, residualRowStride: shape.outputChannels))
    }
}

// MARK: - int32 accumulators (ConvInteger, dynamic quantization)

extension QuantizedConvolutionWeights {
    /// A copy of the packed depthwise weights for an input zero point known only at run time (dynamic quantization:
    /// the depthwise kernel's interior bias holds it); nil for the general kernel, which takes it per call.
    func depthwiseWeights(inputZeroPoint: Int32) -> AlignedBytes? {
        guard isDepthwise else { return nil }
        let copy = AlignedBytes(transientCount: packed.count)
        copy.pointer.copyMemory(from: packed.pointer, byteCount: packed.count)
        ork_qdepthwise_set_x_zero_point(copy.pointer, outputChannels, kernelHeight * kernelWidth, inputZeroPoint)
        return copy
    }

    /// Computes work units `units` (see `workUnits`) as int32 accumulators, without bias, scale or requantization,
    /// for an input with zero point `inputZeroPoint` (`depthwiseWeights`: `depthwiseWeights(inputZeroPoint:)` of
    /// it). `output` is where the output's element 0 would be: each unit is written at its own offset from it.
    func accumulate(shape: ConvolutionShape, input: UnsafePointer<UInt8>, inputZeroPoint: Int32,
                    depthwiseWeights: AlignedBytes?, output: UnsafeMutablePointer<Int32>, units: Range<Int>,
                    scratch: UnsafeMutablePointer<UInt8>?) {
        precondition(accepts(shape) && units.lowerBound >= 0 && units.upperBound <= workUnits(shape)
                         && isDepthwise == (depthwiseWeights != nil), "int8 convolution given \(shape), units \(units)")
        if let depthwiseWeights {
            var arguments = depthwiseArguments(shape, input: input, output: nil, store: QuantizedStore(zeroPoint: 0),
                                               residual: nil)
            arguments.x_zero_point = inputZeroPoint
            arguments.packed_weights = UnsafeRawPointer(depthwiseWeights.pointer)
            arguments.output_int32 = output
            ork_qdepthwise(&arguments, units.lowerBound, units.upperBound)
            return
        }
        var arguments = convolutionArguments(shape, input: input, output: nil, store: QuantizedStore(zeroPoint: 0),
                                             residual: nil)
        arguments.x_zero_point = inputZeroPoint
        arguments.output_int32 = output
        precondition(scratch != nil || ork_qconvolution_scratch_size(&arguments) == 0, "int8 convolution needs scratch")
        ork_qconvolution(&arguments, units.lowerBound, units.upperBound, scratch)
    }
}

extension Optional where Wrapped: Collection {
    /// Calls `body` with the base address of the array's elements, or nil.
    fileprivate func withOptionalBaseAddress<Element, Result>(
        _ body: (UnsafePointer<Element>?) -> Result
    ) -> Result where Wrapped == [Element] {
        guard let array = self else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
