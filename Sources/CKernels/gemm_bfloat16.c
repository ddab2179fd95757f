// bfloat16 GEMM: rounding, packing, dispatch and the portable C reference.
#include "CKernelsBFloat16.h"
#include "internal.h"

#include <string.h>

// MARK: - Rounding

uint16_t ork_bfloat16_from_float(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7F800000u) == 0) return (uint16_t)((bits & 0x80000000u) >> 16);        // zero, denormal
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((bits >> 16) | 0x0040u);  // quiet NaN
    bits += 0x7FFFu + ((bits >> 16) & 1u);                                               // nearest, ties to even
    return (uint16_t)(bits >> 16);
}

float ork_float_from_bfloat16(uint16_t bits) {
    uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, sizeof value);
    return value;
}

// MARK: - Packing

static size_t pair_count(size_t k) { return (k + 1) / 2; }

static size_t panel_words(size_t k) { return ORK_TILE + pair_count(k) * ORK_TILE; }

size_t ork_gemm_bfloat16_packed_size(size_t k, size_t n) {
    return ((n + ORK_TILE - 1) / ORK_TILE) * panel_words(k);
}

void ork_gemm_bfloat16_pack(const float *packed_float, size_t k, size_t n, uint32_t *packed) {
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE, pairs = pair_count(k);
    for (size_t panel = 0; panel < panels; panel++) {
        const float *source = packed_float + panel * (ORK_TILE + k * ORK_TILE);
        uint32_t *destination = packed + panel * panel_words(k);
        memcpy(destination, source, ORK_TILE * sizeof(float));  // the float32 bias, as it is
        for (size_t pair = 0; pair < pairs; pair++) {
            for (size_t j = 0; j < ORK_TILE; j++) {
                const size_t even = 2 * pair, odd = 2 * pair + 1;
                const uint32_t low = ork_bfloat16_from_float(source[ORK_TILE + even * ORK_TILE + j]);
                const uint32_t high = odd < k ? ork_bfloat16_from_float(source[ORK_TILE + odd * ORK_TILE + j]) : 0;
                destination[ORK_TILE + pair * ORK_TILE + j] = low | (high << 16);
            }
        }
    }
}

void ork_gemm_bfloat16_packed_add_bias(uint32_t *packed, size_t k, size_t n, const float *bias) {
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    for (size_t panel = 0; panel < panels; panel++) {
        float panel_bias[ORK_TILE];
        uint32_t *destination = packed + panel * panel_words(k);
        memcpy(panel_bias, destination, sizeof panel_bias);
        for (size_t j = 0; j < ORK_TILE && panel * ORK_TILE + j < n; j++) panel_bias[j] += bias[panel * ORK_TILE + j];
        memcpy(destination, panel_bias, sizeof panel_bias);
    }
}

// MARK: - Dispatch

ork_bfloat16_isa ork_bfloat16_detected_isa(void) {
#if ORK_X86
    // Racing first calls store the same value.
    static int detected = -1;
    int isa = __atomic_load_n(&detected, __ATOMIC_RELAXED);
    if (isa < 0) {
        __builtin_cpu_init();
        isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx512bf16") &&
                      ork_isa_extensions_allowed() && ork_kernels()->isa >= ORK_ISA_AVX512
                  ? ORK_BFLOAT16_AVX512BF16
                  : ORK_BFLOAT16_NONE;
        __atomic_store_n(&detected, isa, __ATOMIC_RELAXED);
    }
    return (ork_bfloat16_isa)isa;
#else
    return ORK_BFLOAT16_NONE;
#endif
}

void ork_gemm_bfloat16(const ork_gemm_args *args, size_t m_begin, size_t m_end) {
    if (m_begin >= m_end || args->n == 0) return;
#if ORK_X86
    if (ork_bfloat16_detected_isa() == ORK_BFLOAT16_AVX512BF16) {
        ork_gemm_bfloat16_avx512bf16(args, m_begin, m_end);
        return;
    }
#endif
    ork_gemm_bfloat16_portable(args, m_begin, m_end);
}

void ork_gemm_bfloat16_columns(const ork_gemm_args *args, size_t m_begin, size_t m_end, size_t n_begin,
                               size_t n_end) {
    if (n_end > args->n) n_end = args->n;
    if (n_begin >= n_end || n_begin % ORK_TILE != 0) return;
    // The same GEMM on a narrower matrix: panels from n_begin / 16 on, C and residual shifted by n_begin.
    ork_gemm_args part = *args;
    part.n = n_end - n_begin;
    part.packed_b = args->packed_b + (n_begin / ORK_TILE) * panel_words(args->k);
    part.c = args->c + n_begin;
    part.residual = args->residual ? args->residual + n_begin : NULL;
    ork_gemm_bfloat16(&part, m_begin, m_end);
}

// MARK: - Portable C

// A's values in order along a (possibly segmented) row: piece after piece of `length` contiguous floats.
typedef struct {
    const ork_segments *segments;
    const float *row, *piece;
    size_t column, length, offset;
} row_reader;

static row_reader start_row(const ork_segments *segments, const float *row, size_t k) {
    const size_t pieces = segments->rows * segments->columns;
    return (row_reader){segments, row, row, 0, pieces ? k / pieces : k, 0};
}

static float next_value(row_reader *reader) {
    if (reader->offset == reader->length) {
        ork_next_piece(reader->segments, &reader->column, &reader->row, &reader->piece);
        reader->offset = 0;
    }
    return reader->piece[reader->offset++];
}

// One row at a time; each product of two bfloat16 values is exact in float32, and the odd product is added before
// the even one, as vdpbf16ps does. `rows` (may be NULL): bfloat16 A and/or C in place of args->a / args->c.
static void portable(const ork_gemm_args *args, const ork_segments *segments, const ork_bfloat16_rows *rows,
                     size_t m_begin, size_t m_end) {
    const size_t k = args->k, n = args->n, pairs = pair_count(k);
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    const uint32_t *packed = (const uint32_t *)(const void *)args->packed_b;
    const uint16_t *a16 = rows ? rows->a : NULL;
    uint16_t *c16 = rows ? rows->c : NULL;
    for (size_t m = m_begin; m < m_end; m++) {
        const float *a = a16 ? NULL : args->a + m * args->a_row_stride;
        for (size_t panel = 0; panel < panels; panel++) {
            const uint32_t *weights = packed + panel * panel_words(k);
            const size_t column0 = panel * ORK_TILE, columns = ORK_MIN((size_t)ORK_TILE, n - column0);
            float acc[ORK_TILE];
            memcpy(acc, weights, sizeof acc);
            row_reader reader = start_row(segments, a, k);
            for (size_t pair = 0; pair < pairs; pair++) {
                float even, odd = 0.0f;
                if (a16) {
                    even = ork_float_from_bfloat16(a16[m * rows->a_row_stride + 2 * pair]);
                    if (2 * pair + 1 < k) odd = ork_float_from_bfloat16(a16[m * rows->a_row_stride + 2 * pair + 1]);
                } else {
                    even = ork_float_from_bfloat16(ork_bfloat16_from_float(next_value(&reader)));
                    if (2 * pair + 1 < k) odd = ork_float_from_bfloat16(ork_bfloat16_from_float(next_value(&reader)));
                }
                const uint32_t *w = weights + ORK_TILE + pair * ORK_TILE;
                for (size_t j = 0; j < ORK_TILE; j++) {
                    acc[j] += odd * ork_float_from_bfloat16((uint16_t)(w[j] >> 16));
                    acc[j] += even * ork_float_from_bfloat16((uint16_t)(w[j] & 0xFFFFu));
                }
            }
            const float *residual = args->residual ? args->residual + m * args->residual_row_stride + column0 : NULL;
            for (size_t j = 0; j < columns; j++) {
                float value = acc[j];
                if (residual) value += residual[j];
                value = ork_clamp(value, args->min, args->max);
                if (c16) c16[m * rows->c_row_stride + column0 + j] = ork_bfloat16_from_float(value);
                else args->c[m * args->c_row_stride + column0 + j] = value;
            }
        }
        // The activation after the clamp (float32 C only: bfloat16 C takes a clamp alone).
        if (!c16) ork_activate_rows(ork_activation_apply_portable, &args->activation, args->c + m * args->c_row_stride, 1, n, 0);
    }
}

void ork_gemm_bfloat16_segmented_portable(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin,
                                          size_t m_end) {
    portable(args, segments, NULL, m_begin, m_end);
}

static const ork_segments plain_rows = {1, 0, 1, 0};

void ork_gemm_bfloat16_portable(const ork_gemm_args *args, size_t m_begin, size_t m_end) {
    portable(args, &plain_rows, NULL, m_begin, m_end);
}

void ork_gemm_bfloat16_rows_portable(const ork_gemm_args *args, const ork_bfloat16_rows *rows, size_t m_begin,
                                     size_t m_end) {
    portable(args, &plain_rows, rows, m_begin, m_end);
}

void ork_gemm_bfloat16_rows(const ork_gemm_args *args, const ork_bfloat16_rows *rows, size_t m_begin, size_t m_end) {
    if (m_begin >= m_end || args->n == 0) return;
#if ORK_X86
    if (ork_bfloat16_detected_isa() == ORK_BFLOAT16_AVX512BF16) {
        ork_gemm_bfloat16_rows_avx512bf16(args, rows, m_begin, m_end);
        return;
    }
#endif
    ork_gemm_bfloat16_rows_portable(args, rows, m_begin, m_end);
}

// MARK: - General convolution

void ork_convolution_bfloat16_pack(const float *packed_float, size_t k, size_t n, size_t groups, uint32_t *packed) {
    const size_t group_size = ork_gemm_packed_size(k, n);
    for (size_t group = 0; group < groups; group++) {
        ork_gemm_bfloat16_pack(packed_float + group * group_size, k, n, packed + group * group_size);
    }
}

void ork_convolution_bfloat16(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch) {
    // An AMX-BF16 level goes here, above AVX512-BF16, with its own segmented GEMM.
    if (ork_bfloat16_detected_isa() == ORK_BFLOAT16_AVX512BF16) {
        ork_convolution_bfloat16_avx512bf16(args, pixel_begin, pixel_end, scratch);
    } else {
        ork_convolution_bfloat16_portable(args, pixel_begin, pixel_end, scratch);
    }
}

void ork_convolution_bfloat16_portable(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end,
                                       float *scratch) {
    ork_convolution_on(args, pixel_begin, pixel_end, scratch, ork_gemm_bfloat16_segmented_portable);
}

void ork_convolution_bfloat16_avx512bf16(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end,
                                         float *scratch) {
    ork_convolution_on(args, pixel_begin, pixel_end, scratch, ork_gemm_bfloat16_segmented_avx512bf16);
}
