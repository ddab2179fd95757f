// Packed weights + fused Winograd F(2x2, 3x3) convolution NHWC (dense 3x3, stride 1, no dilation, one group).

import CKernels

/// Convolution weights `[Cout, Cin, 3, 3]` and bias transformed into 16 GEMM-packed matrices `G g Gt`: the dense
/// 3x3 convolutions of ResNet, GoogLeNet, DenseNet and SqueezeNet with 2.25x fewer multiplications than the
/// general kernel (`ConvolutionKernel`, the oracle in the tests).
final class WinogradConvolutionKernel: Sendable {
    let outputChannels: Int
    let inputChannels: Int
    private let packed: AlignedFloatBuffer

    /// Whether a convolution with these attributes runs on this kernel: 3x3, stride 1, no dilation, one group, and
    /// enough channels that the 16 GEMMs run at full speed (on few channels the transforms dominate).
    static func applies(outputChannels: Int, inputChannelsPerGroup: Int, kernelHeight: Int, kernelWidth: Int,
                        groups: Int, strides: [Int], dilations: [Int]) -> Bool {
        kernelHeight == 3 && kernelWidth == 3 && groups == 1 && strides == [1, 1] && dilations == [1, 1]
            && inputChannelsPerGroup >= 16 && outputChannels >= 16
    }

    init(weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>? = nil, outputChannels: Int,
         inputChannels: Int) throws {
        try requireKernelArgument(outputChannels > 0 && inputChannels > 0,
                                  "Winograd weights need positive channel counts, got [\(outputChannels), \(inputChannels), 3, 3]")
        try requireKernelArgument(weights.count == outputChannels * inputChannels * 9,
                                  "Winograd weights hold \(weights.count) values, expected [\(outputChannels), \(inputChannels), 3, 3]")
        try requireKernelArgument(bias == nil || bias?.count == outputChannels,
                                  "bias holds \(bias?.count ?? 0) values, expected \(outputChannels)")
        self.outputChannels = outputChannels
        self.inputChannels = inputChannels
        packed = AlignedFloatBuffer(count: ork_winograd_packed_size(outputChannels, inputChannels))
        ork_winograd_pack(weights.baseAddress, bias?.baseAddress, outputChannels, inputChannels, packed.pointer)
    }

    /// Packs copies of Swift arrays (tests, small models).
    static func packing(weights: [Float], bias: [Float]? = nil, outputChannels: Int,
                        inputChannels: Int) throws -> WinogradConvolutionKernel {
        try weights.withUnsafeBufferPointer { weightBuffer in
            try withOptionalBufferPointer(bias) { biasBuffer in
                try WinogradConvolutionKernel(weights: weightBuffer, bias: biasBuffer, outputChannels: outputChannels,
                                              inputChannels: inputChannels)
            }
        }
    }

    /// True when `shape` is a convolution these weights compute.
    func accepts(_ shape: ConvolutionShape) -> Bool {
        shape.isValid && shape.groups == 1 && shape.outputChannels == outputChannels
            && shape.inputChannels == inputChannels && shape.kernelHeight == 3 && shape.kernelWidth == 3
            && shape.strideHeight == 1 && shape.strideWidth == 1 && shape.dilationHeight == 1
            && shape.dilationWidth == 1
    }

    /// Work units: 2x2 blocks of output pixels of all images.
    func tileCount(for shape: ConvolutionShape) -> Int {
        var arguments = self.arguments(shape, input: nil, output: nil, residual: nil, activation: .none)
        return ork_winograd_tile_count(&arguments)
    }

    /// Floats of scratch one `run` call needs (one buffer per thread).
    func scratchCount(for shape: ConvolutionShape) -> Int {
        var arguments = self.arguments(shape, input: nil, output: nil, residual: nil, activation: .none)
        return ork_winograd_scratch_size(&arguments)
    }

    /// Computes the output pixels of tiles `tiles` (in 0..<tileCount(for: shape)). scratch: `scratchCount(for:)`
    /// floats, private to this call. `level`: the ISA variant to run (tests run each one the CPU has).
    func run(shape: ConvolutionShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             residual: UnsafePointer<Float>? = nil, activation: Activation = .none, tiles: Range<Int>,
             scratch: UnsafeMutablePointer<Float>, using level: KernelInstructionSet = .detected) {
        precondition(accepts(shape), "Winograd weights [\(outputChannels), \(inputChannels), 3, 3] given \(shape)")
        precondition(tiles.lowerBound >= 0 && tiles.upperBound <= tileCount(for: shape),
                     "Winograd tiles out of range")
        var arguments = self.arguments(shape, input: input, output: output, residual: residual, activation: activation)
        level.kernels.winograd(&arguments, tiles.lowerBound, tiles.upperBound, scratch)
    }

    private func arguments(_ shape: ConvolutionShape, input: UnsafePointer<Float>?,
                           output: UnsafeMutablePointer<Float>?, residual: UnsafePointer<Float>?,
                           activation: Activation) -> ork_convolution_args {
        shape.kernelArguments(input: input, packedWeights: packed.pointer, residual: residual, output: output,
                              activation: activation)
    }
}
