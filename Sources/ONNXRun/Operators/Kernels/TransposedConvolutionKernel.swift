// Packed weights + transposed convolution NHWC (ConvTranspose): a packed GEMM per group into columns, then col2im.

import CKernels

/// ConvTranspose weights `[Cin, Cout / groups, KH, KW]` packed per group as a `Cin/g x (KH * KW * Cout/g)` GEMM
/// whose column `tap * (Cout/g) + co` is the weight from input channel ci to output channel co at that tap.
final class TransposedConvolutionKernel: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let groups: Int
    private let groupWeights: [PackedMatrixWeights]
    private let bias: AlignedFloatBuffer?

    /// The tallest and widest kernel col2im takes.
    static let maximumKernelSize = Int(ORK_COL2IM_MAX_KERNEL)

    /// weights: `[inputChannels, outputChannels / groups, kernelHeight, kernelWidth]`; bias: outputChannels or nil.
    init(weights: [Float], bias: [Float]?, inputChannels: Int, outputChannels: Int, kernelHeight: Int,
         kernelWidth: Int, groups: Int) throws {
        let shapeText = "[\(inputChannels), \(outputChannels / max(groups, 1)), \(kernelHeight), \(kernelWidth)]"
        try requireKernelArgument(inputChannels > 0 && outputChannels > 0 && kernelHeight > 0 && kernelWidth > 0
                                      && groups > 0 && inputChannels % groups == 0 && outputChannels % groups == 0,
                                  "transposed convolution weights \(shapeText) in \(groups) groups")
        try requireKernelArgument(kernelHeight <= Self.maximumKernelSize && kernelWidth <= Self.maximumKernelSize,
                                  "transposed convolution kernel \(kernelHeight)x\(kernelWidth) exceeds "
                                      + "\(Self.maximumKernelSize)")
        try requireKernelArgument(weights.count == inputChannels * (outputChannels / groups) * kernelHeight * kernelWidth,
                                  "transposed convolution weights hold \(weights.count) values, expected \(shapeText)")
        try requireKernelArgument(bias == nil || bias?.count == outputChannels,
                                  "bias holds \(bias?.count ?? 0) values, expected \(outputChannels)")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.groups = groups
        let taps = kernelHeight * kernelWidth, inputsPerGroup = inputChannels / groups
        let outputsPerGroup = outputChannels / groups
        groupWeights = try (0..<groups).map { group in
            // [ci][co][tap] -> [ci][tap][co], the GEMM's reduction-major B.
            var matrix = [Float](repeating: 0, count: inputsPerGroup * taps * outputsPerGroup)
            for ci in 0..<inputsPerGroup {
                let source = (group * inputsPerGroup + ci) * outputsPerGroup * taps
                for co in 0..<outputsPerGroup {
                    for tap in 0..<taps {
                        matrix[(ci * taps + tap) * outputsPerGroup + co] = weights[source + co * taps + tap]
                    }
                }
            }
            return try PackedMatrixWeights.packing(weights: matrix, layout: .reductionMajor,
                                                   reductionCount: inputsPerGroup,
                                                   outputCount: taps * outputsPerGroup)
        }
        self.bias = bias.map { values in
            let buffer = AlignedFloatBuffer(count: values.count)
            buffer.pointer.update(from: values, count: values.count)
            return buffer
        }
    }

    /// Floats of the columns buffer for `pixels` input pixels.
    func columnCount(inputPixels pixels: Int) -> Int { pixels * kernelHeight * kernelWidth * outputChannels }

    /// Phase 1: the columns of input pixels `pixels` for `group` (input NHWC with `inputChannels` channels).
    func computeColumns(input: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>, group: Int,
                        pixels: Range<Int>, using level: KernelInstructionSet = .detected) {
        precondition(group >= 0 && group < groups && pixels.lowerBound >= 0, "transposed convolution group/pixels")
        let outputsPerGroup = outputChannels / groups, taps = kernelHeight * kernelWidth
        groupWeights[group].run(input: input + group * (inputChannels / groups), inputRowStride: inputChannels,
                                output: columns + group * taps * outputsPerGroup,
                                outputRowStride: taps * outputChannels, rows: pixels, using: level)
    }

    /// Phase 2: output rows `rows` (row = image * outputHeight + oh) from the columns of every input pixel, with
    /// `activation` applied. `shape`: input and output sizes, strides, dilations; `padTop`/`padLeft` may be
    /// negative (ONNX output_shape).
    func accumulate(columns: UnsafePointer<Float>, shape: ConvolutionShape, padTop: Int, padLeft: Int,
                    output: UnsafeMutablePointer<Float>, activation: Activation = .none, rows: Range<Int>) {
        precondition(shape.outputChannels == outputChannels && shape.kernelHeight == kernelHeight
                         && shape.kernelWidth == kernelWidth && rows.lowerBound >= 0
                         && rows.upperBound <= shape.outputRowCount, "transposed convolution given \(shape)")
        var arguments = ork_col2im_args(
            batch: shape.batch, input_h: shape.inputHeight, input_w: shape.inputWidth, output_h: shape.outputHeight,
            output_w: shape.outputWidth, channels: outputChannels, groups: groups, kernel_h: kernelHeight,
            kernel_w: kernelWidth, stride_h: shape.strideHeight, stride_w: shape.strideWidth,
            dilation_h: shape.dilationHeight, dilation_w: shape.dilationWidth, pad_top: padTop, pad_left: padLeft,
            columns: columns, bias: bias.map { UnsafePointer($0.pointer) }, output: output,
            min: activation.kernelClamp.minimum, max: activation.kernelClamp.maximum,
            activation: activation.kernelFunction)
        ork_col2im(&arguments, rows.lowerBound, rows.upperBound)
    }
}
