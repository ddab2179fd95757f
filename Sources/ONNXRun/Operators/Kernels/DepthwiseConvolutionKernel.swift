// Packed weights + fused depthwise convolution NHWC (group = channels), 3x3 / 5x5 fast paths, any pads/strides.

import CKernels

/// Depthwise convolution weights `[C, 1, KH, KW]` and bias, packed per 16-channel tile.
final class DepthwiseConvolutionKernel: Sendable {
    /// The tallest kernel the C kernel's per-row table holds.
    static let maximumKernelHeight = 64

    let channels: Int
    let kernelHeight: Int
    let kernelWidth: Int
    private let packed: AlignedFloatBuffer

    init(weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>? = nil, channels: Int, kernelHeight: Int,
         kernelWidth: Int) throws {
        let shapeText = "[\(channels), 1, \(kernelHeight), \(kernelWidth)]"
        try requireKernelArgument(channels > 0 && kernelHeight > 0 && kernelWidth > 0,
                                  "depthwise weights need positive sizes, got \(shapeText)")
        try requireKernelArgument(kernelHeight <= Self.maximumKernelHeight,
                                  "depthwise kernel height \(kernelHeight) exceeds \(Self.maximumKernelHeight)")
        try requireKernelArgument(weights.count == channels * kernelHeight * kernelWidth,
                                  "depthwise weights hold \(weights.count) values, expected \(shapeText)")
        try requireKernelArgument(bias == nil || bias?.count == channels,
                                  "bias holds \(bias?.count ?? 0) values, expected \(channels)")
        self.channels = channels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        packed = AlignedFloatBuffer(count: ork_depthwise_packed_size(channels, kernelHeight, kernelWidth))
        ork_depthwise_pack(weights.baseAddress, bias?.baseAddress, channels, kernelHeight, kernelWidth, packed.pointer)
    }

    /// Packs copies of Swift arrays (tests, small models).
    static func packing(weights: [Float], bias: [Float]? = nil, channels: Int, kernelHeight: Int,
                        kernelWidth: Int) throws -> DepthwiseConvolutionKernel {
        try weights.withUnsafeBufferPointer { weightBuffer in
            try withOptionalBufferPointer(bias) { biasBuffer in
                try DepthwiseConvolutionKernel(weights: weightBuffer, bias: biasBuffer, channels: channels,
                                               kernelHeight: kernelHeight, kernelWidth: kernelWidth)
            }
        }
    }

    /// True when `shape` is a depthwise convolution these weights compute.
    func accepts(_ shape: ConvolutionShape) -> Bool {
        shape.isValid && shape.inputChannels == channels && shape.outputChannels == channels
            && shape.groups == channels && shape.kernelHeight == kernelHeight && shape.kernelWidth == kernelWidth
    }

    /// Computes output rows `rows` (row = image * outputHeight + oh, in 0..<shape.outputRowCount).
    /// input: shape.inputElementCount floats NHWC; output, residual (optional, may equal output): outputElementCount.
    /// `level`: the ISA variant to run (tests run each one the CPU has).
    func run(shape: ConvolutionShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             residual: UnsafePointer<Float>? = nil, activation: Activation = .none, rows: Range<Int>,
             using level: KernelInstructionSet = .detected) {
        precondition(accepts(shape), "depthwise kernel \(channels)x\(kernelHeight)x\(kernelWidth) given \(shape)")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= shape.outputRowCount, "depthwise rows out of range")
        var arguments = ork_depthwise_args(
            batch: shape.batch, input_h: shape.inputHeight, input_w: shape.inputWidth, channels: channels,
            output_h: shape.outputHeight, output_w: shape.outputWidth, kernel_h: kernelHeight, kernel_w: kernelWidth,
            stride_h: shape.strideHeight, stride_w: shape.strideWidth, dilation_h: shape.dilationHeight,
            dilation_w: shape.dilationWidth, pad_top: shape.padTop, pad_left: shape.padLeft, input: input,
            packed_weights: packed.pointer, residual: residual, output: output, min: activation.kernelClamp.minimum,
            max: activation.kernelClamp.maximum, activation: activation.kernelFunction)
        level.kernels.depthwise(&arguments, rows.lowerBound, rows.upperBound)
    }
}
