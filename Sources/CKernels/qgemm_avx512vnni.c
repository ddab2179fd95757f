// int8 GEMM for AVX-512 VNNI: vpdpbusd (64 u8 x s8 products per instruction, exact in int32), tiles of up to
// 12 rows x 32 columns (two packed panels), requantizing store with masked byte stores for column tails.
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

// The store of one row of one panel: requantize (+ fused QLinearAdd) or int32 accumulators.
ORK_INLINE ORK_TARGET_AVX512VNNI void store_row(__m512i acc, const ork_qpanel *p, const ork_qgemm_args *args,
                                                size_t m, size_t column0, __mmask16 mask) {
    const size_t offset = m * args->c_row_stride + column0;
    if (!args->c) {
        _mm512_mask_storeu_epi32(args->c_int32 + offset, mask, acc);
        return;
    }
    const ork_qepilogue *e = &args->epilogue;
    ork_qstore16(acc, p->scale, e, e->residual ? e->residual + m * e->residual_row_stride + column0 : NULL,
                 args->c + offset, mask);
}

// The per-column constant bias - a_zp * colsum (+ the weight zero point terms with the row sum, when any).
ORK_INLINE ORK_TARGET_AVX512VNNI __m512i column_base(const ork_qpanel *p, int32_t za) {
    return _mm512_sub_epi32(_mm512_loadu_si512(p->bias),
                            _mm512_mullo_epi32(_mm512_set1_epi32(za), _mm512_loadu_si512(p->colsum)));
}

// `rows` rows x one or two panels; constant after inlining so the accumulators stay in registers.
ORK_INLINE ORK_TARGET_AVX512VNNI void tile(const int rows, const int two, const ork_qgemm_args *args, size_t m,
                                           size_t panel, __mmask16 mask0, __mmask16 mask1) {
    const size_t k = args->k, full_groups = k / ORK_QGROUP, tail = k % ORK_QGROUP;
    const size_t stride = args->a_row_stride;
    const uint8_t *a = args->a + m * stride;
    const ork_qpanel p0 = ork_qpanel_at(args->packed_b, k, panel);
    const ork_qpanel p1 = ork_qpanel_at(args->packed_b, k, two ? panel + 1 : panel);
    const int32_t za = args->a_zero_point;
    __m512i acc0[MAX_ROWS], acc1[MAX_ROWS];
    const __m512i base0 = column_base(&p0, za), base1 = two ? column_base(&p1, za) : base0;
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        acc0[r] = base0;
        if (two) acc1[r] = base1;
    }
    // Weight zero points (asymmetric or uint8 weights): + w_zp * (k * a_zp - rowsum(a)).
    const __m512i zw0 = _mm512_loadu_si512(p0.w_zero_point), zw1 = _mm512_loadu_si512(p1.w_zero_point);
    if (_mm512_test_epi32_mask(zw0, zw0) || (two && _mm512_test_epi32_mask(zw1, zw1))) {
        for (int r = 0; r < rows; r++) {
            int32_t sum = 0;
            for (size_t kk = 0; kk < k; kk++) sum += a[(size_t)r * stride + kk];
            const __m512i factor = _mm512_set1_epi32((int32_t)k * za - sum);
            acc0[r] = _mm512_add_epi32(acc0[r], _mm512_mullo_epi32(zw0, factor));
            if (two) acc1[r] = _mm512_add_epi32(acc1[r], _mm512_mullo_epi32(zw1, factor));
        }
    }
    const int8_t *w0 = p0.weights, *w1 = p1.weights;
    for (size_t group = 0; group < full_groups; group++) {
        const __m512i b0 = _mm512_loadu_si512(w0 + group * 64);
        const __m512i b1 = two ? _mm512_loadu_si512(w1 + group * 64) : b0;
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            const __m512i av = _mm512_set1_epi32(load_group(a + (size_t)r * stride + group * ORK_QGROUP));
            acc0[r] = _mm512_dpbusd_epi32(acc0[r], av, b0);
            if (two) acc1[r] = _mm512_dpbusd_epi32(acc1[r], av, b1);
        }
    }
    if (tail) {
        const __m512i b0 = _mm512_loadu_si512(w0 + full_groups * 64);
        const __m512i b1 = two ? _mm512_loadu_si512(w1 + full_groups * 64) : b0;
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            const __m512i av = _mm512_set1_epi32(load_tail(a + (size_t)r * stride + full_groups * ORK_QGROUP, tail));
            acc0[r] = _mm512_dpbusd_epi32(acc0[r], av, b0);
            if (two) acc1[r] = _mm512_dpbusd_epi32(acc1[r], av, b1);
        }
    }
    const size_t column0 = panel * ORK_TILE;
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        store_row(acc0[r], &p0, args, m + (size_t)r, column0, mask0);
        if (two) store_row(acc1[r], &p1, args, m + (size_t)r, column0 + ORK_TILE, mask1);
    }
}

#define TILE_CASE(R)                                                      \
    case R:                                                               \
        if (two) tile(R, 1, args, m, panel, mask0, mask1);                \
        else tile(R, 0, args, m, panel, mask0, mask1);                    \
        break;

static ORK_TARGET_AVX512VNNI void tile_dispatch(int rows, int two, const ork_qgemm_args *args, size_t m,
                                                size_t panel, __mmask16 mask0, __mmask16 mask1) {
    switch (rows) {
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
        TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12)
    default: break;
    }
}

static inline __mmask16 column_mask(size_t columns) {
    return columns >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << columns) - 1u);
}

ORK_TARGET_AVX512VNNI void ork_qgemm_avx512vnni(const ork_qgemm_args *args, size_t m_begin, size_t m_end) {
    const size_t k = args->k, n = args->n, panels = (n + ORK_TILE - 1) / ORK_TILE;
    // Rows per chunk: the chunk of A stays in L1/L2 while every panel pair passes over it.
    size_t chunk = (32768 / (k ? k : 1)) / MAX_ROWS * MAX_ROWS;
    if (chunk < 4 * MAX_ROWS) chunk = 4 * MAX_ROWS;
    for (size_t chunk_begin = m_begin; chunk_begin < m_end; chunk_begin += chunk) {
        const size_t chunk_end = ORK_MIN(m_end, chunk_begin + chunk);
        for (size_t panel = 0; panel < panels; panel += 2) {
            const size_t columns = n - panel * ORK_TILE;
            const int two = columns > ORK_TILE;
            const __mmask16 mask0 = column_mask(columns), mask1 = two ? column_mask(columns - ORK_TILE) : 0;
            for (size_t m = chunk_begin; m < chunk_end; m += MAX_ROWS) {
                tile_dispatch((int)ORK_MIN((size_t)MAX_ROWS, chunk_end - m), two, args, m, panel, mask0, mask1);
            }
        }
    }
}

#endif
