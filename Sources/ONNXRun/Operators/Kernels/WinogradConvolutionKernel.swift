// Packed weights + fused Winograd F(2x2, 3x3) / F(4x4, 3x3) convolution NHWC (dense 3x3, stride 1, one group).

import CKernels

/// Convolution weights `[Cout, Cin, 3, 3]` and bias transformed into 16 or 36 GEMM-packed matrices `G g Gt`: the
/// dense 3x3 convolutions of ResNet, GoogLeNet, DenseNet and SqueezeNet with 2.25x (2x2 output tiles) or 4x (4x4
/// tiles) fewer multiplications than the general kernel (`ConvolutionKernel`; the definition is the tests' oracle).
final class WinogradConvolutionKernel: Sendable {
    let outputChannels: Int
    let inputChannels: Int
    /// Output pixels per tile side: 4 (F(4x4, 3x3)) unless the transformed weights (4x the original) would be
    /// large, as in ResNet's last two stages, whose small images also waste much of a 4x4 tile: there 2.
    let outputTile: Int
    private let packed: AlignedFloatBuffer

    /// The tile side for these channel counts: 4 up to 128 x 256 channels (4.7 MB of transformed weights).
    static func outputTile(outputChannels: Int, inputChannels: Int) -> Int {
        inputChannels * outputChannels <= 128 * 256 ? 4 : 2
    }

    /// Whether a convolution with these attributes runs on this kernel: 3x3, stride 1, no dilation, one group, and
    /// enough channels that the 16 GEMMs run at full speed (on few channels the transforms dominate).
    static func applies(outputChannels: Int, inputChannelsPerGroup: Int, kernelHeight: Int, kernelWidth: Int,
                        groups: Int, strides: [Int], dilations: [Int]) -> Bool {
        kernelHeight == 3 && kernelWidth == 3 && groups == 1 && strides == [1, 1] && dilations == [1, 1]
            && inputChannelsPerGroup >= 16 && outputChannels >= 16
    }

    init(weights: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>? = nil, outputChannels: Int,
         inputChannels: Int, outputTile: Int? = nil) throws {
        let outputTile = outputTile ?? Self.outputTile(outputChannels: outputChannels, inputChannels: inputChannels)
        try requireKernelArgument(outputTile == 2 || outputTile == 4,
                                  "Winograd output tiles are 2x2 or 4x4, got \(outputTile)x\(outputTile)")
        try requireKernelArgument(outputChannels > 0 && inputChannels > 0,
                                  "Winograd weights need positive channel counts, got [\(outputChannels), \(inputChannels), 3, 3]")
        try requireKernelArgument(weights.count == outputChannels * inputChannels * 9,
                                  "Winograd weights hold \(weights.count) values, expected [\(outputChannels), \(inputChannels), 3, 3]")
        try requireKernelArgument(bias == nil || bias?.count == outputChannels,
                                  "bias holds \(bias?.count ?? 0) values, expected \(outputChannels)")
        self.outputChannels = outputChannels
        self.inputChannels = inputChannels
        self.outputTile = outputTile
        packed = AlignedFloatBuffer(count: ork_winograd_packed_size(outputTile, outputChannels, inputChannels))
        ork_winograd_pack(outputTile, weights.baseAddress, bias?.baseAddress, outputChannels, inputChannels,
                          packed.pointer)
    }

    /// Packs copies of Swift arrays (tests, small models).
    static func packing(weights: [Float], bias: [Float]? = nil, outputChannels: Int, inputChannels: Int,
                        outputTile: Int? = nil) throws -> WinogradConvolutionKernel {
        try weights.withUnsafeBufferPointer { weightBuffer in
            try withOptionalBufferPointer(bias) { biasBuffer in
                try WinogradConvolutionKernel(weights: weightBuffer, bias: biasBuffer, outputChannels: outputChannels,
                                              inputChannels: inputChannels, outputTile: outputTile)
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

    /// Work units: outputTile x outputTile blocks of output pixels of all images.
    func tileCount(for shape: ConvolutionShape) -> Int {
        var arguments = self.arguments(shape, input: nil, output: nil, residual: nil, activation: .none)
        return ork_winograd_tile_count(outputTile, &arguments)
    }

    /// Floats of scratch one `run` call needs (one buffer per thread).
    func scratchCount(for shape: ConvolutionShape) -> Int {
        var arguments = self.arguments(shape, input: nil, output: nil, residual: nil, activation: .none)
        return ork_winograd_scratch_size(outputTile, &arguments)
    }

    /// Computes output channels `channels` (default: all; the lower bound a multiple of 16) of the tiles `tiles`
    /// (in 0..<tileCount(for: shape)). scratch: `scratchCount(for:)` floats, private to this call. `level`: the ISA
    /// variant to run (tests run each one the CPU has).
    func run(shape: ConvolutionShape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             residual: UnsafePointer<Float>? = nil, activation: Activation = .none, tiles: Range<Int>,
             channels: Range<Int>? = nil, scratch: UnsafeMutablePointer<Float>,
             using level: KernelInstructionSet = .detected) {
        precondition(accepts(shape), "Winograd weights [\(outputChannels), \(inputChannels), 3, 3] given \(shape)")
        precondition(tiles.lowerBound >= 0 && tiles.upperBound <= tileCount(for: shape),
                     "Winograd tiles out of range")
        let channels = channels ?? 0..<outputChannels
        precondition(channels.lowerBound >= 0 && channels.lowerBound % 16 == 0
                         && channels.upperBound <= outputChannels, "Winograd channels \(channels) out of range")
        var arguments = self.arguments(shape, input: input, output: output, residual: residual, activation: activation)
        level.kernels.winograd(&arguments, outputTile, tiles.lowerBound, tiles.upperBound, channels.lowerBound,
                               channels.upperBound, scratch)
    }

    private func arguments(_ shape: ConvolutionShape, input: UnsafePointer<Float>?,
                           output: UnsafeMutablePointer<Float>?, residual: UnsafePointer<Float>?,
                           activation: Activation) -> ork_convolution_args {
        shape.kernelArguments(input: input, packedWeights: packed.pointer, residual: residual, output: output,
                              activation: activation)
    }
}
