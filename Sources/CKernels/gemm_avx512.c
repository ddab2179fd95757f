// GEMM micro-kernels for AVX-512: 12 rows x 16 columns (one packed panel; two when K is large) per tile,
// broadcast-FMA; 9 rows x 24 columns on 256-bit FMAs for a panel and a half, and a last panel with <= 8 columns on
// 256-bit FMAs.
#include "internal.h"

#if ORK_X86
#include <immintrin.h>

#define MAX_ROWS 12

// Tiles of full columns cover one panel, 12 x 16 (12 FMAs per k step, each with its A value broadcast from memory
// inside the FMA), up to this K, and two panels above it. On K = 16-64 a 12 x 16 tile ran at 114-117 GFLOP/s where
// 12 x 32 (one broadcast register for two FMAs) ran at 97-112 (Zen 4, ~118 peak); from K ~ 1000 a tile's A rows
// and panel no longer fit in L1 and two panels per pass over A paid (M = 49, K = 1024, N = 2048: 108 against 93).
#define TWO_PANEL_MIN_K 256

// Column shapes of a tile: which of the (one or two) panels are computed, and whether the last one is only
// half used (<= 8 columns). Half-used panels run on 256-bit FMAs (half the cost of a 512-bit one on Zen 4); a panel
// and a half (17-24 columns) runs as three 256-bit column groups: Zen 4 pairs 512- and 256-bit FMAs badly (12 rows
// x (16 + 8) columns took 20 cycles per k step instead of 18), while 9 rows x 3 x 8 columns run at the peak.
enum { ONE_PANEL = 0, TWO_PANELS = 1, PANEL_AND_HALF = 2, HALF_PANEL = 3 };

// Rows per tile of a shape: 24 accumulators of 512 bits, or 27 of 256 bits for a panel and a half (9 rows measured
// faster than 8 or 10 on K = 96/144, N = 24: 112-115 GFLOP/s against 103 for 12 rows of 16 + 8 columns).
static inline int tile_rows(int shape) { return shape == PANEL_AND_HALF ? 9 : MAX_ROWS; }

// One accumulator's columns of a C row: + residual (when given), clamped, stored under `mask`.
// max(min, v) / min(max, v): a NaN in v propagates (the second operand wins on NaN).
ORK_INLINE ORK_TARGET_AVX512 void store_16(__m512 v, const float *residual, float *c, __mmask16 mask, __m512 vmin,
                                           __m512 vmax) {
    if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, residual));
    _mm512_mask_storeu_ps(c, mask, _mm512_min_ps(vmax, _mm512_max_ps(vmin, v)));
}

ORK_INLINE ORK_TARGET_AVX512 void store_8(__m256 v, const float *residual, float *c, __mmask8 mask, __m256 vmin,
                                          __m256 vmax) {
    if (residual) v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(mask, residual));
    _mm256_mask_storeu_ps(c, mask, _mm256_min_ps(vmax, _mm256_max_ps(vmin, v)));
}

// One tile: `rows` rows of A times one or two packed panels (w0, w1 = w0 + panel stride).
// rows and shape are constants after inlining, so the accumulator arrays live in registers.
ORK_INLINE ORK_TARGET_AVX512 void tile(const int rows, const int shape, size_t k, const ork_segments *segments,
                                       const float *a, size_t a_stride, const float *w0,
                                       const float *w1, const float *residual, size_t residual_stride, float *c,
                                       size_t c_stride, __mmask16 mask0, __mmask16 mask1, __m512 vmin,
                                       __m512 vmax, const char *prefetch0, const char *prefetch1) {
    // 512-bit accumulators of panel 0 and 1; 256-bit ones of panel 0's low and high half and panel 1's low half.
    const int full0 = shape == ONE_PANEL || shape == TWO_PANELS, full1 = shape == TWO_PANELS;
    const int low0 = shape == HALF_PANEL || shape == PANEL_AND_HALF, high0 = shape == PANEL_AND_HALF;
    const int low1 = shape == PANEL_AND_HALF;
    __m512 acc0[MAX_ROWS], acc1[MAX_ROWS];
    __m256 low_acc0[MAX_ROWS], high_acc0[MAX_ROWS], low_acc1[MAX_ROWS];
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        if (full0) acc0[r] = _mm512_loadu_ps(w0);
        if (full1) acc1[r] = _mm512_loadu_ps(w1);
        if (low0) low_acc0[r] = _mm256_loadu_ps(w0);
        if (high0) high_acc0[r] = _mm256_loadu_ps(w0 + 8);
        if (low1) low_acc1[r] = _mm256_loadu_ps(w1);
    }
    w0 += ORK_TILE;
    w1 += ORK_TILE;
    const size_t length = k / (segments->rows * segments->columns);
    const float *a_row = a;
    const float *a_piece = a;
    for (size_t piece = 0, column = 0; piece < segments->rows * segments->columns;
         piece++, w0 += length * ORK_TILE, w1 += length * ORK_TILE) {
        for (size_t kk = 0; kk < length; kk++) {
            if (prefetch0) {  // a line of each next panel per k step: the whole panel over K steps
                _mm_prefetch(prefetch0, _MM_HINT_T0);
                _mm_prefetch(prefetch1, _MM_HINT_T0);
                prefetch0 += ORK_TILE * sizeof(float);
                prefetch1 += ORK_TILE * sizeof(float);
            }
            const __m512 b0 = full0 ? _mm512_loadu_ps(w0 + kk * ORK_TILE) : _mm512_setzero_ps();
            const __m512 b1 = full1 ? _mm512_loadu_ps(w1 + kk * ORK_TILE) : _mm512_setzero_ps();
            const __m256 low_b0 = low0 ? _mm256_loadu_ps(w0 + kk * ORK_TILE) : _mm256_setzero_ps();
            const __m256 high_b0 = high0 ? _mm256_loadu_ps(w0 + kk * ORK_TILE + 8) : _mm256_setzero_ps();
            const __m256 low_b1 = low1 ? _mm256_loadu_ps(w1 + kk * ORK_TILE) : _mm256_setzero_ps();
            ORK_UNROLL
            for (int r = 0; r < rows; r++) {
                const float value = a_piece[(size_t)r * a_stride + kk];
                if (full0) acc0[r] = _mm512_fmadd_ps(_mm512_set1_ps(value), b0, acc0[r]);
                if (full1) acc1[r] = _mm512_fmadd_ps(_mm512_set1_ps(value), b1, acc1[r]);
                if (low0) low_acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(value), low_b0, low_acc0[r]);
                if (high0) high_acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(value), high_b0, high_acc0[r]);
                if (low1) low_acc1[r] = _mm256_fmadd_ps(_mm256_set1_ps(value), low_b1, low_acc1[r]);
            }
        }
        ork_next_piece(segments, &column, &a_row, &a_piece);
    }
    // Where the stores go does not matter measurably (session 6: 4 rows x 96 contiguous columns ran like 8 x 48 and
    // 12 x 32, and full-width unmasked stores like masked ones); what held small-K tiles at 97-105 GFLOP/s was the
    // 12 x 32 shape and a call per tile (`strip`). Prefetching the lines for writing made it slower.
    const __m256 half_min = _mm512_castps512_ps256(vmin), half_max = _mm512_castps512_ps256(vmax);
    const __mmask8 low_mask0 = (__mmask8)mask0, high_mask0 = (__mmask8)(mask0 >> 8), low_mask1 = (__mmask8)mask1;
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        const float *row_residual = residual ? residual + (size_t)r * residual_stride : NULL;
        float *row_c = c + (size_t)r * c_stride;
        if (full0) store_16(acc0[r], row_residual, row_c, mask0, vmin, vmax);
        if (full1) store_16(acc1[r], row_residual ? row_residual + 16 : NULL, row_c + 16, mask1, vmin, vmax);
        if (low0) store_8(low_acc0[r], row_residual, row_c, low_mask0, half_min, half_max);
        if (high0) store_8(high_acc0[r], row_residual ? row_residual + 8 : NULL, row_c + 8, high_mask0, half_min,
                           half_max);
        if (low1) store_8(low_acc1[r], row_residual ? row_residual + 16 : NULL, row_c + 16, low_mask1, half_min,
                          half_max);
    }
}

#define TILE_CALL(R, SHAPE)                                                                                   \
    tile(R, SHAPE, k, segments, a, a_stride, w0, w1, residual, residual_stride, c, c_stride,                 \
         mask0, mask1, vmin, vmax, prefetch0, prefetch1)
// A panel and a half never has more than 9 rows (tile_rows): its cases above 9 compile to the 9-row tile, not to
// 36 spilling accumulators.
#define TILE_CASE(R)                                                                                          \
    case R:                                                                                                   \
        switch (shape) {                                                                                      \
        case TWO_PANELS: TILE_CALL(R, TWO_PANELS); break;                                                     \
        case PANEL_AND_HALF: TILE_CALL(R <= 9 ? R : 9, PANEL_AND_HALF); break;                                \
        case HALF_PANEL: TILE_CALL(R, HALF_PANEL); break;                                                     \
        default: TILE_CALL(R, ONE_PANEL); break;                                                              \
        }                                                                                                     \
        break;

static ORK_TARGET_AVX512 void tile_dispatch(int rows, int shape, size_t k, const ork_segments *segments,
                                            const float *a, size_t a_stride,
                                            const float *w0, const float *w1, const float *residual,
                                            size_t residual_stride, float *c, size_t c_stride, __mmask16 mask0,
                                            __mmask16 mask1, __m512 vmin, __m512 vmax, const char *prefetch0,
                                            const char *prefetch1) {
    switch (rows) {
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
        TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12)
    default: break;
    }
}

// The tiles of one column strip: `rows` rows of A times one tile shape. Whole tiles run in a loop of their own, so
// a small-K tile (192 FMAs at K = 16) does not pay a call, two switches and its arguments again each time; the
// rows past the last whole tile, with that tile, split into two near-equal tiles (13 rows: 7 + 6, not 12 + 1: a
// one-row tile of one panel is a single FMA chain, bound by the FMA latency). The first tile fetches the next
// strip's weights (next0, next1; NULL: none) as it runs, in a call of its own: the tiles in the loop compile
// without the prefetch.
#define WHOLE_TILES(R, SHAPE)                                                                                 \
    for (size_t t = 0; t < whole; t++) {                                                                      \
        TILE_CALL(R, SHAPE);                                                                                  \
        a += R * a_stride;                                                                                    \
        c += R * c_stride;                                                                                    \
        if (residual) residual += R * residual_stride;                                                        \
    }
static ORK_TARGET_AVX512 void strip(size_t rows, int shape, size_t k, const ork_segments *segments, const float *a,
                                    size_t a_stride, const float *w0, const float *w1, const float *residual,
                                    size_t residual_stride, float *c, size_t c_stride, __mmask16 mask0,
                                    __mmask16 mask1, __m512 vmin, __m512 vmax, const char *next0,
                                    const char *next1) {
    const size_t step = (size_t)tile_rows(shape);
    size_t whole = rows / step;
    if (rows % step != 0 && whole > 0) whole--;
    const char *const prefetch0 = NULL, *const prefetch1 = NULL;  // the tiles after the first
    for (int first = 1; rows > 0; first = 0) {
        if (!first && whole > 0) {
            switch (shape) {
            case TWO_PANELS: WHOLE_TILES(MAX_ROWS, TWO_PANELS); break;
            case PANEL_AND_HALF:
                // A call per tile: the 9-row tile inlined into this loop ran 1-3 % slower (K = 96-144, N = 24).
                for (size_t t = 0; t < whole; t++) {
                    tile_dispatch(9, shape, k, segments, a, a_stride, w0, w1, residual, residual_stride, c,
                                  c_stride, mask0, mask1, vmin, vmax, NULL, NULL);
                    a += 9 * a_stride;
                    c += 9 * c_stride;
                    if (residual) residual += 9 * residual_stride;
                }
                break;
            case HALF_PANEL: WHOLE_TILES(MAX_ROWS, HALF_PANEL); break;
            default: WHOLE_TILES(MAX_ROWS, ONE_PANEL); break;
            }
            rows -= whole * step;
            whole = 0;
            continue;
        }
        // The first tile (a whole one if any), then the one or two of the rest.
        const size_t part = whole > 0 ? step : rows > step ? (rows + 1) / 2 : rows;
        if (whole > 0) whole--;
        tile_dispatch((int)part, shape, k, segments, a, a_stride, w0, w1, residual, residual_stride, c, c_stride,
                      mask0, mask1, vmin, vmax, first ? next0 : NULL, first ? next1 : NULL);
        a += part * a_stride;
        c += part * c_stride;
        if (residual) residual += part * residual_stride;
        rows -= part;
    }
}

static inline __mmask16 column_mask(size_t columns) {
    return columns >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << columns) - 1u);
}

// Few rows (a classifier, M = batch): 1-3 rows x 4 full panels (64 columns), so even one row has four
// independent FMA chains instead of being bound by the FMA latency.
#define WIDE_PANELS 4
ORK_INLINE ORK_TARGET_AVX512 void wide_tile(const int rows, size_t k, const float *a, size_t a_stride,
                                            const float *w, size_t panel_stride, const float *residual,
                                            size_t residual_stride, float *c, size_t c_stride, __m512 vmin,
                                            __m512 vmax) {
    __m512 acc[3][WIDE_PANELS];
    ORK_UNROLL
    for (int p = 0; p < WIDE_PANELS; p++) {
        const __m512 bias = _mm512_loadu_ps(w + p * panel_stride);
        ORK_UNROLL
        for (int r = 0; r < rows; r++) acc[r][p] = bias;
    }
    w += ORK_TILE;
    for (size_t kk = 0; kk < k; kk++) {
        ORK_UNROLL
        for (int p = 0; p < WIDE_PANELS; p++) {
            const __m512 b = _mm512_loadu_ps(w + p * panel_stride + kk * ORK_TILE);
            ORK_UNROLL
            for (int r = 0; r < rows; r++)
                acc[r][p] = _mm512_fmadd_ps(_mm512_set1_ps(a[(size_t)r * a_stride + kk]), b, acc[r][p]);
        }
    }
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        ORK_UNROLL
        for (int p = 0; p < WIDE_PANELS; p++) {
            __m512 v = acc[r][p];
            if (residual) v = _mm512_add_ps(v, _mm512_loadu_ps(residual + (size_t)r * residual_stride + p * 16));
            v = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v));
            _mm512_storeu_ps(c + (size_t)r * c_stride + p * 16, v);
        }
    }
}

ORK_TARGET_AVX512 void ork_gemm_segmented_avx512(const ork_gemm_args *args, const ork_segments *segments,
                                                 size_t m_begin, size_t m_end) {
    const size_t k = args->k, n = args->n;
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    const size_t panel_stride = ORK_TILE + k * ORK_TILE;
    const __m512 vmin = _mm512_set1_ps(args->min), vmax = _mm512_set1_ps(args->max);
    // Rows per chunk: the chunk of A (chunk x k floats) stays in L1/L2 while every panel pair passes over it.
    size_t chunk = (16384 / (k ? k : 1)) / MAX_ROWS * MAX_ROWS;
    if (chunk < 4 * MAX_ROWS) chunk = 4 * MAX_ROWS;
    size_t first_panel = 0;
    if (m_end - m_begin <= 3 && segments->rows * segments->columns == 1) {
        // Few rows: groups of 4 full panels first, the rest below.
        const size_t full_panels = n / ORK_TILE;
        for (; first_panel + WIDE_PANELS <= full_panels; first_panel += WIDE_PANELS) {
            const size_t column0 = first_panel * ORK_TILE;
            const float *w = args->packed_b + first_panel * panel_stride;
            const float *a = args->a + m_begin * args->a_row_stride;
            const float *residual = args->residual ? args->residual + m_begin * args->residual_row_stride + column0
                                                   : NULL;
            float *c = args->c + m_begin * args->c_row_stride + column0;
            switch (m_end - m_begin) {
            case 1: wide_tile(1, k, a, args->a_row_stride, w, panel_stride, residual, args->residual_row_stride, c,
                              args->c_row_stride, vmin, vmax); break;
            case 2: wide_tile(2, k, a, args->a_row_stride, w, panel_stride, residual, args->residual_row_stride, c,
                              args->c_row_stride, vmin, vmax); break;
            default: wide_tile(3, k, a, args->a_row_stride, w, panel_stride, residual, args->residual_row_stride, c,
                               args->c_row_stride, vmin, vmax); break;
            }
            ork_activate_rows(ork_activation_apply_avx512, &args->activation, c, m_end - m_begin,
                              WIDE_PANELS * ORK_TILE, args->c_row_stride);
        }
    }
    for (size_t chunk_begin = m_begin, chunk_end; chunk_begin < m_end; chunk_begin = chunk_end) {
        chunk_end = ORK_MIN(m_end, chunk_begin + chunk);
        // Less than a tile of rows left joins this chunk: a chunk of its own would stream all of B again for a
        // few rows (49 pixels of a 7x7 image = 48 + 1).
        if (m_end - chunk_end < MAX_ROWS) chunk_end = m_end;
        for (size_t panel = first_panel, step; panel < panels; panel += step) {
            const size_t column0 = panel * ORK_TILE;
            const size_t columns = n - column0;
            const int shape = columns > 24   ? (k > TWO_PANEL_MIN_K ? TWO_PANELS : ONE_PANEL)
                              : columns > 16 ? PANEL_AND_HALF
                              : columns > 8  ? ONE_PANEL
                                             : HALF_PANEL;
            step = shape == TWO_PANELS || shape == PANEL_AND_HALF ? 2 : 1;
            const __mmask16 mask0 = column_mask(columns);
            const __mmask16 mask1 = columns > 16 ? column_mask(columns - 16) : 0;
            const float *w0 = args->packed_b + panel * panel_stride;
            // The next strip's weights (one panel, or the two of a two-panel strip), fetched while the first row tile
            // runs over this strip: in a network pass they come from L3 (a 7x7 layer's GEMM ran 3-14 % slower with
            // cold weights than with hot ones).
            const char *next0 = panel + step < panels ? (const char *)(w0 + step * panel_stride) : NULL;
            const char *next1 = step == 2 && panel + 3 < panels ? next0 + panel_stride * sizeof(float) : next0;
            const float *residual =
                args->residual ? args->residual + chunk_begin * args->residual_row_stride + column0 : NULL;
            strip(chunk_end - chunk_begin, shape, k, segments, args->a + chunk_begin * args->a_row_stride,
                  args->a_row_stride, w0, w0 + panel_stride, residual, args->residual_row_stride,
                  args->c + chunk_begin * args->c_row_stride + column0, args->c_row_stride, mask0, mask1, vmin,
                  vmax, next0, next1);
        }
        // The activation once per chunk over whole rows (in L2 still), not per 32-column tile row: a SiLU call per
        // 32 floats ran ~20 % slower per element than one per row of a few hundred (EfficientNet's expansions).
        ork_activate_rows(ork_activation_apply_avx512, &args->activation,
                          args->c + chunk_begin * args->c_row_stride + first_panel * ORK_TILE,
                          chunk_end - chunk_begin, n - first_panel * ORK_TILE, args->c_row_stride);
    }
}

#endif
