// Wrappers of the reduced-precision float kernels (reduced_precision_template.h): a tensor's range, int32
// accumulators rescaled to float, float32 rounded to float16's values; each at the ISA level asked for.

import CKernels

enum ReducedPrecisionKernels {
    /// The smallest and largest of `count` floats (+inf and -inf when count is 0).
    static func range(_ input: UnsafePointer<Float>, count: Int, using level: KernelInstructionSet = .detected)
        -> (minimum: Float, maximum: Float) {
        var minimum: Float = 0, maximum: Float = 0
        switch level {
        case .portable: ork_min_max_portable(input, count, &minimum, &maximum)
        case .avx2: ork_min_max_avx2(input, count, &minimum, &maximum)
        case .avx512: ork_min_max_avx512(input, count, &minimum, &maximum)
        }
        return (minimum, maximum)
    }

    /// `rows` rows of `clamp((Float(accumulator) * scale[c] + bias[c]) + residual, min, max)`, as `arguments` say.
    static func rescale(_ arguments: ork_rescale_args, rows: Int, using level: KernelInstructionSet = .detected) {
        var arguments = arguments
        switch level {
        case .portable: ork_rescale_int32_portable(&arguments, rows)
        case .avx2: ork_rescale_int32_avx2(&arguments, rows)
        case .avx512: ork_rescale_int32_avx512(&arguments, rows)
        }
    }

    /// `output[i]` = the float16 value nearest `input[i]`, as a float (may be in place).
    static func roundToFloat16(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
                               using level: KernelInstructionSet = .detected) {
        switch level {
        case .portable: ork_round_to_float16_portable(input, output, count)
        case .avx2: ork_round_to_float16_avx2(input, output, count)
        case .avx512: ork_round_to_float16_avx512(input, output, count)
        }
    }
}
