// Depthwise convolution NHWC: weight packing, dispatch, the valid-range geometry and the portable C level.
#include "internal.h"
#include "depthwise_geometry.h"

// MARK: - Packing

size_t ork_depthwise_packed_size(size_t channels, size_t kernel_h, size_t kernel_w) {
    size_t tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    return tiles * ORK_TILE * (1 + kernel_h * kernel_w);
}

void ork_depthwise_pack(const float *weights, const float *bias, size_t channels, size_t kernel_h, size_t kernel_w,
                        float *packed) {
    const size_t taps = kernel_h * kernel_w;
    const size_t tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    for (size_t tile = 0; tile < tiles; tile++) {
        float *destination = packed + tile * ORK_TILE * (1 + taps);
        for (size_t j = 0; j < ORK_TILE; j++) {
            size_t channel = tile * ORK_TILE + j;
            destination[j] = (channel < channels && bias != NULL) ? bias[channel] : 0.0f;
            for (size_t tap = 0; tap < taps; tap++) {
                destination[ORK_TILE + tap * ORK_TILE + j] = channel < channels ? weights[channel * taps + tap] : 0.0f;
            }
        }
    }
}

// MARK: - Dispatch

void ork_depthwise(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    if (row_begin >= row_end || args->channels == 0 || args->output_w == 0) return;
    switch (ork_current_isa_level()) {
#if ORK_X86
    case ORK_ISA_AVX512: ork_depthwise_avx512(args, row_begin, row_end); return;
    case ORK_ISA_AVX2: ork_depthwise_avx2(args, row_begin, row_end); return;
#endif
    default: ork_depthwise_portable(args, row_begin, row_end); return;
    }
}

// MARK: - Portable C

void ork_depthwise_portable(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    const size_t channels = args->channels, taps = args->kernel_h * args->kernel_w;
    const size_t tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    const size_t tile_stride = ORK_TILE * (1 + taps);
    for (size_t row = row_begin; row < row_end; row++) {
        ork_depthwise_row geometry;
        ork_depthwise_row_geometry(args, row, &geometry);
        for (size_t ow = 0; ow < args->output_w; ow++) {
            ork_depthwise_pixel_geometry pixel;
            ork_depthwise_pixel(args, ow, &pixel);
            const size_t out_offset = (geometry.output_row + ow) * channels;
            for (size_t tile = 0; tile < tiles; tile++) {
                const float *w = args->packed_weights + tile * tile_stride;
                const size_t channel0 = tile * ORK_TILE;
                const size_t count = ORK_MIN((size_t)ORK_TILE, channels - channel0);
                float acc[ORK_TILE];
                for (size_t j = 0; j < ORK_TILE; j++) acc[j] = w[j];
                for (size_t kh = geometry.kh_begin; kh < geometry.kh_end; kh++) {
                    const float *in_row = args->input + geometry.input_rows[kh - geometry.kh_begin] + channel0;
                    for (size_t kw = pixel.kw_begin; kw < pixel.kw_end; kw++) {
                        const float *x = in_row + (size_t)(pixel.iw0 + (ptrdiff_t)(kw * args->dilation_w)) * channels;
                        const float *wt = w + ORK_TILE + (kh * args->kernel_w + kw) * ORK_TILE;
                        for (size_t j = 0; j < count; j++) acc[j] += x[j] * wt[j];
                    }
                }
                float *out = args->output + out_offset + channel0;
                const float *residual = args->residual ? args->residual + out_offset + channel0 : NULL;
                for (size_t j = 0; j < count; j++) {
                    float value = acc[j];
                    if (residual) value += residual[j];
                    out[j] = ork_clamp(value, args->min, args->max);
                }
                ork_activate_rows(ork_activation_apply_portable, &args->activation, out, 1, count, 0);
            }
        }
    }
}
