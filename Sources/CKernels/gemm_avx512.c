// GEMM micro-kernels for AVX-512: up to 12 rows x 32 columns (two packed panels) per tile, broadcast-FMA.
#include "internal.h"

#if ORK_X86
#include <immintrin.h>

#define MAX_ROWS 12

// One tile: `rows` rows of A times one or two packed panels (w0, w1 = w0 + panel stride).
// rows and two_panels are constants after inlining, so the accumulator arrays live in registers.
ORK_INLINE ORK_TARGET_AVX512 void tile(const int rows, const int two_panels, size_t k, size_t segments, size_t segment_stride, const float *a,
                                       size_t a_stride, const float *w0, const float *w1,
                                       const float *residual, size_t residual_stride, float *c, size_t c_stride,
                                       __mmask16 mask0, __mmask16 mask1, __m512 vmin, __m512 vmax) {
    __m512 acc0[MAX_ROWS], acc1[MAX_ROWS];
    const __m512 bias0 = _mm512_loadu_ps(w0);
    const __m512 bias1 = two_panels ? _mm512_loadu_ps(w1) : _mm512_setzero_ps();
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        acc0[r] = bias0;
        acc1[r] = bias1;
    }
    w0 += ORK_TILE;
    w1 += ORK_TILE;
    const size_t length = k / segments;
    for (size_t segment = 0; segment < segments; segment++, a += segment_stride, w0 += length * ORK_TILE,
                w1 += length * ORK_TILE) {
        for (size_t kk = 0; kk < length; kk++) {
            const __m512 b0 = _mm512_loadu_ps(w0 + kk * ORK_TILE);
            const __m512 b1 = two_panels ? _mm512_loadu_ps(w1 + kk * ORK_TILE) : _mm512_setzero_ps();
            ORK_UNROLL
            for (int r = 0; r < rows; r++) {
                const __m512 av = _mm512_set1_ps(a[(size_t)r * a_stride + kk]);
                acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
                if (two_panels) acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
            }
        }
    }
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        __m512 v0 = acc0[r];
        if (residual) v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, residual + (size_t)r * residual_stride));
        // max(min, v) / min(max, v): a NaN in v propagates (the second operand wins on NaN).
        v0 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v0));
        _mm512_mask_storeu_ps(c + (size_t)r * c_stride, mask0, v0);
        if (two_panels) {
            __m512 v1 = acc1[r];
            if (residual)
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, residual + (size_t)r * residual_stride + 16));
            v1 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v1));
            _mm512_mask_storeu_ps(c + (size_t)r * c_stride + 16, mask1, v1);
        }
    }
}

#define TILE_CASE(R)                                                                                          \
    case R:                                                                                                   \
        if (two_panels)                                                                                       \
            tile(R, 1, k, segments, segment_stride, a, a_stride, w0, w1, residual, residual_stride, c, c_stride, mask0, mask1, vmin, vmax); \
        else                                                                                                  \
            tile(R, 0, k, segments, segment_stride, a, a_stride, w0, w1, residual, residual_stride, c, c_stride, mask0, mask1, vmin, vmax); \
        break;

static ORK_TARGET_AVX512 void tile_dispatch(int rows, int two_panels, size_t k, size_t segments,
                                            size_t segment_stride, const float *a, size_t a_stride,
                                            const float *w0, const float *w1, const float *residual,
                                            size_t residual_stride, float *c, size_t c_stride, __mmask16 mask0,
                                            __mmask16 mask1, __m512 vmin, __m512 vmax) {
    switch (rows) {
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
        TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12)
    default: break;
    }
}

static inline __mmask16 column_mask(size_t columns) {
    return columns >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << columns) - 1u);
}

ORK_TARGET_AVX512 void ork_gemm_avx512(const ork_gemm_args *args, size_t segments, size_t segment_stride,
                                       size_t m_begin, size_t m_end) {
    const size_t k = args->k, n = args->n;
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    const size_t panel_stride = ORK_TILE + k * ORK_TILE;
    const __m512 vmin = _mm512_set1_ps(args->min), vmax = _mm512_set1_ps(args->max);
    // Rows per chunk: the chunk of A (chunk x k floats) stays in L1/L2 while every panel pair passes over it.
    size_t chunk = (16384 / (k ? k : 1)) / MAX_ROWS * MAX_ROWS;
    if (chunk < 4 * MAX_ROWS) chunk = 4 * MAX_ROWS;
    for (size_t chunk_begin = m_begin; chunk_begin < m_end; chunk_begin += chunk) {
        const size_t chunk_end = ORK_MIN(m_end, chunk_begin + chunk);
        for (size_t panel = 0; panel < panels; panel += 2) {
            const int two_panels = panel + 1 < panels;
            const size_t column0 = panel * ORK_TILE;
            const size_t columns = n - column0;
            const __mmask16 mask0 = column_mask(columns);
            const __mmask16 mask1 = columns > 16 ? column_mask(columns - 16) : 0;
            const float *w0 = args->packed_b + panel * panel_stride;
            const float *w1 = w0 + panel_stride;
            for (size_t m = chunk_begin; m < chunk_end; m += MAX_ROWS) {
                const int rows = (int)ORK_MIN((size_t)MAX_ROWS, chunk_end - m);
                const float *residual =
                    args->residual ? args->residual + m * args->residual_row_stride + column0 : NULL;
                tile_dispatch(rows, two_panels, k, segments, segment_stride, args->a + m * args->a_row_stride, args->a_row_stride, w0, w1,
                              residual, args->residual_row_stride, args->c + m * args->c_row_stride + column0,
                              args->c_row_stride, mask0, mask1, vmin, vmax);
            }
        }
    }
}

#endif
