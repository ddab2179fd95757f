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

/// The best bfloat16 instruction set this CPU (and OS) supports, none under ONNXRUN_MAX_ISA; resolved once.
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

// MARK: - bfloat16 activations inside one fused operator (the inverted bottleneck's band buffers)

/// Rows of bfloat16 values in place of the GEMM's float32 A and/or C. A bfloat16 row holds its values in order,
/// two per 32-bit word (value 2p in the low half of word p): the layout the kernel converts A into, so a bfloat16
/// C written by one GEMM (or the depthwise below) is read by the next without a conversion pass.
typedef struct {
    const uint16_t *a;     // NULL: args->a (float32, rounded as read); else A[m][j] at a[m * a_row_stride + j]
    size_t a_row_stride;   // even (rows start on a word), and args->k even
    uint16_t *c;           // NULL: args->c (float32); else C[m][j] at c[m * c_row_stride + j], rounded to nearest even
    size_t c_row_stride;
} ork_bfloat16_rows;

/// ork_gemm_bfloat16 with A and/or C in bfloat16 (`rows`); C in bfloat16 takes only a clamp (args->activation must
/// be the identity) and no residual.
void ork_gemm_bfloat16_rows(const ork_gemm_args *args, const ork_bfloat16_rows *rows, size_t m_begin, size_t m_end);
void ork_gemm_bfloat16_rows_portable(const ork_gemm_args *args, const ork_bfloat16_rows *rows, size_t m_begin,
                                     size_t m_end);
/// vdpbf16ps; only where ork_bfloat16_detected_isa() >= ORK_BFLOAT16_AVX512BF16.
void ork_gemm_bfloat16_rows_avx512bf16(const ork_gemm_args *args, const ork_bfloat16_rows *rows, size_t m_begin,
                                       size_t m_end);

/// 32-bit words of the depthwise weights for bfloat16 activations: per group of 32 channels [32 float bias: the
/// group's even channels, then its odd ones] and per tap [16 float weights of the even channels][16 of the odd
/// ones], zero-padded. The weights stay float32: rounding them too moved EfficientNet-Lite0's logits several times
/// more than rounding the activations (a photo's top-1 changed). A word of two bfloat16 input channels becomes the
/// two float32 vectors by one shift (even) and one mask (odd): no permutation, one load per 32 channels.
size_t ork_depthwise_bfloat16_packed_size(size_t channels, size_t kernel_h, size_t kernel_w);
/// Repacks float32 depthwise weights (from ork_depthwise_pack) into this layout.
void ork_depthwise_bfloat16_pack(const float *packed_float, size_t channels, size_t kernel_h, size_t kernel_w,
                                 uint32_t *packed);

/// The depthwise convolution on bfloat16 activations: `args->input` and `args->output` point to bfloat16 NHWC
/// tensors (cast), `args->packed_weights` to ork_depthwise_bfloat16_pack words (cast); channels even, no residual,
/// activation the identity (the clamp applies). Fused multiply-adds in float32 in tap order, the output rounded to
/// nearest even. Rows [row_begin, row_end) as ork_depthwise.
void ork_depthwise_bfloat16(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
void ork_depthwise_bfloat16_portable(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
/// AVX-512 with vcvtne2ps2bf16 stores; only where ork_bfloat16_detected_isa() >= ORK_BFLOAT16_AVX512BF16.
void ork_depthwise_bfloat16_avx512bf16(const ork_depthwise_args *args, size_t row_begin, size_t row_end);

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
