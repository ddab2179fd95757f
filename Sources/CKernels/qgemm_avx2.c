// int8 GEMM for AVX2 (and AVX-512 without VNNI), exact; tiles of 4 rows x 16 columns (one packed panel, two
// halves). vpmaddubsw sums u8 x s8 products in pairs with int16 saturation: where the packing found that no pair
// of a panel's weights can exceed int16 (|w0| + |w1| <= 128: 7-bit weights, onnxruntime's reduce_range) whole
// bytes go in, then vpmaddwd by ones (as MLAS's U8S8 AVX2 kernel); elsewhere each nibble of A goes in
// separately (15 x 128 x 2 < 32768) and vpmaddwd weighs them by 1 and 16: twice the multiplies. MLAS feeds whole
// bytes always and saturates: on MobileNetV2 that moved logits by 55 quanta and flipped a top-1.
#include "quantized_vector.h"

#if ORK_X86

#define MAX_ROWS 4

// Four bytes of A as one int32, or the last 1-3 bytes of a row zero-filled (never read past k).
ORK_INLINE int32_t load_bytes(const uint8_t *a, size_t count) {
    if (count == 4) {
        int32_t value;
        memcpy(&value, a, 4);
        return value;
    }
    int32_t value = a[0];
    if (count > 1) value |= (int32_t)a[1] << 8;
    if (count > 2) value |= (int32_t)a[2] << 16;
    return value;
}

// The store of eight columns of one row.
ORK_INLINE ORK_TARGET_AVX2 void store_half(__m256i acc, const float *scale, const ork_qgemm_args *args, size_t m,
                                           size_t column, size_t count) {
    const size_t offset = m * args->c_row_stride + column;
    if (!args->c) {
        int32_t values[8];
        _mm256_storeu_si256((__m256i *)values, acc);
        memcpy(args->c_int32 + offset, values, count * sizeof(int32_t));
        return;
    }
    const ork_qepilogue *e = &args->epilogue;
    ork_qstore8(acc, scale, e, e->residual ? e->residual + m * e->residual_row_stride + column : NULL,
                args->c + offset, count);
}

// A's four bytes broadcast: whole (`split` 0), or split into nibbles, low = a & 0xF and high = a >> 4 per byte.
typedef struct {
    __m256i low, high;
} a_bytes;

ORK_INLINE ORK_TARGET_AVX2 a_bytes broadcast_bytes(const int split, int32_t bytes) {
    const uint32_t value = (uint32_t)bytes;
    if (!split) return (a_bytes){_mm256_set1_epi32(bytes), _mm256_setzero_si256()};
    return (a_bytes){_mm256_set1_epi32((int32_t)(value & 0x0F0F0F0Fu)),
                     _mm256_set1_epi32((int32_t)((value >> 4) & 0x0F0F0F0Fu))};
}

// acc + the group's sum of a x b: whole bytes' pair sums (exact when they fit int16), or the low nibbles' x 1 +
// the high nibbles' x 16.
ORK_INLINE ORK_TARGET_AVX2 __m256i multiply_group(const int split, a_bytes a, __m256i b, __m256i ones,
                                                  __m256i sixteens, __m256i acc) {
    const __m256i low = _mm256_madd_epi16(_mm256_maddubs_epi16(a.low, b), ones);
    if (!split) return _mm256_add_epi32(acc, low);
    const __m256i high = _mm256_madd_epi16(_mm256_maddubs_epi16(a.high, b), sixteens);
    return _mm256_add_epi32(acc, _mm256_add_epi32(low, high));
}

ORK_INLINE ORK_TARGET_AVX2 void tile(const int rows, const int split, const ork_qgemm_args *args, size_t m,
                                     size_t panel, size_t columns) {
    const size_t k = args->k, full_groups = k / ORK_QGROUP, tail = k % ORK_QGROUP;
    const size_t stride = args->a_row_stride;
    const uint8_t *a = args->a + m * stride;
    const ork_qpanel p = ork_qpanel_at(args->packed_b, k, panel);
    const int32_t za = args->a_zero_point;
    const __m256i ones = _mm256_set1_epi16(1), sixteens = _mm256_set1_epi16(16);
    __m256i acc[MAX_ROWS][2];
    ORK_UNROLL
    for (int h = 0; h < 2; h++) {
        const __m256i base = _mm256_sub_epi32(
            _mm256_loadu_si256((const __m256i *)(p.bias + 8 * h)),
            _mm256_mullo_epi32(_mm256_set1_epi32(za), _mm256_loadu_si256((const __m256i *)(p.colsum + 8 * h))));
        ORK_UNROLL
        for (int r = 0; r < rows; r++) acc[r][h] = base;
    }
    const __m256i zw0 = _mm256_loadu_si256((const __m256i *)p.w_zero_point);
    const __m256i zw1 = _mm256_loadu_si256((const __m256i *)(p.w_zero_point + 8));
    if (!_mm256_testz_si256(zw0, zw0) || !_mm256_testz_si256(zw1, zw1)) {
        for (int r = 0; r < rows; r++) {
            int32_t sum = 0;
            for (size_t kk = 0; kk < k; kk++) sum += a[(size_t)r * stride + kk];
            const __m256i factor = _mm256_set1_epi32((int32_t)k * za - sum);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_mullo_epi32(zw0, factor));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_mullo_epi32(zw1, factor));
        }
    }
    for (size_t group = 0; group < full_groups; group++) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(p.weights + group * 64));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(p.weights + group * 64 + 32));
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            const a_bytes av = broadcast_bytes(split, load_bytes(a + (size_t)r * stride + group * ORK_QGROUP, 4));
            acc[r][0] = multiply_group(split, av, b0, ones, sixteens, acc[r][0]);
            acc[r][1] = multiply_group(split, av, b1, ones, sixteens, acc[r][1]);
        }
    }
    if (tail) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(p.weights + full_groups * 64));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(p.weights + full_groups * 64 + 32));
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            const a_bytes av =
                broadcast_bytes(split, load_bytes(a + (size_t)r * stride + full_groups * ORK_QGROUP, tail));
            acc[r][0] = multiply_group(split, av, b0, ones, sixteens, acc[r][0]);
            acc[r][1] = multiply_group(split, av, b1, ones, sixteens, acc[r][1]);
        }
    }
    const size_t column0 = panel * ORK_TILE;
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        store_half(acc[r][0], p.scale, args, m + (size_t)r, column0, ORK_MIN(columns, (size_t)8));
        if (columns > 8) store_half(acc[r][1], p.scale + 8, args, m + (size_t)r, column0 + 8, ORK_MIN(columns - 8, (size_t)8));
    }
}

// Rows [begin, end) of one panel, MAX_ROWS at a time.
ORK_INLINE ORK_TARGET_AVX2 void rows_of_panel(const int split, const ork_qgemm_args *args, size_t begin, size_t end,
                                              size_t panel, size_t columns) {
    size_t m = begin;
    for (; m + MAX_ROWS <= end; m += MAX_ROWS) tile(MAX_ROWS, split, args, m, panel, columns);
    switch (end - m) {
    case 3: tile(3, split, args, m, panel, columns); break;
    case 2: tile(2, split, args, m, panel, columns); break;
    case 1: tile(1, split, args, m, panel, columns); break;
    default: break;
    }
}

ORK_TARGET_AVX2 void ork_qgemm_avx2(const ork_qgemm_args *args, size_t m_begin, size_t m_end) {
    const size_t k = args->k, n = args->n, panels = (n + ORK_TILE - 1) / ORK_TILE;
    size_t chunk = (32768 / (k ? k : 1)) / MAX_ROWS * MAX_ROWS;
    if (chunk < 16 * MAX_ROWS) chunk = 16 * MAX_ROWS;
    for (size_t chunk_begin = m_begin; chunk_begin < m_end; chunk_begin += chunk) {
        const size_t chunk_end = ORK_MIN(m_end, chunk_begin + chunk);
        for (size_t panel = 0; panel < panels; panel++) {
            const size_t columns = ORK_MIN((size_t)ORK_TILE, n - panel * ORK_TILE);
            if (ork_qpanel_at(args->packed_b, k, panel).pairs_fit_int16)
                rows_of_panel(0, args, chunk_begin, chunk_end, panel, columns);
            else
                rows_of_panel(1, args, chunk_begin, chunk_end, panel, columns);
        }
    }
}

#endif
