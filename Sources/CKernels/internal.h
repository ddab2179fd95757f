// Shared declarations of the CKernels implementation files: ISA attributes and the per-level entry points.
#pragma once

#include "CKernels.h"

#include <stddef.h>
#include <stdint.h>

#define ORK_INLINE static inline __attribute__((always_inline))
#define ORK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ORK_MAX(a, b) ((a) > (b) ? (a) : (b))

// Channel / column tile of every packed layout: one AVX-512 vector.
#define ORK_TILE 16

#if defined(__x86_64__)
#define ORK_X86 1
#define ORK_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#define ORK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define ORK_X86 0
#endif

/// The level in effect (detected on first call).
int ork_current_isa_level(void);

/// Clamp without libm (fminf/fmaxf may be calls); NaN propagates like in the vector paths (max/min of NaN).
ORK_INLINE float ork_clamp(float value, float min, float max) {
    value = value < min ? min : value;
    return value > max ? max : value;
}

// The epilogue's activation over a block of rows a kernel just stored (still in L1), with the function of the
// kernel's own ISA level; nothing for the identity.
typedef void (*ork_activation_function)(const ork_activation *, const float *, float *, size_t);
ORK_INLINE void ork_activate_rows(ork_activation_function apply, const ork_activation *activation, float *c,
                                  size_t rows, size_t columns, size_t stride) {
    if (activation->kind == ORK_ACTIVATION_IDENTITY) return;
    for (size_t r = 0; r < rows; r++) apply(activation, c + r * stride, c + r * stride, columns);
}

// GEMM whose A row m is `segments` pieces of k / segments contiguous floats, piece s at
// a + m * a_row_stride + s * segment_stride: an implicit im2col for convolutions whose kernel rows are contiguous
// in NHWC (dilation_w = 1, one group). segments = 1 is the plain GEMM.
void ork_gemm_segmented(const ork_gemm_args *args, size_t segments, size_t segment_stride, size_t m_begin,
                        size_t m_end);
void ork_gemm_portable(const ork_gemm_args *args, size_t segments, size_t segment_stride, size_t m_begin, size_t m_end);
void ork_depthwise_portable(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
#if ORK_X86
void ork_gemm_avx2(const ork_gemm_args *args, size_t segments, size_t segment_stride, size_t m_begin, size_t m_end);
void ork_gemm_avx512(const ork_gemm_args *args, size_t segments, size_t segment_stride, size_t m_begin, size_t m_end);
void ork_depthwise_avx2(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
void ork_depthwise_avx512(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
#endif

#if defined(__clang__)
#define ORK_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define ORK_UNROLL _Pragma("GCC unroll 32")
#else
#define ORK_UNROLL
#endif
