// GEMM micro-kernels for AVX2 + FMA: up to 6 rows x 16 columns (one packed panel) per tile, broadcast-FMA.
#include "internal.h"

#if ORK_X86
#include <immintrin.h>

#define MAX_ROWS 6

static const int32_t mask_source[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// Lane mask for the first `count` (0...8) of 8 floats.
ORK_INLINE ORK_TARGET_AVX2 __m256i lane_mask(size_t count) {
    return _mm256_loadu_si256((const __m256i *)(mask_source + 8 - (count > 8 ? 8 : count)));
}

ORK_INLINE ORK_TARGET_AVX2 __m256 finish(__m256 v, const float *residual, __m256i mask, int full, __m256 vmin,
                                         __m256 vmax) {
    if (residual) v = _mm256_add_ps(v, full ? _mm256_loadu_ps(residual) : _mm256_maskload_ps(residual, mask));
    return _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
}

ORK_INLINE ORK_TARGET_AVX2 void store(float *c, __m256 v, __m256i mask, int full) {
    if (full) _mm256_storeu_ps(c, v);
    else _mm256_maskstore_ps(c, mask, v);
}

ORK_INLINE ORK_TARGET_AVX2 void tile(const int rows, size_t k, const ork_segments *segments,
                                     const float *a, size_t a_stride, const float *w,
                                     const float *residual, size_t residual_stride, float *c, size_t c_stride,
                                     size_t columns, __m256 vmin, __m256 vmax, const char *prefetch) {
    __m256 acc0[MAX_ROWS], acc1[MAX_ROWS];
    const __m256 bias0 = _mm256_loadu_ps(w), bias1 = _mm256_loadu_ps(w + 8);
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        acc0[r] = bias0;
        acc1[r] = bias1;
    }
    w += ORK_TILE;
    const size_t length = k / (segments->rows * segments->columns);
    const float *a_row = a;
    const float *a_piece = a;
    for (size_t piece = 0, column = 0; piece < segments->rows * segments->columns; piece++, w += length * ORK_TILE) {
        for (size_t kk = 0; kk < length; kk++) {
            if (prefetch) {  // a line of the next panel per k step: the whole panel over K steps
                _mm_prefetch(prefetch, _MM_HINT_T0);
                prefetch += ORK_TILE * sizeof(float);
            }
            const __m256 b0 = _mm256_loadu_ps(w + kk * ORK_TILE), b1 = _mm256_loadu_ps(w + kk * ORK_TILE + 8);
            ORK_UNROLL
            for (int r = 0; r < rows; r++) {
                const __m256 av = _mm256_broadcast_ss(a_piece + (size_t)r * a_stride + kk);
                acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
                acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
            }
        }
        ork_next_piece(segments, &column, &a_row, &a_piece);
    }
    const int full0 = columns >= 8, full1 = columns >= 16;
    const __m256i mask0 = lane_mask(columns), mask1 = lane_mask(columns > 8 ? columns - 8 : 0);
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        const float *row_residual = residual ? residual + (size_t)r * residual_stride : NULL;
        float *row_c = c + (size_t)r * c_stride;
        store(row_c, finish(acc0[r], row_residual, mask0, full0, vmin, vmax), mask0, full0);
        if (columns > 8)
            store(row_c + 8, finish(acc1[r], row_residual ? row_residual + 8 : NULL, mask1, full1, vmin, vmax), mask1,
                  full1);
    }
}

#define TILE_CASE(R)                                                                                    \
    case R:                                                                                             \
        tile(R, k, segments, a, a_stride, w, residual, residual_stride, c, c_stride, columns, vmin,                  \
             vmax, prefetch);                                                                                 \
        break;

ORK_TARGET_AVX2 void ork_gemm_segmented_avx2(const ork_gemm_args *args, const ork_segments *segments,
                                             size_t m_begin, size_t m_end) {
    const size_t k = args->k, n = args->n;
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    const size_t panel_stride = ORK_TILE + k * ORK_TILE;
    const __m256 vmin = _mm256_set1_ps(args->min), vmax = _mm256_set1_ps(args->max);
    size_t chunk = (16384 / (k ? k : 1)) / MAX_ROWS * MAX_ROWS;
    if (chunk < 8 * MAX_ROWS) chunk = 8 * MAX_ROWS;
    for (size_t chunk_begin = m_begin; chunk_begin < m_end; chunk_begin += chunk) {
        const size_t chunk_end = ORK_MIN(m_end, chunk_begin + chunk);
        for (size_t panel = 0; panel < panels; panel++) {
            const size_t column0 = panel * ORK_TILE;
            const size_t columns = ORK_MIN((size_t)ORK_TILE, n - column0);
            const float *w = args->packed_b + panel * panel_stride;
            // The next panel's weights, fetched while the first row tile runs over this one (from L3 in a network
            // pass, as in the AVX-512 GEMM).
            const char *next = panel + 1 < panels ? (const char *)(w + panel_stride) : NULL;
            for (size_t m = chunk_begin; m < chunk_end; m += MAX_ROWS) {
                const char *prefetch = m == chunk_begin ? next : NULL;
                const int rows = (int)ORK_MIN((size_t)MAX_ROWS, chunk_end - m);
                const float *a = args->a + m * args->a_row_stride;
                const size_t a_stride = args->a_row_stride;
                const float *residual =
                    args->residual ? args->residual + m * args->residual_row_stride + column0 : NULL;
                const size_t residual_stride = args->residual_row_stride;
                float *c = args->c + m * args->c_row_stride + column0;
                const size_t c_stride = args->c_row_stride;
                switch (rows) {
                    TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
                default: break;
                }
                ork_activate_rows(ork_activation_apply_avx2, &args->activation, c, (size_t)rows, columns, c_stride);
            }
        }
    }
}

#endif
