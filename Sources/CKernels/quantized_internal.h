// Shared pieces of the int8 kernels: packed-panel geometry, the scalar requantizing store, variant selection.
#pragma once

#include "internal.h"

#if ORK_X86
#define ORK_TARGET_AVX512VNNI __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,fma")))
#endif

// A packed qgemm panel: header (bias, colsum, w_zero_point as int32; scale as float; 16 each; then a row of 16
// int32 whose first says whether vpmaddubsw's pair sums fit int16, see ork_qpanel) then the reduction in groups of
// 4 (64 bytes per group: 16 columns x 4 bytes).
#define ORK_QPANEL_HEADER_BYTES (5 * ORK_TILE * 4)
#define ORK_QGROUP 4

ORK_INLINE size_t ork_qgemm_groups(size_t k) { return (k + ORK_QGROUP - 1) / ORK_QGROUP; }
ORK_INLINE size_t ork_qgemm_panel_bytes(size_t k) {
    return ORK_QPANEL_HEADER_BYTES + ork_qgemm_groups(k) * ORK_QGROUP * ORK_TILE;
}

typedef struct {
    const int32_t *bias, *colsum, *w_zero_point;
    const float *scale;
    const int8_t *weights;
    // Every pair of weights that vpmaddubsw sums (steps 2i, 2i+1 of a column) has |w0| + |w1| <= 128, so with
    // uint8 activations the pair sums fit int16 (255 x 128 = 32640): the AVX2 kernel needs no exact split.
    int pairs_fit_int16;
} ork_qpanel;

ORK_INLINE ork_qpanel ork_qpanel_at(const void *packed, size_t k, size_t panel) {
    const uint8_t *base = (const uint8_t *)packed + panel * ork_qgemm_panel_bytes(k);
    ork_qpanel p = {(const int32_t *)base, (const int32_t *)base + ORK_TILE, (const int32_t *)base + 2 * ORK_TILE,
                    (const float *)base + 3 * ORK_TILE, (const int8_t *)(base + ORK_QPANEL_HEADER_BYTES),
                    ((const int32_t *)base)[4 * ORK_TILE]};
    return p;
}

/// Round half to even without libm: exact for |value| < 2^22 (callers clamp to a few hundred first).
ORK_INLINE float ork_round_half_even(float value) {
    const float magic = 12582912.0f;  // 1.5 * 2^23
    return (value + magic) - magic;  // the addition rounds half to even at integer precision
}

/// y = clamp(round_half_even(acc * scale) + zero_point, min, max), clamping in float before rounding as MLAS does.
ORK_INLINE int32_t ork_requantize(int32_t acc, float scale, const ork_qepilogue *e) {
    float value = (float)acc * scale;
    const float low = (float)(e->min - e->zero_point), high = (float)(e->max - e->zero_point);
    value = value < low ? low : value;
    value = value > high ? high : value;
    return (int32_t)ork_round_half_even(value) + e->zero_point;
}

/// The fused QLinearAdd on one requantized value y and its residual byte.
ORK_INLINE int32_t ork_residual_add(int32_t y, int32_t residual, const ork_qepilogue *e) {
    const float first = e->residual_is_first ? (float)residual : (float)y;
    const float second = e->residual_is_first ? (float)y : (float)residual;
    const float first_ratio = e->residual_is_first ? e->residual_ratio : e->output_ratio;
    const float second_ratio = e->residual_is_first ? e->output_ratio : e->residual_ratio;
    float value = __builtin_fmaf(first, first_ratio, __builtin_fmaf(second, second_ratio, e->offset));
    const float low = (float)e->sum_min, high = (float)e->sum_max;
    value = value < low ? low : value;
    value = value > high ? high : value;
    return (int32_t)ork_round_half_even(value);
}

/// The whole store of one accumulator (bias and zero-point corrections already in acc).
ORK_INLINE uint8_t ork_qstore(int32_t acc, float scale, const ork_qepilogue *e, const uint8_t *residual) {
    int32_t y = ork_requantize(acc, scale, e);
    if (residual) y = ork_residual_add(y, *residual, e);
    return (uint8_t)y;
}

/// ork_qgemm_pack with B's element (row, column) at b[index(row, column, context)].
void ork_qgemm_pack_indexed(const void *b, int b_is_unsigned, size_t k, size_t n,
                            size_t (*index)(size_t row, size_t column, const void *context), const void *context,
                            const int32_t *bias, const void *w_zero_points, size_t w_zero_point_count,
                            const float *scales, size_t scale_count, void *packed);

/// The variant the dispatching entry points use now.
int ork_int8_current_variant(void);

// MARK: - Depthwise

// A packed depthwise tile: interior_bias[16], bias[16] (int32), scale[16] (float), then taps x 16 int32 lanes holding (w - w_zp) as int16 in the low half.
#define ORK_QDEPTHWISE_HEADER 48
ORK_INLINE size_t ork_qdepthwise_tile_words(size_t taps) { return ORK_QDEPTHWISE_HEADER + taps * ORK_TILE; }

/// The float kernels' geometry arguments for an int8 depthwise call (the offsets are in elements = bytes).
ORK_INLINE ork_depthwise_args ork_qdepthwise_geometry(const ork_qdepthwise_args *q) {
    ork_depthwise_args g = {
        .batch = q->batch, .input_h = q->input_h, .input_w = q->input_w, .channels = q->channels,
        .output_h = q->output_h, .output_w = q->output_w, .kernel_h = q->kernel_h, .kernel_w = q->kernel_w,
        .stride_h = q->stride_h, .stride_w = q->stride_w, .dilation_h = q->dilation_h, .dilation_w = q->dilation_w,
        .pad_top = q->pad_top, .pad_left = q->pad_left,
    };
    return g;
}
