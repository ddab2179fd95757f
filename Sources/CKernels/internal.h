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

// The epilogue's activation over a block of rows a kernel just stored (still in L1), with the function of the
// kernel's own ISA level; nothing for the identity. Rows that follow each other without a gap are one call: a
// depthwise conv's 8 pixels of 32 channels are 2 vectors per row, and a call per row cost as much again as the SiLU.
typedef void (*ork_activation_function)(const ork_activation *, const float *, float *, size_t);
ORK_INLINE void ork_activate_rows(ork_activation_function apply, const ork_activation *activation, float *c,
                                  size_t rows, size_t columns, size_t stride) {
    if (activation->kind == ORK_ACTIVATION_IDENTITY) return;
    if (columns == stride) {
        apply(activation, c, c, rows * columns);
        return;
    }
    for (size_t r = 0; r < rows; r++) apply(activation, c + r * stride, c + r * stride, columns);
}

// How a GEMM's A rows are laid out, for an implicit im2col: row m is rows x columns pieces of
// k / (rows * columns) contiguous floats, piece (r, c) at a + m * a_row_stride + r * row_stride + c * column_stride
// (a piece per kernel row when a kernel row is contiguous in NHWC, else per tap). {1, 0, 1, 0}: the plain GEMM.
typedef struct {
    size_t rows, row_stride, columns, column_stride;
} ork_segments;

// Walks the pieces of a segmented A row in order: `row` is the current segment row's first piece, `piece` the
// current piece, `column` its index in the row.
ORK_INLINE void ork_next_piece(const ork_segments *segments, size_t *column, const float **row, const float **piece) {
    if (++*column < segments->columns) {
        *piece += segments->column_stride;
    } else {
        *column = 0;
        *row += segments->row_stride;
        *piece = *row;
    }
}

// The GEMM of each ISA level on A rows laid out in segments.
typedef void (*ork_segmented_gemm)(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin,
                                   size_t m_end);
void ork_gemm_segmented_portable(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin,
                                 size_t m_end);
#if ORK_X86
void ork_gemm_segmented_avx2(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin, size_t m_end);
void ork_gemm_segmented_avx512(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin,
                               size_t m_end);
#endif

// Winograd tiles per block: the block's transformed inputs and products (positions x tiles x (Cin + Cout) floats,
// 16 or 36 positions) stay within ~512 KB of L2 next to one position's weights; at least 16 tiles, so that each
// pass over the transformed weights (positions x Cin x Cout) feeds enough GEMM rows.
ORK_INLINE size_t ork_winograd_tiles_per_block(size_t input_channels, size_t output_channels, size_t positions) {
    const size_t per_tile = positions * (input_channels + output_channels);
    return ORK_MAX((size_t)16, (size_t)131072 / (per_tile ? per_tile : 1));
}

// Floats from one output pixel of a convolution to the next: its channels, or the wider rows it writes into.
ORK_INLINE size_t ork_output_pixel_stride(const ork_convolution_args *args) {
    return args->output_pixel_stride ? args->output_pixel_stride : args->output_channels;
}

// The bfloat16 GEMMs on segmented rows (gemm_bfloat16*.c); the plain ones are these on {1, 0, 1, 0}.
void ork_gemm_bfloat16_segmented_portable(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin,
                                          size_t m_end);
void ork_gemm_bfloat16_segmented_avx512bf16(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin,
                                            size_t m_end);

// ork_convolution's driver (windows in place, im2col at the borders) on any level's segmented GEMM; the
// bfloat16 convolution runs it on its own GEMM.
void ork_convolution_on(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch,
                        ork_segmented_gemm run);

#if defined(__clang__)
#define ORK_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define ORK_UNROLL _Pragma("GCC unroll 32")
#else
#define ORK_UNROLL
#endif
