// Packed weights + fused general convolution NHWC (any kernel, strides, dilations, pads, groups): im2col + GEMM.

import CKernels

/// Convolution weights `[Cout, Cin / groups, KH, KW]` and bias, packed per group for the GEMM.
/// Used for the dense stem (3 -> 32, 3x3 stride 2) and anything the 1x1 and depthwise kernels don't cover.
final class ConvolutionKernel: Sendable {
    let outputChannels: Int
    let inputChannelsPerGroup: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let groups: Int
    private let packed: AlignedFloatBuffer

    init(weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>? = nil, outputChannels: Int,
         inputChannelsPerGroup: Int, kernelHeight: Int, kernelWidth: Int, groups: Int = 1) throws {
        let shapeText = "[\(outputChannels), \(inputChannelsPerGroup), \(kernelHeight), \(kernelWidth)]"
        try requireKernelArgument(
            outputChannels > 0 && inputChannelsPerGroup > 0 && kernelHeight > 0 && kernelWidth > 0 && groups > 0,
            "convolution weights need positive sizes, got \(shapeText) with \(groups) groups")
        try requireKernelArgument(outputChannels % groups == 0,
                                  "\(outputChannels) output channels do not split into \(groups) groups")
        try requireKernelArgument(weights.count == outputChannels * inputChannelsPerGroup * kernelHeight * kernelWidth,
                                  "convolution weights hold \(weights.count) values, expected \(shapeText)")
        try requireKernelArgument(bias == nil || bias?.count == outputChannels,
                                  "bias holds \(bias?.count ?? 0) values, expected \(outputChannels)")
        self.outputChannels = outputChannels
        self.inputChannelsPerGroup = inputChannelsPerGroup
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.groups = groups
        packed = AlignedFloatBuffer(count: ork_convolution_packed_size(
            outputChannels, inputChannelsPerGroup, kernelHeight, kernelWidth, groups))
        ork_convolution_pack(weights.baseAddress, bias?.baseAddress, outputChannels, inputChannelsPerGroup,
                             kernelHeight, kernelWidth, groups, packed.pointer)
    }

    /// Packs copies of Swift arrays (tests, small models).
    static func packing(weights: [Float], bias: [Float]? = nil, outputChannels: Int, inputChannelsPerGroup: Int,
                        kernelHeight: Int, kernelWidth: Int, groups: Int = 1) throws -> ConvolutionKernel {
        try weights.withUnsafeBufferPointer { weightBuffer in
            try withOptionalBufferPointer(bias) { biasBuffer in
                try ConvolutionKernel(weights: weightBuffer, bias: biasBuffer, outputChannels: outputChannels,
                                      inputChannelsPerGroup: inputChannelsPerGroup, kernelHeight: kernelHeight,
                                      kernelWidth: kernelWidth, groups: groups)
            }
        }
    }

    /// True when `shape` is a convolution these weights compute.
    func accepts(_ shape: ConvolutionShape) -> Bool {
        shape.isValid && shape.groups == groups && shape.outputChannels == outputChannels
            && shape.inputChannels == inputChannelsPerGroup * groups && shape.kernelHeight == kernelHeight
            && shape.kernelWidth == kernelWidth
    }

    /// Floats of scratch one `run` call needs (one buffer per thread; 0 for a plain 1x1 convolution).
    func scratchCount(for shape: ConvolutionShape) -> Int {
        var arguments = self.arguments(shape, input: nil, output: nil, residual: nil, activation: .none)
        return ork_convolution_scratch_size(&arguments)
    }

    /// Computes output pixels `pixels` (pixel = (image * outputHeight + oh) * outputWidth + ow, in
    /// 0..<shape.outputPixelCount). scratch: `scratchCount(for: shape)` floats, private to this call.
    /// `level`: the ISA variant to run (tests run each one the CPU has).
    func run(shape: ConvolutionShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             residual: UnsafePointer<Float>? = nil, activation: Activation = .none, pixels: Range<Int>,
             scratch: UnsafeMutablePointer<Float>?, using level: KernelInstructionSet = .detected) {
        precondition(accepts(shape), "convolution weights [\(outputChannels), \(inputChannelsPerGroup), "
                         + "\(kernelHeight), \(kernelWidth)] in \(groups) groups given \(shape)")
        precondition(pixels.lowerBound >= 0 && pixels.upperBound <= shape.outputPixelCount,
                     "convolution pixels out of range")
        var arguments = self.arguments(shape, input: input, output: output, residual: residual,
                                       activation: activation)
        precondition(scratch != nil || ork_convolution_scratch_size(&arguments) == 0, "convolution needs scratch")
        level.kernels.convolution(&arguments, pixels.lowerBound, pixels.upperBound, scratch)
    }

    private func arguments(_ shape: ConvolutionShape, input: UnsafePointer<Float>?,
                           output: UnsafeMutablePointer<Float>?, residual: UnsafePointer<Float>?,
                           activation: Activation) -> ork_convolution_args {
        shape.kernelArguments(input: input, packedWeights: packed.pointer, residual: residual, output: output,
                              activation: activation)
    }
}
