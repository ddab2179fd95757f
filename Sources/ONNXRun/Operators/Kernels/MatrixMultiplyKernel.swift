// Packed weights + fused GEMM for 1x1 convolutions (NHWC) and Gemm / fully connected layers.

import CKernels

/// How the unpacked weight matrix is laid out.
enum WeightMatrixLayout: Sendable {
    /// `[outputs, reduction]`: Conv weights `[Cout, Cin, 1, 1]`, ONNX Gemm with `transB = 1`.
    case outputMajor
    /// `[reduction, outputs]`: ONNX Gemm / MatMul with `transB = 0`.
    case reductionMajor
}

/// Weights (and bias) of `output[m][n] = clamp(sum_k input[m][k] * weights[k][n] + bias[n] + residual[m][n])`,
/// packed once. A 1x1 NHWC convolution is this with `m` = pixel, `k` = input channel, `n` = output channel.
/// In `.bf16` precision the weights are stored rounded to bfloat16 and the kernel rounds the input the same way
/// as it reads it (products exact, sums and bias, residual, clamp in float32).
final class PackedMatrixWeights: Sendable {
    /// K: input channels / reduction length.
    let reductionCount: Int
    /// N: output channels / columns.
    let outputCount: Int
    /// Whether a bias was packed in (the fusion of a following bias Add needs to know).
    let hasBias: Bool
    /// The number format of the stored weights and of the kernel's inputs.
    let precision: Precision
    /// `.fp32`: `ork_gemm_pack` floats; `.bf16`: `ork_gemm_bfloat16_pack` 32-bit words (bfloat16 pairs).
    private let packed: AlignedFloatBuffer

    init(weights: UnsafeBufferPointer<Float>, layout: WeightMatrixLayout, reductionCount: Int, outputCount: Int,
         bias: UnsafeBufferPointer<Float>? = nil) throws {
        try requireKernelArgument(reductionCount > 0 && outputCount > 0,
                                  "matrix weights need positive sizes, got \(reductionCount) x \(outputCount)")
        try requireKernelArgument(
            weights.count == reductionCount * outputCount,
            "matrix weights hold \(weights.count) values, expected \(reductionCount) x \(outputCount)")
        try requireKernelArgument(bias == nil || bias?.count == outputCount,
                                  "bias holds \(bias?.count ?? 0) values, expected \(outputCount)")
        self.reductionCount = reductionCount
        self.outputCount = outputCount
        hasBias = bias != nil
        precision = .fp32
        packed = AlignedFloatBuffer(count: ork_gemm_packed_size(reductionCount, outputCount))
        switch layout {
        case .outputMajor:
            ork_gemm_pack_nk(weights.baseAddress, reductionCount, outputCount, bias?.baseAddress, packed.pointer)
        case .reductionMajor:
            ork_gemm_pack_kn(weights.baseAddress, reductionCount, outputCount, bias?.baseAddress, packed.pointer)
        }
    }

    /// A copy of `weights` with `bias` (outputCount values) added to its bias.
    init(_ weights: PackedMatrixWeights, addingBias bias: [Float]) throws {
        try requireKernelArgument(bias.count == weights.outputCount,
                                  "bias holds \(bias.count) values, expected \(weights.outputCount)")
        reductionCount = weights.reductionCount
        outputCount = weights.outputCount
        hasBias = true
        precision = weights.precision
        packed = AlignedFloatBuffer(count: weights.packed.count)
        packed.pointer.update(from: weights.packed.pointer, count: weights.packed.count)
        switch precision {
        case .fp32: ork_gemm_packed_add_bias(packed.pointer, reductionCount, outputCount, bias)
        case .bf16: ork_gemm_bfloat16_packed_add_bias(packed.words, reductionCount, outputCount, bias)
        }
    }

    /// A copy of float32 `weights` with row `k` (input channel k) multiplied by `scale[k]` (reductionCount values),
    /// the bias unchanged: the GEMM of `x * scale` (scale per column of x) is the GEMM of x with these weights.
    init(_ weights: PackedMatrixWeights, scalingRows scale: UnsafePointer<Float>) {
        precondition(weights.precision == .fp32, "scaling rows of bfloat16 weights")
        reductionCount = weights.reductionCount
        outputCount = weights.outputCount
        hasBias = weights.hasBias
        precision = .fp32
        // Made per image per run (squeeze-excite scales): heap, not the packed-weight chunks.
        packed = AlignedFloatBuffer(transientCount: weights.packed.count)
        ork_gemm_packed_scale_rows(weights.packed.pointer, reductionCount, outputCount, scale, packed.pointer)
    }

    /// `weights` rounded to bfloat16 (itself when it already is).
    init(bfloat16 weights: PackedMatrixWeights) {
        reductionCount = weights.reductionCount
        outputCount = weights.outputCount
        hasBias = weights.hasBias
        precision = .bf16
        guard weights.precision == .fp32 else {
            packed = weights.packed
            return
        }
        packed = AlignedFloatBuffer(count: ork_gemm_bfloat16_packed_size(reductionCount, outputCount))
        ork_gemm_bfloat16_pack(weights.packed.pointer, reductionCount, outputCount, packed.words)
    }

    /// Packs copies of Swift arrays (tests, small models).
    static func packing(weights: [Float], layout: WeightMatrixLayout, reductionCount: Int, outputCount: Int,
                        bias: [Float]? = nil) throws -> PackedMatrixWeights {
        try weights.withUnsafeBufferPointer { weightBuffer in
            try withOptionalBufferPointer(bias) { biasBuffer in
                try PackedMatrixWeights(weights: weightBuffer, layout: layout, reductionCount: reductionCount,
                                        outputCount: outputCount, bias: biasBuffer)
            }
        }
    }

    /// Calls `body` with the kernel arguments for these buffers. Row `m` of the input starts at
    /// `input + m * inputRowStride` (>= reductionCount), of the output at `output + m * outputRowStride`
    /// (>= outputCount); `residual` (may equal `output`) likewise. Tests call each kernel variant by name with them.
    func withArguments<Result>(input: UnsafePointer<Float>, inputRowStride: Int, output: UnsafeMutablePointer<Float>,
                               outputRowStride: Int, residual: UnsafePointer<Float>?, residualRowStride: Int,
                               activation: Activation, _ body: (UnsafePointer<ork_gemm_args>) throws -> Result) rethrows
        -> Result {
        precondition(inputRowStride >= reductionCount && outputRowStride >= outputCount,
                     "GEMM strides smaller than the matrix")
        precondition(residual == nil || residualRowStride >= outputCount,
                     "GEMM residual stride smaller than the matrix")
        var arguments = ork_gemm_args(
            k: reductionCount, n: outputCount, a: input, a_row_stride: inputRowStride, packed_b: packed.pointer,
            residual: residual, residual_row_stride: residualRowStride, c: output, c_row_stride: outputRowStride,
            min: activation.kernelClamp.minimum, max: activation.kernelClamp.maximum,
            activation: activation.kernelFunction)
        return try body(&arguments)
    }

    /// Computes output rows `rows` (see `withArguments` for the buffers). `level`: the ISA variant of the float32
    /// GEMM to run (tests run each one the CPU has); bfloat16 weights take the bfloat16 kernel.
    func run(input: UnsafePointer<Float>, inputRowStride: Int, output: UnsafeMutablePointer<Float>,
             outputRowStride: Int, residual: UnsafePointer<Float>? = nil, residualRowStride: Int = 0,
             activation: Activation = .none, rows: Range<Int>, using level: KernelInstructionSet = .detected) {
        precondition(rows.lowerBound >= 0, "GEMM rows \(rows) negative")
        withArguments(input: input, inputRowStride: inputRowStride, output: output, outputRowStride: outputRowStride,
                      residual: residual, residualRowStride: residualRowStride, activation: activation) { arguments in
            switch precision {
            case .fp32: level.kernels.gemm(arguments, rows.lowerBound, rows.upperBound)
            case .bf16: ork_gemm_bfloat16(arguments, rows.lowerBound, rows.upperBound)
            }
        }
    }

    /// `.bf16` weights on bfloat16 rows (two values per 32-bit word, `ork_bfloat16_rows`): `input` rows of
    /// `inputRowStride` (even) bfloat16 values in place of float32 ones (an even reductionCount); the rest as `run`.
    func run(bfloat16Input input: UnsafeRawPointer, inputRowStride: Int, output: UnsafeMutablePointer<Float>,
             outputRowStride: Int, residual: UnsafePointer<Float>? = nil, residualRowStride: Int = 0,
             activation: Activation = .none, rows: Range<Int>) {
        precondition(precision == .bf16 && reductionCount % 2 == 0 && inputRowStride % 2 == 0,
                     "bfloat16 input rows need bfloat16 weights and an even reduction and stride")
        var bfloat16Rows = ork_bfloat16_rows(a: input.assumingMemoryBound(to: UInt16.self), a_row_stride: inputRowStride,
                                             c: nil, c_row_stride: 0)
        withArguments(input: input.assumingMemoryBound(to: Float.self), inputRowStride: inputRowStride, output: output,
                      outputRowStride: outputRowStride, residual: residual, residualRowStride: residualRowStride,
                      activation: activation) { ork_gemm_bfloat16_rows($0, &bfloat16Rows, rows.lowerBound, rows.upperBound) }
    }

    /// `.bf16` weights writing bfloat16 rows of `outputRowStride` values (rounded to nearest even) in place of
    /// float32 ones; no residual, and `clamp` is the only activation.
    func run(input: UnsafePointer<Float>, inputRowStride: Int, bfloat16Output output: UnsafeMutableRawPointer,
             outputRowStride: Int, clamp: ClampBounds, rows: Range<Int>) {
        precondition(precision == .bf16, "bfloat16 output rows need bfloat16 weights")
        var bfloat16Rows = ork_bfloat16_rows(a: nil, a_row_stride: 0, c: output.assumingMemoryBound(to: UInt16.self),
                                             c_row_stride: outputRowStride)
        withArguments(input: input, inputRowStride: inputRowStride, output: output.assumingMemoryBound(to: Float.self),
                      outputRowStride: outputRowStride, residual: nil, residualRowStride: 0,
                      activation: .clamp(clamp)) { ork_gemm_bfloat16_rows($0, &bfloat16Rows, rows.lowerBound, rows.upperBound) }
    }

    /// Output columns are split between threads in multiples of this (one packed panel).
    static let columnBlock = Int(ORK_GEMM_COLUMN_BLOCK)

    /// Computes output rows `rows` x columns `columns` (lower bound a multiple of `columnBlock`, upper bound a
    /// multiple of it or `outputCount`): splits a GEMM with few rows, like a classifier, over threads by columns.
    func run(input: UnsafePointer<Float>, inputRowStride: Int, output: UnsafeMutablePointer<Float>,
             outputRowStride: Int, residual: UnsafePointer<Float>? = nil, residualRowStride: Int = 0,
             activation: Activation = .none, rows: Range<Int>, columns: Range<Int>,
             using level: KernelInstructionSet = .detected) {
        precondition(rows.lowerBound >= 0, "GEMM rows \(rows) negative")
        precondition(columns.lowerBound >= 0 && columns.lowerBound % Self.columnBlock == 0
                         && columns.upperBound <= outputCount
                         && (columns.upperBound % Self.columnBlock == 0 || columns.upperBound == outputCount),
                     "GEMM columns \(columns) not aligned to \(Self.columnBlock)")
        withArguments(input: input, inputRowStride: inputRowStride, output: output, outputRowStride: outputRowStride,
                      residual: residual, residualRowStride: residualRowStride, activation: activation) { arguments in
            let (begin, end) = (rows.lowerBound, rows.upperBound)
            switch precision {
            case .fp32:
                var slice = arguments.pointee
                if ork_gemm_column_slice(arguments, columns.lowerBound, columns.upperBound, &slice) != 0 {
                    level.kernels.gemm(&slice, begin, end)
                }
            case .bf16: ork_gemm_bfloat16_columns(arguments, begin, end, columns.lowerBound, columns.upperBound)
            }
        }
    }
}
