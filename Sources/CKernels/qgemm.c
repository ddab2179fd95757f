// int8 GEMM (u8 x s8 -> s32, requantized store): packing, variant selection, dispatch and the portable C variant.
#include "quantized_internal.h"

#include <stdlib.h>
#include <string.h>

// MARK: - Variants

int ork_int8_variant_supported(int variant) {
    switch (variant) {
    case ORK_INT8_PORTABLE: return 1;
#if ORK_X86
    case ORK_INT8_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case ORK_INT8_AVX512:
        return ork_detected_isa() >= ORK_ISA_AVX512;
    case ORK_INT8_AVX512VNNI:
        __builtin_cpu_init();
        return ork_detected_isa() >= ORK_ISA_AVX512 && __builtin_cpu_supports("avx512vnni");
#endif
    default: return 0;
    }
}

// Follows the float kernels' level; VNNI is checked once (and left out under ONNXRUN_MAX_ISA).
int ork_int8_current_variant(void) {
    static int has_vnni = -1;
    int vnni = __atomic_load_n(&has_vnni, __ATOMIC_RELAXED);
    if (vnni < 0) {
        vnni = ork_int8_variant_supported(ORK_INT8_AVX512VNNI);
        __atomic_store_n(&has_vnni, vnni, __ATOMIC_RELAXED);
    }
    switch (ork_kernels()->isa) {
    case ORK_ISA_AVX512: return vnni && ork_isa_extensions_allowed() ? ORK_INT8_AVX512VNNI : ORK_INT8_AVX512;
    case ORK_ISA_AVX2: return ORK_INT8_AVX2;
    default: return ORK_INT8_PORTABLE;
    }
}

int ork_int8_variant(void) { return ork_int8_current_variant(); }

// MARK: - Packing

size_t ork_qgemm_packed_size(size_t k, size_t n) {
    return ((n + ORK_TILE - 1) / ORK_TILE) * ork_qgemm_panel_bytes(k);
}

// Element i of an int8 or uint8 array as the int8 value the kernels use (uint8 shifted by -128).
static int32_t signed_byte(const void *values, int is_unsigned, size_t i) {
    return is_unsigned ? (int32_t)((const uint8_t *)values)[i] - 128 : (int32_t)((const int8_t *)values)[i];
}

// Strided B: element (row, column) at row * k_stride + column * n_stride.
static size_t strided_index(size_t row, size_t column, const void *context) {
    const size_t *strides = (const size_t *)context;
    return row * strides[0] + column * strides[1];
}

void ork_qgemm_pack(const void *b, int b_is_unsigned, size_t k, size_t n, size_t k_stride, size_t n_stride,
                    const int32_t *bias, const void *w_zero_points, size_t w_zero_point_count, const float *scales,
                    size_t scale_count, void *packed) {
    const size_t strides[2] = {k_stride, n_stride};
    ork_qgemm_pack_indexed(b, b_is_unsigned, k, n, strided_index, strides, bias, w_zero_points, w_zero_point_count,
                           scales, scale_count, packed);
}

void ork_qgemm_pack_indexed(const void *b, int b_is_unsigned, size_t k, size_t n,
                            size_t (*index)(size_t row, size_t column, const void *context), const void *context,
                            const int32_t *bias, const void *w_zero_points, size_t w_zero_point_count,
                            const float *scales, size_t scale_count, void *packed) {
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE, groups = ork_qgemm_groups(k);
    for (size_t panel = 0; panel < panels; panel++) {
        uint8_t *base = (uint8_t *)packed + panel * ork_qgemm_panel_bytes(k);
        int32_t *header = (int32_t *)base;
        float *scale = (float *)base + 3 * ORK_TILE;
        int8_t *weights = (int8_t *)(base + ORK_QPANEL_HEADER_BYTES);
        int pairs_fit_int16 = 1;
        for (size_t j = 0; j < ORK_TILE; j++) {
            const size_t column = panel * ORK_TILE + j;
            const int inside = column < n;
            int32_t sum = 0;
            for (size_t group = 0; group < groups; group++) {
                for (size_t t = 0; t < ORK_QGROUP; t++) {
                    const size_t row = group * ORK_QGROUP + t;
                    const int32_t value =
                        inside && row < k ? signed_byte(b, b_is_unsigned, index(row, column, context)) : 0;
                    weights[(group * ORK_TILE + j) * ORK_QGROUP + t] = (int8_t)value;
                    sum += value;
                }
                const int8_t *step = weights + (group * ORK_TILE + j) * ORK_QGROUP;
                if (abs(step[0]) + abs(step[1]) > 128 || abs(step[2]) + abs(step[3]) > 128) pairs_fit_int16 = 0;
            }
            header[j] = inside && bias ? bias[column] : 0;
            header[ORK_TILE + j] = sum;
            // A zero point in B's type, shifted like the weights (uint8 128 -> int8 0).
            int32_t zero = 0;
            if (w_zero_points && w_zero_point_count > 0)
                zero = signed_byte(w_zero_points, b_is_unsigned, w_zero_point_count == 1 ? 0 : (inside ? column : 0));
            else if (b_is_unsigned)
                zero = -128;
            header[2 * ORK_TILE + j] = inside ? zero : 0;
            scale[j] = !inside ? 0.0f : scales == NULL ? 1.0f : scales[scale_count == 1 ? 0 : column];
        }
        memset(header + 4 * ORK_TILE, 0, ORK_TILE * sizeof(int32_t));
        header[4 * ORK_TILE] = pairs_fit_int16;
    }
}

// MARK: - Dispatch

void ork_qgemm(const ork_qgemm_args *args, size_t m_begin, size_t m_end) {
    if (m_begin >= m_end || args->n == 0) return;
    switch (ork_int8_current_variant()) {
#if ORK_X86
    case ORK_INT8_AVX512VNNI: ork_qgemm_avx512vnni(args, m_begin, m_end); return;
    case ORK_INT8_AVX512:
    case ORK_INT8_AVX2: ork_qgemm_avx2(args, m_begin, m_end); return;
#endif
    default: ork_qgemm_portable(args, m_begin, m_end); return;
    }
}

void ork_qgemm_columns(const ork_qgemm_args *args, size_t m_begin, size_t m_end, size_t n_begin, size_t n_end) {
    if (n_end > args->n) n_end = args->n;
    if (n_begin >= n_end || n_begin % ORK_TILE != 0) return;
    ork_qgemm_args part = *args;
    part.n = n_end - n_begin;
    part.packed_b = (const uint8_t *)args->packed_b + (n_begin / ORK_TILE) * ork_qgemm_panel_bytes(args->k);
    if (part.c) part.c += n_begin;
    if (part.c_int32) part.c_int32 += n_begin;
    if (part.epilogue.residual) part.epilogue.residual += n_begin;
    ork_qgemm(&part, m_begin, m_end);
}

// MARK: - Portable C

void ork_qgemm_portable(const ork_qgemm_args *args, size_t m_begin, size_t m_end) {
    const size_t k = args->k, n = args->n, panels = (n + ORK_TILE - 1) / ORK_TILE, groups = ork_qgemm_groups(k);
    const int32_t za = args->a_zero_point;
    for (size_t m = m_begin; m < m_end; m++) {
        const uint8_t *a = args->a + m * args->a_row_stride;
        int32_t row_sum = 0;
        for (size_t kk = 0; kk < k; kk++) row_sum += a[kk];
        for (size_t panel = 0; panel < panels; panel++) {
            const ork_qpanel p = ork_qpanel_at(args->packed_b, k, panel);
            const size_t column0 = panel * ORK_TILE, columns = ORK_MIN((size_t)ORK_TILE, n - column0);
            int32_t acc[ORK_TILE];
            for (size_t j = 0; j < ORK_TILE; j++)
                acc[j] = p.bias[j] - za * p.colsum[j] + p.w_zero_point[j] * ((int32_t)k * za - row_sum);
            for (size_t group = 0; group < groups; group++) {
                const int8_t *w = p.weights + group * ORK_TILE * ORK_QGROUP;
                for (size_t t = 0; t < ORK_QGROUP && group * ORK_QGROUP + t < k; t++) {
                    const int32_t value = a[group * ORK_QGROUP + t];
                    for (size_t j = 0; j < ORK_TILE; j++) acc[j] += value * w[j * ORK_QGROUP + t];
                }
            }
            const size_t offset = m * args->c_row_stride + column0;
            if (!args->c) {
                for (size_t j = 0; j < columns; j++) args->c_int32[offset + j] = acc[j];
                continue;
            }
            const uint8_t *residual = args->epilogue.residual
                                          ? args->epilogue.residual + m * args->epilogue.residual_row_stride + column0
                                          : NULL;
            for (size_t j = 0; j < columns; j++)
                args->c[offset + j] = ork_qstore(acc[j], p.scale[j], &args->epilogue, residual ? residual + j : NULL);
        }
    }
}
