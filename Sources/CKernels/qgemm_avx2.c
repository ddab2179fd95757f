// int8 GEMM for AVX2, as onnxruntime's MLAS U8S8 AVX2 kernel computes it: vpmaddubsw (u8 x s8 pairs summed
// with int16 saturation) then vpmaddwd by ones; tiles of 4 rows x 16 columns (one packed panel, two halves).
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

ORK_INLINE ORK_TARGET_AVX2 __m256i multiply_group(__m256i a, __m256i b, __m256i ones, __m256i acc) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
}

ORK_INLINE ORK_TARGET_AVX2 void tile(const int rows, const ork_qgemm_args *args, size_t m, size_t panel,
                                     size_t columns) {
    const size_t k = args->k, full_groups = k / ORK_QGROUP, tail = k % ORK_QGROUP;
    const size_t stride = args->a_row_stride;
    const uint8_t *a = args->a + m * stride;
    const ork_qpanel p = ork_qpanel_at(args->packed_b, k, panel);
    const int32_t za = args->a_zero_point;
    const __m256i ones = _mm256_set1_epi16(1);
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
            const __m256i av = _mm256_set1_epi32(load_bytes(a + (size_t)r * stride + group * ORK_QGROUP, 4));
            acc[r][0] = multiply_group(av, b0, ones, acc[r][0]);
            acc[r][1] = multiply_group(av, b1, ones, acc[r][1]);
        }
    }
    if (tail) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(p.weights + full_groups * 64));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(p.weights + full_groups * 64 + 32));
        ORK_UNROLL
        for (int r = 0; r < rows; r++) {
            const __m256i av =
                _mm256_set1_epi32(load_bytes(a + (size_t)r * stride + full_groups * ORK_QGROUP, tail));
            acc[r][0] = multiply_group(av, b0, ones, acc[r][0]);
            acc[r][1] = multiply_group(av, b1, ones, acc[r][1]);
        }
    }
    const size_t column0 = panel * ORK_TILE;
    ORK_UNROLL
    for (int r = 0; r < rows; r++) {
        store_half(acc[r][0], p.scale, args, m + (size_t)r, column0, ORK_MIN(columns, (size_t)8));
        if (columns > 8) store_half(acc[r][1], p.scale + 8, args, m + (size_t)r, column0 + 8, ORK_MIN(columns - 8, (size_t)8));
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
            size_t m = chunk_begin;
            for (; m + MAX_ROWS <= chunk_end; m += MAX_ROWS) tile(MAX_ROWS, args, m, panel, columns);
            switch (chunk_end - m) {
            case 3: tile(3, args, m, panel, columns); break;
            case 2: tile(2, args, m, panel, columns); break;
            case 1: tile(1, args, m, panel, columns); break;
            default: break;
            }
        }
    }
}

#endif
