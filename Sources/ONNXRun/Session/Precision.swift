// The number format a session multiplies in: float32 (the default, exact as onnxruntime) or bfloat16 on demand.

import CKernels

/// The number format of the products in the optimized convolutions and matrix multiplications.
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// float32 throughout: agrees with onnxruntime within 1e-5.
    case fp32
    /// Pointwise (1x1) and general (dense, grouped) convolutions and Gemm/MatMul with constant weights multiply
    /// bfloat16-rounded weights and activations and sum in float32: twice the multiply rate of float32 FMAs where
    /// the CPU has bfloat16 instructions, at ~3 significant digits per product. Depthwise convolutions, pooling
    /// and elementwise operators stay float32.
    case bf16

    public var description: String { rawValue }

    /// The bfloat16 instructions of this CPU that `.bf16` runs on ("AVX512-BF16"), or nil when it has none (or
    /// the environment's ONNXRUN_MAX_ISA leaves them out): a session asked for `.bf16` then keeps `.fp32`.
    public static var bfloat16Instructions: String? {
        switch ork_bfloat16_detected_isa() {
        case ORK_BFLOAT16_AVX512BF16: "AVX512-BF16"
        default: nil
        }
    }

    /// Why `.bf16` runs as `.fp32` here, nil when it does not: "this CPU lacks AVX512-BF16" or "ONNXRUN_MAX_ISA
    /// leaves out AVX512-BF16".
    public static var bfloat16Unavailability: String? {
        guard bfloat16Instructions == nil else { return nil }
        return ork_isa_extensions_allowed() != 0 ? "this CPU lacks AVX512-BF16" : "ONNXRUN_MAX_ISA leaves out AVX512-BF16"
    }
}

extension InferenceSession {
    /// Which kernels run, for `bench` and `inspect`: "fp32 AVX-512", or "bf16 AVX512-BF16 (1x1 and dense
    /// convolutions, Gemm/MatMul, inverted bottlenecks' inner activations) + fp32 AVX-512 (the rest)", or "fp32
    /// reference kernels" without optimization.
    public var kernelDescription: String {
        if options.optimizationLevel == .none { return "fp32 reference kernels" }
        let float32 = "fp32 \(KernelInstructionSet.detected)"
        guard precision == .bf16, let instructions = Precision.bfloat16Instructions else { return float32 }
        return "bf16 \(instructions) (1x1 and dense convolutions, Gemm/MatMul, inverted bottlenecks' inner "
            + "activations) + \(float32) (the rest)"
    }
}
