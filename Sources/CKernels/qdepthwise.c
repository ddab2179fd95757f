// int8 depthwise convolution NHWC: weight packing, dispatch and the portable C variant.
#include "quantized_internal.h"
#include "depthwise_geometry.h"

// MARK: - Packing

size_t ork_qdepthwise_packed_size(size_t channels, size_t kernel_h, size_t kernel_w) {
    return ((channels + ORK_TILE - 1) / ORK_TILE) * ork_qdepthwise_tile_words(kernel_h * kernel_w) * 4;
}

static int32_t weight_value(const void *values, int is_unsigned, size_t i) {
    return is_unsigned ? (int32_t)((const uint8_t *)values)[i] : (int32_t)((const int8_t *)values)[i];
}

void ork_qdepthwise_pack(const void *weights, int weights_are_unsigned, const int32_t *bias,
                         const void *w_zero_points, size_t w_zero_point_count, const float *scales,
                         size_t scale_count, int32_t x_zero_point, size_t channels, size_t kernel_h, size_t kernel_w,
                         void *packed) {
    const size_t taps = kernel_h * kernel_w, tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    for (size_t tile = 0; tile < tiles; tile++) {
        int32_t *words = (int32_t *)packed + tile * ork_qdepthwise_tile_words(taps);
        float *scale = (float *)(words + 2 * ORK_TILE);
        for (size_t j = 0; j < ORK_TILE; j++) {
            const size_t channel = tile * ORK_TILE + j;
            const int inside = channel < channels;
            const int32_t zero = inside && w_zero_points && w_zero_point_count > 0
                ? weight_value(w_zero_points, weights_are_unsigned, w_zero_point_count == 1 ? 0 : channel)
                : 0;
            int32_t sum = 0;
            for (size_t tap = 0; tap < taps; tap++) {
                const int32_t value = inside ? weight_value(weights, weights_are_unsigned, channel * taps + tap) - zero : 0;
                // Low 16 bits only: the vector kernels multiply int32 lanes with vpmaddwd, whose high halves must
                // contribute 0 (value is in [-255, 255]).
                words[ORK_QDEPTHWISE_HEADER + tap * ORK_TILE + j] = (int32_t)(uint16_t)(int16_t)value;
                sum += value;
            }
            const int32_t b = inside && bias ? bias[channel] : 0;
            words[j] = b - x_zero_point * sum;
            words[ORK_TILE + j] = b;
            scale[j] = !inside ? 0.0f : scales == NULL ? 1.0f : scales[scale_count == 1 ? 0 : channel];
        }
    }
}

void ork_qdepthwise_set_x_zero_point(void *packed, size_t channels, size_t taps, int32_t x_zero_point) {
    const size_t tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    for (size_t tile = 0; tile < tiles; tile++) {
        int32_t *words = (int32_t *)packed + tile * ork_qdepthwise_tile_words(taps);
        for (size_t j = 0; j < ORK_TILE; j++) {
            int32_t sum = 0;
            for (size_t tap = 0; tap < taps; tap++) sum += (int16_t)words[ORK_QDEPTHWISE_HEADER + tap * ORK_TILE + j];
            words[j] = words[ORK_TILE + j] - x_zero_point * sum;
        }
    }
}

// MARK: - Dispatch

void ork_qdepthwise(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end) {
    if (row_begin >= row_end || args->channels == 0 || args->output_w == 0) return;
    switch (ork_int8_current_variant()) {
#if ORK_X86
    case ORK_INT8_AVX512VNNI: ork_qdepthwise_avx512vnni(args, row_begin, row_end); return;
    case ORK_INT8_AVX512: ork_qdepthwise_avx512(args, row_begin, row_end); return;
    case ORK_INT8_AVX2: ork_qdepthwise_avx2(args, row_begin, row_end); return;
#endif
    default: ork_qdepthwise_portable(args, row_begin, row_end); return;
    }
}

// MARK: - Portable C

// (x - x_zp) * (w - w_zp) over the taps inside the input (padding holds x_zp, which contributes 0).
void ork_qdepthwise_portable(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end) {
    const ork_depthwise_args geometry_args = ork_qdepthwise_geometry(args);
    const size_t channels = args->channels, taps = args->kernel_h * args->kernel_w;
    const size_t tiles = (channels + ORK_TILE - 1) / ORK_TILE, tile_words = ork_qdepthwise_tile_words(taps);
    const ork_qepilogue *e = &args->epilogue;
    for (size_t row = row_begin; row < row_end; row++) {
        ork_depthwise_row g;
        ork_depthwise_row_geometry(&geometry_args, row, &g);
        for (size_t ow = 0; ow < args->output_w; ow++) {
            ork_depthwise_pixel_geometry pixel;
            ork_depthwise_pixel(&geometry_args, ow, &pixel);
            const size_t out_offset = (g.output_row + ow) * channels;
            for (size_t tile = 0; tile < tiles; tile++) {
                const int32_t *words = (const int32_t *)args->packed_weights + tile * tile_words;
                const float *scale = (const float *)(words + 2 * ORK_TILE);
                const size_t channel0 = tile * ORK_TILE, count = ORK_MIN((size_t)ORK_TILE, channels - channel0);
                int32_t acc[ORK_TILE];
                for (size_t j = 0; j < ORK_TILE; j++) acc[j] = words[ORK_TILE + j];
                for (size_t kh = g.kh_begin; kh < g.kh_end; kh++) {
                    const uint8_t *in_row = args->input + g.input_rows[kh - g.kh_begin] + channel0;
                    for (size_t kw = pixel.kw_begin; kw < pixel.kw_end; kw++) {
                        const uint8_t *x = in_row + (size_t)(pixel.iw0 + (ptrdiff_t)(kw * args->dilation_w)) * channels;
                        const int32_t *w = words + ORK_QDEPTHWISE_HEADER + (kh * args->kernel_w + kw) * ORK_TILE;
                        for (size_t j = 0; j < count; j++) acc[j] += ((int32_t)x[j] - args->x_zero_point) * (int16_t)w[j];
                    }
                }
                if (args->output_int32) {
                    for (size_t j = 0; j < count; j++) args->output_int32[out_offset + channel0 + j] = acc[j];
                    continue;
                }
                const uint8_t *residual = e->residual ? e->residual + out_offset + channel0 : NULL;
                for (size_t j = 0; j < count; j++)
                    args->output[out_offset + channel0 + j] =
                        ork_qstore(acc[j], scale[j], e, residual ? residual + j : NULL);
            }
        }
    }
}
