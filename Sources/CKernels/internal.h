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

/// Clamp without libm (fminf/fmaxf may be calls); NaN propagates like in the vector paths (max/min of NaN).
ORK_INLINE float ork_clamp(float value, float min, float max) {
    value = value < min ? min : value;
    return value > max ? max : value;
}

// GEMM whose A row m is `segments` pieces of k / segments contiguous floats, piece s at
// a + m * a_row_stride + s * segment_stride: an implicit im2col for convolutions whose kernel rows are contiguous
// in NHWC (dilation_w = 1, one group). segments = 1 is the plain GEMM. One per ISA level.
typedef void (*ork_segmented_gemm)(const ork_gemm_args *args, size_t segments, size_t segment_stride,
                                   size_t m_begin, size_t m_end);
void ork_gemm_segmented_portable(const ork_gemm_args *args, size_t segments, size_t segment_stride, size_t m_begin,
                                 size_t m_end);
#if ORK_X86
void ork_gemm_segmented_avx2(const ork_gemm_args *args, size_t segments, size_t segment_stride, size_t m_begin,
                             size_t m_end);
void ork_gemm_segmented_avx512(const ork_gemm_args *args, size_t segments, size_t segment_stride, size_t m_begin,
                               size_t m_end);
#endif

#if defined(__clang__)
#define ORK_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define ORK_UNROLL _Pragma("GCC unroll 32")
#else
#define ORK_UNROLL
#endif
