// Packed weights + fused depthwise convolution NHWC (group = channels), 3x3 / 5x5 fast paths, any pads/strides.

import CKernels

/// Depthwise convolution weights `[C, 1, KH, KW]` and bias, packed per 16-channel tile (`.fp32`) or rounded to
/// bfloat16 per 32-channel group (`.bf16`, for bfloat16 activations: `run(shape:bfloat16Input:...)`).
final class DepthwiseConvolutionKernel: Sendable {
    /// The tallest kernel the C kernel's per-row table holds.
    static let maximumKernelHeight = 64

    let channels: Int
    let kernelHeight: Int
    let kernelWidth: Int
    /// The number format of the stored weights and of the activations the kernel reads and writes.
    let precision: Precision
    /// `.fp32`: `ork_depthwise_pack` floats; `.bf16`: `ork_depthwise_bfloat16_pack` words.
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
        precision = .fp32
        packed = AlignedFloatBuffer(count: ork_depthwise_packed_size(channels, kernelHeight, kernelWidth))
        ork_depthwise_pack(weights.baseAddress, bias?.baseAddress, channels, kernelHeight, kernelWidth, packed.pointer)
    }

    /// `weights` rounded to bfloat16 (itself when it already is); nil for an odd channel count (a bfloat16 pixel is
    /// whole 32-bit words).
    init?(bfloat16 weights: DepthwiseConvolutionKernel) {
        guard weights.channels % 2 == 0 else { return nil }
        channels = weights.channels
        kernelHeight = weights.kernelHeight
        kernelWidth = weights.kernelWidth
        precision = .bf16
        guard weights.precision == .fp32 else {
            packed = weights.packed
            return
        }
        packed = AlignedFloatBuffer(count: ork_depthwise_bfloat16_packed_size(channels, kernelHeight, kernelWidth))
        ork_depthwise_bfloat16_pack(weights.packed.pointer, channels, kernelHeight, kernelWidth, packed.words)
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

    /// Calls `body` with the kernel arguments (tests call each kernel variant by name with them). For `.bf16`
    /// weights `input` and `output` hold bfloat16 values (cast).
    func withArguments<Result>(shape: ConvolutionShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                               residual: UnsafePointer<Float>?, activation: Activation,
                               _ body: (UnsafePointer<ork_depthwise_args>) throws -> Result) rethrows -> Result {
        precondition(accepts(shape), "depthwise kernel \(channels)x\(kernelHeight)x\(kernelWidth) given \(shape)")
        var arguments = ork_depthwise_args(
            batch: shape.batch, input_h: shape.inputHeight, input_w: shape.inputWidth, channels: channels,
            output_h: shape.outputHeight, output_w: shape.outputWidth, kernel_h: kernelHeight, kernel_w: kernelWidth,
            stride_h: shape.strideHeight, stride_w: shape.strideWidth, dilation_h: shape.dilationHeight,
            dilation_w: shape.dilationWidth, pad_top: shape.padTop, pad_left: shape.padLeft, input: input,
            packed_weights: packed.pointer, residual: residual, output: output, min: activation.kernelClamp.minimum,
            max: activation.kernelClamp.maximum, activation: activation.kernelFunction)
        return try body(&arguments)
    }

    /// Computes output rows `rows` (row = image * outputHeight + oh, in 0..<shape.outputRowCount).
    /// input: shape.inputElementCount floats NHWC; output, residual (optional, may equal output): outputElementCount.
    /// `level`: the ISA variant to run (tests run each one the CPU has). Float32 weights only.
    func run(shape: ConvolutionShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             residual: UnsafePointer<Float>? = nil, activation: Activation = .none, rows: Range<Int>,
             using level: KernelInstructionSet = .detected) {
        precondition(precision == .fp32, "float32 depthwise run on bfloat16 weights")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= shape.outputRowCount, "depthwise rows out of range")
        withArguments(shape: shape, input: input, output: output, residual: residual, activation: activation) {
            level.kernels.depthwise($0, rows.lowerBound, rows.upperBound)
        }
    }

    /// The `.bf16` weights on bfloat16 NHWC tensors (`shape.inputElementCount` and `outputElementCount` values,
    /// two per 32-bit word), the output rounded to bfloat16; `clamp` is the only activation.
    func run(shape: ConvolutionShape, bfloat16Input input: UnsafeRawPointer, bfloat16Output output: UnsafeMutableRawPointer,
             clamp: ClampBounds, rows: Range<Int>) {
        precondition(precision == .bf16, "bfloat16 depthwise run on float32 weights")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= shape.outputRowCount, "depthwise rows out of range")
        withArguments(shape: shape, input: input.assumingMemoryBound(to: Float.self),
                      output: output.assumingMemoryBound(to: Float.self), residual: nil,
                      activation: .clamp(clamp)) {
            ork_depthwise_bfloat16($0, rows.lowerBound, rows.upperBound)
        }
    }
}
