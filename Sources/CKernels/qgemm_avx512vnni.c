// int8 GEMM for AVX-512 VNNI: vpdpbusd (64 u8 x s8 products per instruction, exact in int32), tiles of up to four
// packed panels (64 columns) x 6 rows (fewer panels: up to 12 rows), requantized rows stored 64 bytes at a time.
#include "quantized_vector.h"

#if ORK_X86

#define MAX_ROWS 12

// Four bytes of A as one int32 (unaligned), and the last 1-3 bytes of a row (zero-filled; a masked load, which
// never touches the bytes past k).
ORK_INLINE int32_t load_group(const uint8_t *a) {
    int32_t value;
    memcpy(&value, a, 4);
    return value;
}
ORK_INLINE ORK_TARGET_AVX512VNNI int32_t load_tail(const uint8_t *a, size_t count) {
    return _mm_cvtsi128_si32(_mm_maskz_loadu_epi8((__mmask16)((1u << count) - 1u), a));
}

// Accumulator registers per tile: rows x panels <= 24 (with the panels' weight vectors and a broadcast, 32 in all).
#define MAX_ACCUMULATORS 24
#define MAX_PANELS 4

ORK_INLINE size_t max_rows(size_t panels) { return ORK_MIN((size_t)MAX_ROWS, MAX_ACCUMULATORS / panels); }

// The store of one row of a tile: `panels` accumulators of consecutive 16-column panels, the last masked by
// `last_mask`. Requantized rows without a residual go out 64 bytes at a time (ork_qstore64); a fused QLinearAdd or
// int32 output per panel.
// The accumulators come by value: a pointer to the tile's array would keep it in memory.
ORK_INLINE ORK_TARGET_AVX512VNNI void store_row(const int panels, __m512i acc0, __m512i acc1, __m512i acc2,
                                                __m512i acc3, const ork_qpanel *p, const ork_qgemm_args *args,
                                                size_t m, size_t column0, __mmask16 last_mask) {
    const __m512i acc[MAX_PANELS] = {acc0, acc1, acc2, acc3};
    const size_t offset = m * args->c_row_stride + column0;
    if (!args->c) {
        ORK_UNROLL
        for (int q = 0; q < panels; q++)
            _mm512_mask_storeu_epi32(args->c_int32 + offset + (size_t)q * ORK_TILE,
                                     q == panels - 1 ? last_mask : (__mmask16)0xFFFF, acc[q]);
        return;
    }
    const ork_qepilogue *e = &args->epilogue;
    if (e->residual) {
        const uint8_t *residual = e->residual + m * e->residual_row_stride + column0;
        ORK_UNROLL
        for (int q = 0; q < panels; q++)
            ork_qstore16(acc[q], p[q].scale, e, residual + (size_t)q * ORK_TILE, args->c + offset + (size_t)q * ORK_TILE,
                         q == panels - 1 ? last_mask : (__mmask16)0xFFFF);
        return;
    }
    const __m512 high = _mm512_set1_ps((float)(e->max - e->zero_point));
    __m512i y[MAX_PANELS];
    ORK_UNROLL
    for (int q = 0; q < MAX_PANELS; q++) y[q] = q < panels ? ork_qscale16(acc[q], p[q].scale, high) : _mm512_setzero_si512();
    const __mmask64 mask = ((__mmask64)last_mask << ((panels - 1) * ORK_TILE)) |
                           (((__mmask64)1 << ((panels - 1) * ORK_TILE)) - 1);
    ork_qstore64(y[0], y[1], y[2], y[3], e, args->c + offset, mask);
}

// The per-column constant bias - a_zp * colsum (+ the weight zero point terms with the row sum, when any).
ORK_INLINE ORK_TARGET_AVX512VNNI __m512i column_base(const ork_qpanel *p, int32_t za) {
    return _mm512_sub_epi32(_mm512_loadu_si512(p->bias),
                            _mm512_mullo_epi32(_mm512_set1_epi32(za), _mm512_loadu_si512(p->colsum)));
}

// `rows` rows x `panels` consecutive panels from `panel`; both constant after inlining so the accumulators stay in
// registers.
ORK_INLINE ORK_TARGET_AVX512VNNI void tile(const int rows, const int panels, const ork_qgemm_args *args, size_t m,
                                           size_t panel, __mmask16 last_mask) {
    const size_t k = args->k, full_groups = k / ORK_QGROUP, tail = k % ORK_QGROUP;
    const size_t stride = args->a_row_stride;
    const uint8_t *a = args->a + m * stride;
    const int32_t za = args->a_zero_point;
    ork_qpanel p[MAX_PANELS];
    __m512i acc[MAX_ROWS][MAX_PANELS];
    int asymmetric = 0;
    // Every slot is set (panels past `panels` to 0, never stored) so the by-value store reads no indeterminate value.
    ORK_UNROLL
    for (int q = 0; q < MAX_PANELS; q++) {
        p[q] = ork_qpanel_at(args->packed_b, k, panel + (size_t)(q < panels ? q : 0));
        const __m512i base = q < panels ? column_base(&p[q], za) : _mm512_setzero_si512();
        ORK_UNROLL
        for (int r = 0; r < rows; r++) acc[r][q] = base;
        if (q >= panels) continue;
        const __m512i zw = _mm512_loadu_si512(p[q].w_zero_point);
        asymmetric |= _mm512_test_epi32_mask(zw, zw) != 0;
    }
    // Weight zero points (asymmetric or uint8 weights): + w_zp * (k * a_zp - rowsum(a)).
    if (asymmetric) {
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            int32_t sum = 0;
            for (size_t kk = 0; kk < k; kk++) sum += a[(size_t)r * stride + kk];
            const __m512i factor = _mm512_set1_epi32((int32_t)k * za - sum);
            ORK_UNROLL
            for (int q = 0; q < panels; q++)
                acc[r][q] = _mm512_add_epi32(acc[r][q],
                                             _mm512_mullo_epi32(_mm512_loadu_si512(p[q].w_zero_point), factor));
        }
    }
    for (size_t group = 0; group < full_groups; group++) {
        __m512i b[MAX_PANELS];
        ORK_UNROLL
        for (int q = 0; q < panels; q++) b[q] = _mm512_loadu_si512(p[q].weights + group * 64);
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            const __m512i av = _mm512_set1_epi32(load_group(a + (size_t)r * stride + group * ORK_QGROUP));
            ORK_UNROLL
            for (int q = 0; q < panels; q++) acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], av, b[q]);
        }
    }
    if (tail) {
        __m512i b[MAX_PANELS];
        ORK_UNROLL
        for (int q = 0; q < panels; q++) b[q] = _mm512_loadu_si512(p[q].weights + full_groups * 64);
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            const __m512i av = _mm512_set1_epi32(load_tail(a + (size_t)r * stride + full_groups * ORK_QGROUP, tail));
            ORK_UNROLL
            for (int q = 0; q < panels; q++) acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], av, b[q]);
        }
    }
    ORK_UNROLL
    for (int r = 0; r < rows; r++)
        store_row(panels, acc[r][0], acc[r][1], acc[r][2], acc[r][3], p, args, m + (size_t)r, panel * ORK_TILE,
                  last_mask);
}

#define TILE_CASE(PANELS, ROWS)                                                                                    \
    case ROWS: tile(ROWS, PANELS, args, m, panel, last_mask); break;

// Rows up to max_rows(panels) for each panel count.
static ORK_TARGET_AVX512VNNI void tile_dispatch(int rows, int panels, const ork_qgemm_args *args, size_t m,
                                                size_t panel, __mmask16 last_mask) {
    switch (panels) {
    case 4:
        switch (rows) { TILE_CASE(4, 1) TILE_CASE(4, 2) TILE_CASE(4, 3) TILE_CASE(4, 4) TILE_CASE(4, 5) TILE_CASE(4, 6)
        default: break; }
        break;
    case 3:
        switch (rows) { TILE_CASE(3, 1) TILE_CASE(3, 2) TILE_CASE(3, 3) TILE_CASE(3, 4) TILE_CASE(3, 5) TILE_CASE(3, 6)
                        TILE_CASE(3, 7) TILE_CASE(3, 8)
        default: break; }
        break;
    case 2:
        switch (rows) { TILE_CASE(2, 1) TILE_CASE(2, 2) TILE_CASE(2, 3) TILE_CASE(2, 4) TILE_CASE(2, 5) TILE_CASE(2, 6)
                        TILE_CASE(2, 7) TILE_CASE(2, 8) TILE_CASE(2, 9) TILE_CASE(2, 10) TILE_CASE(2, 11) TILE_CASE(2, 12)
        default: break; }
        break;
    case 1:
        switch (rows) { TILE_CASE(1, 1) TILE_CASE(1, 2) TILE_CASE(1, 3) TILE_CASE(1, 4) TILE_CASE(1, 5) TILE_CASE(1, 6)
                        TILE_CASE(1, 7) TILE_CASE(1, 8) TILE_CASE(1, 9) TILE_CASE(1, 10) TILE_CASE(1, 11) TILE_CASE(1, 12)
        default: break; }
        break;
    default: break;
    }
}

ORK_TARGET_AVX512VNNI void ork_qgemm_avx512vnni(const ork_qgemm_args *args, size_t m_begin, size_t m_end) {
    const size_t k = args->k, n = args->n, panels = (n + ORK_TILE - 1) / ORK_TILE;
    // Rows per chunk: the chunk of A stays in L1/L2 while every group of panels passes over it.
    size_t chunk = (32768 / (k ? k : 1)) / 24 * 24;
    if (chunk < 4 * 24) chunk = 4 * 24;
    for (size_t chunk_begin = m_begin; chunk_begin < m_end; chunk_begin += chunk) {
        const size_t chunk_end = ORK_MIN(m_end, chunk_begin + chunk);
        // Up to four panels (64 columns) at a time: a requantized row of them is one 64-byte store.
        for (size_t panel = 0; panel < panels; panel += MAX_PANELS) {
            const size_t count = ORK_MIN((size_t)MAX_PANELS, panels - panel);
            const size_t last_columns = n - (panel + count - 1) * ORK_TILE;
            const __mmask16 last_mask = last_columns >= ORK_TILE ? (__mmask16)0xFFFF
                                                                 : (__mmask16)((1u << last_columns) - 1u);
            const size_t rows = max_rows(count);
            for (size_t m = chunk_begin; m < chunk_end; m += rows)
                tile_dispatch((int)ORK_MIN(rows, chunk_end - m), (int)count, args, m, panel, last_mask);
        }
    }
}

#endif
