// bfloat16 GEMM for onnxrun's `--precision bf16`: packed B and A rounded to bfloat16, fp32 accumulation.
//
// The same product and fused epilogue as ork_gemm (CKernels.h), with A and B rounded to bfloat16
// (round-to-nearest-even; zero and denormal inputs become signed zero, as the x86 conversion instructions do),
// products summed in float32. B is repacked once, at load, from the float32 packed layout of ork_gemm_pack*;
// A is converted on the fly, a block of rows at a time, inside the kernel.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "CKernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// float32 -> bfloat16 bits, round-to-nearest-even, zero/denormal -> signed zero, NaN stays NaN: the rounding of
/// vcvtne2ps2bf16, in portable C (tests compare against it on any machine).
uint16_t ork_bfloat16_from_float(float value);
/// bfloat16 bits -> float32 (exact).
float ork_float_from_bfloat16(uint16_t bits);

/// 32-bit words of the bfloat16 packed B for a k x n matrix: per panel of 16 columns [16 float bias]
/// [ceil(k / 2) x 16 words], word (p, j) holding B[2p][j] in its low and B[2p + 1][j] in its high half (the
/// k-pairs vdpbf16ps multiplies), zero-padded.
size_t ork_gemm_bfloat16_packed_size(size_t k, size_t n);
/// Repacks a float32 packed B (from ork_gemm_pack*) into the bfloat16 layout; bias stays float32.
void ork_gemm_bfloat16_pack(const float *packed_float, size_t k, size_t n, uint32_t *packed);
/// Adds n bias values to the bias of a bfloat16 packed k x n B.
void ork_gemm_bfloat16_packed_add_bias(uint32_t *packed, size_t k, size_t n, const float *bias);

/// The bfloat16 variants: `args->packed_b` points to the bfloat16 packed B (cast), everything else as ork_gemm.
typedef enum {
    ORK_BFLOAT16_NONE = 0,          // no bfloat16 instructions: only the portable reference
    ORK_BFLOAT16_AVX512BF16 = 1,    // x86-64 AVX-512 BF16 (vdpbf16ps, vcvtne2ps2bf16)
} ork_bfloat16_isa;

/// The best bfloat16 instruction set this CPU (and OS) supports; resolved once.
ork_bfloat16_isa ork_bfloat16_detected_isa(void);

/// Computes rows [m_begin, m_end) with the best variant (the portable reference where the CPU has none).
void ork_gemm_bfloat16(const ork_gemm_args *args, size_t m_begin, size_t m_end);
/// Rows [m_begin, m_end) x columns [n_begin, n_end) (the column split of ork_gemm_column_slice).
void ork_gemm_bfloat16_columns(const ork_gemm_args *args, size_t m_begin, size_t m_end, size_t n_begin,
                               size_t n_end);
/// Plain C: the oracle of the vector variant, bit-compatible in rounding, not in summation order.
void ork_gemm_bfloat16_portable(const ork_gemm_args *args, size_t m_begin, size_t m_end);
/// vdpbf16ps; only where ork_bfloat16_detected_isa() >= ORK_BFLOAT16_AVX512BF16 (undefined elsewhere).
void ork_gemm_bfloat16_avx512bf16(const ork_gemm_args *args, size_t m_begin, size_t m_end);

// MARK: - General convolution (the dense stem, ResNet's 3x3s): ork_convolution's driver on the bfloat16 GEMM

/// Repacks float32 convolution weights (from ork_convolution_pack, `groups` groups of a k x n GEMM each) into
/// bfloat16 pairs in place of each group's float32 block: the group stride stays ork_gemm_packed_size(k, n) floats
/// (the bfloat16 block is about half of it), so `packed` has ork_convolution_packed_size(...) words.
void ork_convolution_bfloat16_pack(const float *packed_float, size_t k, size_t n, size_t groups, uint32_t *packed);

/// As ork_convolution, with `args->packed_weights` the bfloat16 words of ork_convolution_bfloat16_pack (cast):
/// the same windows and im2col, each GEMM row rounded to bfloat16.
void ork_convolution_bfloat16(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch);
/// The portable bfloat16 GEMM under the driver (the oracle of the vector variant).
void ork_convolution_bfloat16_portable(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end,
                                       float *scratch);
/// vdpbf16ps; only where ork_bfloat16_detected_isa() >= ORK_BFLOAT16_AVX512BF16.
void ork_convolution_bfloat16_avx512bf16(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end,
                                         float *scratch);

#ifdef __cplusplus
}
#endif
