// GEMM with packed B and fused bias/residual/clamp: packing, the entries and the portable C level.
#include "internal.h"

// MARK: - Packing

size_t ork_gemm_packed_size(size_t k, size_t n) {
    size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    return panels * (ORK_TILE + k * ORK_TILE);
}

void ork_gemm_pack(const float *b, size_t k, size_t n, size_t k_stride, size_t n_stride, const float *bias,
                   float *packed) {
    size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    for (size_t panel = 0; panel < panels; panel++) {
        float *destination = packed + panel * (ORK_TILE + k * ORK_TILE);
        for (size_t j = 0; j < ORK_TILE; j++) {
            size_t column = panel * ORK_TILE + j;
            destination[j] = (column < n && bias != NULL) ? bias[column] : 0.0f;
        }
        for (size_t row = 0; row < k; row++) {
            for (size_t j = 0; j < ORK_TILE; j++) {
                size_t column = panel * ORK_TILE + j;
                destination[ORK_TILE + row * ORK_TILE + j] =
                    column < n ? b[row * k_stride + column * n_stride] : 0.0f;
            }
        }
    }
}

void ork_gemm_pack_kn(const float *b, size_t k, size_t n, const float *bias, float *packed) {
    ork_gemm_pack(b, k, n, n, 1, bias, packed);
}

void ork_gemm_pack_nk(const float *b, size_t k, size_t n, const float *bias, float *packed) {
    ork_gemm_pack(b, k, n, 1, k, bias, packed);
}

void ork_gemm_packed_add_bias(float *packed, size_t k, size_t n, const float *bias) {
    size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    for (size_t panel = 0; panel < panels; panel++) {
        float *panel_bias = packed + panel * (ORK_TILE + k * ORK_TILE);
        for (size_t j = 0; j < ORK_TILE && panel * ORK_TILE + j < n; j++) panel_bias[j] += bias[panel * ORK_TILE + j];
    }
}

void ork_gemm_packed_scale_rows(const float *packed, size_t k, size_t n, const float *scale, float *scaled) {
    size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    for (size_t panel = 0; panel < panels; panel++) {
        const float *source = packed + panel * (ORK_TILE + k * ORK_TILE);
        float *destination = scaled + panel * (ORK_TILE + k * ORK_TILE);
        for (size_t j = 0; j < ORK_TILE; j++) destination[j] = source[j];
        for (size_t row = 0; row < k; row++) {
            const float factor = scale[row];
            for (size_t j = 0; j < ORK_TILE; j++)
                destination[ORK_TILE + row * ORK_TILE + j] = source[ORK_TILE + row * ORK_TILE + j] * factor;
        }
    }
}

// MARK: - Entries

void ork_gemm(const ork_gemm_args *args, size_t m_begin, size_t m_end) { ork_kernels()->gemm(args, m_begin, m_end); }

// The plain GEMM of each level: its segmented kernel with one segment.
static const ork_segments plain = {1, 0, 1, 0};
#define PLAIN_GEMM(LEVEL)                                                                                  \
    void ork_gemm_##LEVEL(const ork_gemm_args *args, size_t m_begin, size_t m_end) {                       \
        if (m_begin < m_end && args->n > 0) ork_gemm_segmented_##LEVEL(args, &plain, m_begin, m_end);      \
    }
PLAIN_GEMM(portable)
#if ORK_X86
PLAIN_GEMM(avx2)
PLAIN_GEMM(avx512)
#endif

int ork_gemm_column_slice(const ork_gemm_args *args, size_t n_begin, size_t n_end, ork_gemm_args *slice) {
    if (n_end > args->n) n_end = args->n;
    if (n_begin >= n_end || n_begin % ORK_TILE != 0) return 0;
    // The same GEMM on a narrower matrix: panels from n_begin / 16 on, C and residual shifted by n_begin.
    *slice = *args;
    slice->n = n_end - n_begin;
    slice->packed_b = args->packed_b + (n_begin / ORK_TILE) * (ORK_TILE + args->k * ORK_TILE);
    slice->c = args->c + n_begin;
    slice->residual = args->residual ? args->residual + n_begin : NULL;
    return 1;
}

// MARK: - Portable C

// Four rows at a time share each packed B row; the 16-wide inner loops auto-vectorize for the baseline ISA.
void ork_gemm_segmented_portable(const ork_gemm_args *args, const ork_segments *segments, size_t m_begin,
                                 size_t m_end) {
    const size_t k = args->k, n = args->n, length = k / (segments->rows * segments->columns);
    const size_t panels = (n + ORK_TILE - 1) / ORK_TILE;
    for (size_t panel = 0; panel < panels; panel++) {
        const float *weights = args->packed_b + panel * (ORK_TILE + k * ORK_TILE);
        const size_t column0 = panel * ORK_TILE;
        const size_t columns = ORK_MIN((size_t)ORK_TILE, n - column0);
        for (size_t m = m_begin; m < m_end; m += 4) {
            const size_t rows = ORK_MIN((size_t)4, m_end - m);
            float acc[4][ORK_TILE];
            for (size_t r = 0; r < 4; r++)
                for (size_t j = 0; j < ORK_TILE; j++) acc[r][j] = weights[j];
            for (size_t kk = 0; kk < k; kk++) {
                const float *w = weights + ORK_TILE + kk * ORK_TILE;
                const size_t piece = kk / length;
                const size_t offset = (piece / segments->columns) * segments->row_stride +
                                      (piece % segments->columns) * segments->column_stride + kk % length;
                for (size_t r = 0; r < rows; r++) {
                    const float a = args->a[(m + r) * args->a_row_stride + offset];
                    for (size_t j = 0; j < ORK_TILE; j++) acc[r][j] += a * w[j];
                }
            }
            for (size_t r = 0; r < rows; r++) {
                float *c = args->c + (m + r) * args->c_row_stride + column0;
                const float *residual =
                    args->residual ? args->residual + (m + r) * args->residual_row_stride + column0 : NULL;
                for (size_t j = 0; j < columns; j++) {
                    float value = acc[r][j];
                    if (residual) value += residual[j];
                    c[j] = ork_clamp(value, args->min, args->max);
                }
            }
            ork_activate_rows(ork_activation_apply_portable, &args->activation,
                              args->c + m * args->c_row_stride + column0, rows, columns, args->c_row_stride);
        }
    }
}
