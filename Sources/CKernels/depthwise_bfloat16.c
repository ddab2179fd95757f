// bfloat16 depthwise convolution: weight packing, dispatch and the portable C reference.
#include "CKernelsBFloat16.h"
#include "depthwise_geometry.h"

#include <math.h>
#include <string.h>

// Channels per packed group: one 512-bit vector of bfloat16 pairs.
#define GROUP 32

size_t ork_depthwise_bfloat16_packed_size(size_t channels, size_t kernel_h, size_t kernel_w) {
    return (channels + GROUP - 1) / GROUP * GROUP * (1 + kernel_h * kernel_w);
}

void ork_depthwise_bfloat16_pack(const float *packed_float, size_t channels, size_t kernel_h, size_t kernel_w,
                                 uint32_t *packed) {
    const size_t taps = kernel_h * kernel_w, groups = (channels + GROUP - 1) / GROUP;
    for (size_t group = 0; group < groups; group++) {
        uint32_t *destination = packed + group * GROUP * (1 + taps);
        for (size_t j = 0; j < GROUP; j++) {
            const size_t channel = group * GROUP + j, odd = j % 2, lane = j / 2;
            const int present = channel < channels;
            // The float32 layout: per tile of ORK_TILE channels [bias][taps x ORK_TILE].
            const float *source = packed_float + channel / ORK_TILE * ORK_TILE * (1 + taps) + channel % ORK_TILE;
            const float bias_value = present ? source[0] : 0.0f;
            memcpy(destination + odd * 16 + lane, &bias_value, sizeof bias_value);
            for (size_t tap = 0; tap < taps; tap++) {
                const float weight = present ? source[ORK_TILE + tap * ORK_TILE] : 0.0f;
                memcpy(destination + GROUP + tap * GROUP + odd * 16 + lane, &weight, sizeof weight);
            }
        }
    }
}

void ork_depthwise_bfloat16(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    // An AMX-BF16 machine runs the same kernel (AMX tiles do not fit a per-channel product).
    if (ork_bfloat16_detected_isa() == ORK_BFLOAT16_AVX512BF16) {
        ork_depthwise_bfloat16_avx512bf16(args, row_begin, row_end);
    } else {
        ork_depthwise_bfloat16_portable(args, row_begin, row_end);
    }
}

// Sums in the vector kernel's order and rounding: the bias, then a fused multiply-add per tap inside the input in
// (kh, kw) order.
void ork_depthwise_bfloat16_portable(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    const uint16_t *input = (const uint16_t *)(const void *)args->input;
    uint16_t *output = (uint16_t *)(void *)args->output;
    const uint32_t *packed = (const uint32_t *)(const void *)args->packed_weights;
    const size_t taps = args->kernel_h * args->kernel_w, channels = args->channels;
    ork_depthwise_row g;
    for (size_t row = row_begin; row < row_end; row++) {
        ork_depthwise_row_geometry(args, row, &g);
        for (size_t ow = 0; ow < args->output_w; ow++) {
            ork_depthwise_pixel_geometry p;
            ork_depthwise_pixel(args, ow, &p);
            for (size_t channel = 0; channel < channels; channel++) {
                const uint32_t *weights = packed + channel / GROUP * GROUP * (1 + taps);
                const size_t odd = channel % 2, lane = channel % GROUP / 2;
                float acc;
                memcpy(&acc, weights + odd * 16 + lane, sizeof acc);
                for (size_t kh = g.kh_begin; kh < g.kh_end; kh++) {
                    for (size_t kw = p.kw_begin; kw < p.kw_end; kw++) {
                        const size_t iw = (size_t)(p.iw0 + (ptrdiff_t)(kw * args->dilation_w));
                        const float x = ork_float_from_bfloat16(input[g.input_rows[kh - g.kh_begin] + iw * channels + channel]);
                        float weight;
                        memcpy(&weight, weights + GROUP + (kh * args->kernel_w + kw) * GROUP + odd * 16 + lane,
                               sizeof weight);
                        acc = fmaf(x, weight, acc);
                    }
                }
                output[(g.output_row + ow) * channels + channel] =
                    ork_bfloat16_from_float(ork_clamp(acc, args->min, args->max));
            }
        }
    }
}
