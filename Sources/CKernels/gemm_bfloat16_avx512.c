// bfloat16 GEMM for AVX-512 BF16: A rounded to bfloat16 a block of rows at a time (vcvtne2ps2bf16), then tiles of
// up to 12 rows x 32 columns (two packed panels) of vdpbf16ps: 32 multiply-adds per instruction, twice an FMA's.
#include "CKernelsBFloat16.h"
#include "internal.h"

#if ORK_X86
#include <immintrin.h>
#include <stdlib.h>

#define ORK_TARGET_AVX512BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma,avx512bf16")))
#define MAX_ROWS 12

// Copies `rows` segmented rows (an implicit im2col window each) into contiguous rows of k floats, a piece at a
// time. All the rows before any conversion: a row read right after its masked piece stores cannot be forwarded
// from the store queue and stalls (measured on the stem: the copy-then-convert per row cost more than the products).
static ORK_TARGET_AVX512BF16 void gather_rows(const float *a, size_t a_stride, const ork_segments *segments,
                                              size_t rows, size_t k, float *gathered) {
    const size_t pieces = segments->rows * segments->columns, length = k / pieces;
    for (size_t r = 0; r < rows; r++) {
        const float *segment_row = a + r * a_stride, *piece = segment_row;
        size_t column = 0;
        for (size_t p = 0; p < pieces; p++) {
            for (size_t index = 0; index < length; index += 16) {
                const size_t left = length - index;
                const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
                _mm512_mask_storeu_ps(gathered + r * k + p * length + index, mask,
                                      _mm512_maskz_loadu_ps(mask, piece + index));
            }
            ork_next_piece(segments, &column, &segment_row, &piece);
        }
    }
}

// Rounds `rows` rows of k floats to bfloat16, each row `pairs` words (k rounded up to even, the pad zero).
static ORK_TARGET_AVX512BF16 void convert_rows(const float *a, size_t a_stride, size_t rows, size_t k, size_t pairs,
                                               uint32_t *converted) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = a + r * a_stride;
        uint32_t *destination = converted + r * pairs;
        for (size_t index = 0; index < k; index += 32) {
            const size_t left = k - index;
            const __mmask16 low_mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
            const __mmask16 high_mask =
                left >= 32 ? (__mmask16)0xFFFF : left > 16 ? (__mmask16)((1u << (left - 16)) - 1u) : 0;
            const __m512 low = _mm512_maskz_loadu_ps(low_mask, row + index);
            const __m512 high = _mm512_maskz_loadu_ps(high_mask, row + index + 16);
            const __m512i words = (__m512i)_mm512_cvtne2ps_pbh(high, low);
            const size_t word_count = ORK_MIN((size_t)16, (left + 1) / 2);
            const __mmask16 word_mask = word_count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << word_count) - 1u);
            _mm512_mask_storeu_epi32(destination + index / 2, word_mask, words);
        }
    }
}

// Widths of a tile's two column blocks: a packed panel is 16 columns; a panel with at most 8 columns left is
// computed on its low half only (256-bit vdpbf16ps, half the work on Zen 4's 256-bit pipes), so N = 24 or 40
// (MobileNetV2's and EfficientNet's early projections) does not pay for 8 masked columns.
enum { NONE = 0, HALF = 8, FULL = 16 };

// One tile: `rows` converted rows times one or two panels (w1 = w0 + panel stride). rows, width0 and width1 are
// constants after inlining, so the accumulators live in registers (24 + 2 weights + a broadcast).
ORK_INLINE ORK_TARGET_AVX512BF16 void tile(const int rows, const int width0, const int width1, size_t pairs,
                                           const uint32_t *a, size_t a_stride, const uint32_t *w0,
                                           const uint32_t *w1, const float *residual, size_t residual_stride,
                                           float *c, size_t c_stride, uint16_t *c16, size_t c16_stride,
                                           __mmask16 mask0, __mmask16 mask1, __m512 vmin, __m512 vmax) {
    __m512 acc0[MAX_ROWS], acc1[MAX_ROWS];
    __m256 half0[MAX_ROWS], half1[MAX_ROWS];
    const float *bias0 = (const float *)(const void *)w0, *bias1 = (const float *)(const void *)w1;
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        if (width0 == FULL) acc0[r] = _mm512_loadu_ps(bias0);
        if (width0 == HALF) half0[r] = _mm256_loadu_ps(bias0);
        if (width1 == FULL) acc1[r] = _mm512_loadu_ps(bias1);
        if (width1 == HALF) half1[r] = _mm256_loadu_ps(bias1);
    }
    w0 += ORK_TILE;
    w1 += ORK_TILE;
    for (size_t pair = 0; pair < pairs; pair++) {
        const uint32_t *p0 = w0 + pair * ORK_TILE, *p1 = w1 + pair * ORK_TILE;
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(width0 == FULL ? p0 : p1);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(width1 == FULL ? p1 : p0);
        const __m256bh h0 = (__m256bh)_mm256_loadu_si256((const __m256i *)(const void *)(width0 == HALF ? p0 : p1));
        const __m256bh h1 = (__m256bh)_mm256_loadu_si256((const __m256i *)(const void *)(width1 == HALF ? p1 : p0));
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            const __m512i value = _mm512_set1_epi32((int)a[(size_t)r * a_stride + pair]);
            const __m256bh low = (__m256bh)_mm512_castsi512_si256(value);
            if (width0 == FULL) acc0[r] = _mm512_dpbf16_ps(acc0[r], (__m512bh)value, b0);
            if (width0 == HALF) half0[r] = _mm256_dpbf16_ps(half0[r], low, h0);
            if (width1 == FULL) acc1[r] = _mm512_dpbf16_ps(acc1[r], (__m512bh)value, b1);
            if (width1 == HALF) half1[r] = _mm256_dpbf16_ps(half1[r], low, h1);
        }
    }
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        const float *row_residual = residual ? residual + (size_t)r * residual_stride : NULL;
        // c16: bfloat16 C (rounded to nearest even, vcvtneps2bf16); else float32 C.
        float *row_c = c16 ? NULL : c + (size_t)r * c_stride;
        uint16_t *row_c16 = c16 ? c16 + (size_t)r * c16_stride : NULL;
        // max(min, v) / min(max, v): a NaN in v propagates (the second operand wins on NaN).
        if (row_c16 && width0 == FULL && width1 == FULL) {
            // 32 columns: one conversion of both blocks and one store.
            __m512 v0 = acc0[r], v1 = acc1[r];
            if (row_residual) {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, row_residual));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, row_residual + 16));
            }
            v0 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v0));
            v1 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v1));
            _mm512_mask_storeu_epi16(row_c16, (__mmask32)mask1 << 16 | mask0, (__m512i)_mm512_cvtne2ps_pbh(v1, v0));
            continue;
        }
        for (int block = 0; block < 2; block++) {
            const int width = block == 0 ? width0 : width1;
            const __mmask16 mask = block == 0 ? mask0 : mask1;
            const float *add = row_residual ? row_residual + 16 * block : NULL;
            if (width == FULL) {
                __m512 v = block == 0 ? acc0[r] : acc1[r];
                if (add) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, add));
                v = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v));
                if (row_c16) _mm256_mask_storeu_epi16(row_c16 + 16 * block, mask, (__m256i)_mm512_cvtneps_pbh(v));
                else _mm512_mask_storeu_ps(row_c + 16 * block, mask, v);
            } else if (width == HALF) {
                __m256 v = block == 0 ? half0[r] : half1[r];
                if (add) v = _mm256_add_ps(v, _mm256_maskz_loadu_ps((__mmask8)mask, add));
                v = _mm256_min_ps(_mm512_castps512_ps256(vmax), _mm256_max_ps(_mm512_castps512_ps256(vmin), v));
                if (row_c16) _mm_mask_storeu_epi16(row_c16 + 16 * block, (__mmask8)mask, (__m128i)_mm256_cvtneps_pbh(v));
                else _mm256_mask_storeu_ps(row_c + 16 * block, (__mmask8)mask, v);
            }
        }
    }
}

#define TILE_ARGUMENTS \
    pairs, a, a_stride, w0, w1, residual, residual_stride, c, c_stride, c16, c16_stride, mask0, mask1, vmin, vmax
#define TILE_CASE(R)                                                                                          \
    case R:                                                                                                   \
        switch (widths) {                                                                                     \
        case FULL * 32 + FULL: tile(R, FULL, FULL, TILE_ARGUMENTS); break;                                    \
        case FULL * 32 + HALF: tile(R, FULL, HALF, TILE_ARGUMENTS); break;                                    \
        case FULL * 32 + NONE: tile(R, FULL, NONE, TILE_ARGUMENTS); break;                                    \
        default: tile(R, HALF, NONE, TILE_ARGUMENTS); break;                                                  \
        }                                                                                                     \
        break;

// widths = width0 * 32 + width1.
static ORK_TARGET_AVX512BF16 void tile_dispatch(int rows, int widths, size_t pairs, const uint32_t *a,
                                                size_t a_stride, const uint32_t *w0, const uint32_t *w1,
                                                const float *residual, size_t residual_stride, float *c,
                                                size_t c_stride, uint16_t *c16, size_t c16_stride, __mmask16 mask0,
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

// `rows` (may be NULL): bfloat16 A (read in place: no conversion, no chunk buffer) and/or C.
static ORK_TARGET_AVX512BF16 void run(const ork_gemm_args *args, const ork_segments *segments,
                                      const ork_bfloat16_rows *rows, size_t m_begin, size_t m_end) {
    if (m_begin >= m_end || args->n == 0) return;
    const size_t k = args->k, n = args->n, pairs = (k + 1) / 2;
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    const size_t panel_stride = ORK_TILE + pairs * ORK_TILE;
    const uint32_t *packed = (const uint32_t *)(const void *)args->packed_b;
    const __m512 vmin = _mm512_set1_ps(args->min), vmax = _mm512_set1_ps(args->max);
    const uint16_t *a16 = rows ? rows->a : NULL;
    uint16_t *c16 = rows ? rows->c : NULL;
    const size_t c16_stride = rows ? rows->c_row_stride : 0;
    // Rows per chunk: the converted chunk (chunk x pairs words, ~32 KiB) stays in L1/L2 while every panel pair
    // passes over it; converted once per chunk. bfloat16 A needs no chunks.
    size_t chunk = (8192 / (pairs ? pairs : 1)) / MAX_ROWS * MAX_ROWS;
    if (chunk < 2 * MAX_ROWS) chunk = 2 * MAX_ROWS;
    chunk = a16 ? m_end - m_begin : ORK_MIN(chunk, m_end - m_begin);
    // The converted chunk, then (segmented rows only) the chunk's rows gathered as floats. Heap, not stack: pool
    // threads have 1 MiB stacks and a chunk of a wide K can be hundreds of KiB.
    const int segmented = segments->rows * segments->columns > 1;
    const size_t converted_bytes = a16 ? 0 : (chunk * pairs * sizeof(uint32_t) + 63) / 64 * 64;
    const size_t gathered_bytes = segmented && !a16 ? (chunk * k * sizeof(float) + 63) / 64 * 64 : 0;
    uint32_t *converted = NULL;
    if (!a16) {
        converted = aligned_alloc(64, converted_bytes + gathered_bytes);
        if (converted == NULL) {
            if (rows) ork_gemm_bfloat16_rows_portable(args, rows, m_begin, m_end);  // rows: plain segments
            else ork_gemm_bfloat16_segmented_portable(args, segments, m_begin, m_end);
            return;
        }
    }
    float *gathered = converted ? (float *)(void *)((char *)converted + converted_bytes) : NULL;
    for (size_t chunk_begin = m_begin; chunk_begin < m_end; chunk_begin += chunk) {
        const size_t chunk_rows = ORK_MIN(chunk, m_end - chunk_begin);
        const uint32_t *a_words = converted;
        size_t a_stride = pairs;
        if (a16) {
            a_words = (const uint32_t *)(const void *)(a16 + chunk_begin * rows->a_row_stride);
            a_stride = rows->a_row_stride / 2;
        } else if (segmented) {
            const float *a = args->a + chunk_begin * args->a_row_stride;
            gather_rows(a, args->a_row_stride, segments, chunk_rows, k, gathered);
            convert_rows(gathered, k, chunk_rows, k, pairs, converted);
        } else {
            convert_rows(args->a + chunk_begin * args->a_row_stride, args->a_row_stride, chunk_rows, k, pairs,
                         converted);
        }
        for (size_t panel = 0; panel < panels; panel += 2) {
            const size_t column0 = panel * ORK_TILE, columns = n - column0;
            const int two_panels = columns > 16;
            const int width0 = columns > 8 ? FULL : HALF;
            const int width1 = columns > 24 ? FULL : columns > 16 ? HALF : NONE;
            const __mmask16 mask0 = column_mask(columns);
            const __mmask16 mask1 = columns > 16 ? column_mask(columns - 16) : 0;
            const uint32_t *w0 = packed + panel * panel_stride;
            const uint32_t *w1 = two_panels ? w0 + panel_stride : w0;
            for (size_t row = 0; row < chunk_rows; row += MAX_ROWS) {
                const int tile_rows = (int)ORK_MIN((size_t)MAX_ROWS, chunk_rows - row);
                const size_t m = chunk_begin + row;
                const float *residual =
                    args->residual ? args->residual + m * args->residual_row_stride + column0 : NULL;
                tile_dispatch(tile_rows, width0 * 32 + width1, pairs, a_words + row * a_stride, a_stride, w0, w1,
                              residual, args->residual_row_stride,
                              c16 ? NULL : args->c + m * args->c_row_stride + column0, args->c_row_stride,
                              c16 ? c16 + m * c16_stride + column0 : NULL, c16_stride, mask0, mask1, vmin, vmax);
            }
        }
        // The activation after the clamp, once per chunk over whole rows (float32 C only).
        if (!c16)
            ork_activate_rows(ork_activation_apply_avx512, &args->activation,
                              args->c + chunk_begin * args->c_row_stride, chunk_rows, n, args->c_row_stride);
    }
    free(converted);
}

ORK_TARGET_AVX512BF16 void ork_gemm_bfloat16_segmented_avx512bf16(const ork_gemm_args *args,
                                                                   const ork_segments *segments, size_t m_begin,
                                                                   size_t m_end) {
    run(args, segments, NULL, m_begin, m_end);
}

ORK_TARGET_AVX512BF16 void ork_gemm_bfloat16_avx512bf16(const ork_gemm_args *args, size_t m_begin, size_t m_end) {
    const ork_segments plain = {1, 0, 1, 0};
    run(args, &plain, NULL, m_begin, m_end);
}

ORK_TARGET_AVX512BF16 void ork_gemm_bfloat16_rows_avx512bf16(const ork_gemm_args *args, const ork_bfloat16_rows *rows,
                                                             size_t m_begin, size_t m_end) {
    const ork_segments plain = {1, 0, 1, 0};
    run(args, &plain, rows, m_begin, m_end);
}

#else

// Other architectures: the name links (tests list it), and ork_bfloat16_detected_isa() never selects it.
void ork_gemm_bfloat16_avx512bf16(const ork_gemm_args *args, size_t m_begin, size_t m_end) {
    ork_gemm_bfloat16_portable(args, m_begin, m_end);
}

void ork_gemm_bfloat16_segmented_avx512bf16(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin,
                                            size_t m_end) {
    ork_gemm_bfloat16_segmented_portable(args, segments, m_begin, m_end);
}

void ork_gemm_bfloat16_rows_avx512bf16(const ork_gemm_args *args, const ork_bfloat16_rows *rows, size_t m_begin,
                                       size_t m_end) {
    ork_gemm_bfloat16_rows_portable(args, rows, m_begin, m_end);
}

#endif
