// NHWC max and average pooling (C kernels): MaxPool, AveragePool, and the global pools as one window per image.

import CKernels

/// One kind of pooling over NHWC tensors; the window comes with each call's `ConvolutionShape` (input channels =
/// output channels).
struct PoolingKernel: Sendable, Hashable {
    enum Reduction: Sendable, Hashable {
        case maximum
        case average
    }

    let reduction: Reduction
    /// Average: divide by the taps inside the input and its pads (ONNX `count_include_pad`), not only the input's.
    var countIncludePad = false

    /// Computes output rows `rows` (row = image * outputHeight + oh, in 0..<shape.outputRowCount).
    /// `level`: the ISA variant to run (tests run each one the CPU has).
    func run(shape: ConvolutionShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             rows: Range<Int>, using level: KernelInstructionSet = .detected) {
        precondition(shape.isValid && shape.inputChannels == shape.outputChannels, "pooling given \(shape)")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= shape.outputRowCount, "pooling rows out of range")
        var arguments = ork_pool_args(
            batch: shape.batch, input_h: shape.inputHeight, input_w: shape.inputWidth, channels: shape.inputChannels,
            output_h: shape.outputHeight, output_w: shape.outputWidth, kernel_h: shape.kernelHeight,
            kernel_w: shape.kernelWidth, stride_h: shape.strideHeight, stride_w: shape.strideWidth,
            dilation_h: shape.dilationHeight, dilation_w: shape.dilationWidth, pad_top: shape.padTop,
            pad_left: shape.padLeft, pad_bottom: shape.padBottom, pad_right: shape.padRight,
            count_include_pad: countIncludePad ? 1 : 0, input: input, output: output,
            output_pixel_stride: shape.outputPixelStride)
        let kernels = level.kernels
        switch reduction {
        case .maximum: kernels.max_pool(&arguments, rows.lowerBound, rows.upperBound)
        case .average: kernels.average_pool(&arguments, rows.lowerBound, rows.upperBound)
        }
    }
}
