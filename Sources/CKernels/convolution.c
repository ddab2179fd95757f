// General convolution NHWC (any kernel, stride, dilation, pads, groups): im2col of a few pixels + packed GEMM.
#include "internal.h"

#include <string.h>

// MARK: - Packing

size_t ork_convolution_packed_size(size_t output_channels, size_t input_channels_per_group, size_t kernel_h,
                                   size_t kernel_w, size_t groups) {
    if (groups == 0) return 0;
    return groups * ork_gemm_packed_size(kernel_h * kernel_w * input_channels_per_group, output_channels / groups);
}

void ork_convolution_pack(const float *weights, const float *bias, size_t output_channels,
                          size_t input_channels_per_group, size_t kernel_h, size_t kernel_w, size_t groups,
                          float *packed) {
    if (groups == 0) return;
    const size_t outputs_per_group = output_channels / groups, taps = kernel_h * kernel_w;
    const size_t k = taps * input_channels_per_group;
    const size_t group_size = ork_gemm_packed_size(k, outputs_per_group);
    const size_t panels = (outputs_per_group + ORK_TILE - 1) / ORK_TILE;
    for (size_t group = 0; group < groups; group++) {
        for (size_t panel = 0; panel < panels; panel++) {
            float *destination = packed + group * group_size + panel * (ORK_TILE + k * ORK_TILE);
            for (size_t j = 0; j < ORK_TILE; j++) {
                const size_t column = panel * ORK_TILE + j;
                const size_t output_channel = group * outputs_per_group + column;
                destination[j] = (column < outputs_per_group && bias != NULL) ? bias[output_channel] : 0.0f;
                // GEMM row index = (tap, input channel), matching the im2col order below.
                for (size_t tap = 0; tap < taps; tap++) {
                    for (size_t ci = 0; ci < input_channels_per_group; ci++) {
                        const size_t row = tap * input_channels_per_group + ci;
                        destination[ORK_TILE + row * ORK_TILE + j] =
                            column < outputs_per_group
                                ? weights[(output_channel * input_channels_per_group + ci) * taps + tap]
                                : 0.0f;
                    }
                }
            }
        }
    }
}

// MARK: - Running

// A 1x1 convolution without stride or padding reads its input rows in place.
static int is_pointwise(const ork_convolution_args *args) {
    return args->kernel_h == 1 && args->kernel_w == 1 && args->stride_h == 1 && args->stride_w == 1 &&
           args->pad_top == 0 && args->pad_left == 0 && args->output_h == args->input_h &&
           args->output_w == args->input_w;
}

size_t ork_convolution_scratch_size(const ork_convolution_args *args) {
    if (is_pointwise(args) || args->groups == 0) return 0;
    return ORK_CONVOLUTION_PIXELS_PER_STEP * args->kernel_h * args->kernel_w * (args->input_channels / args->groups);
}

// Rows of the im2col matrix for pixels [pixel_begin, pixel_begin + count) of one group: (tap, channel) per row.
static void gather(const ork_convolution_args *args, size_t group, size_t pixel_begin, size_t count, float *scratch) {
    const size_t channels = args->input_channels / args->groups;
    const size_t k = args->kernel_h * args->kernel_w * channels;
    for (size_t i = 0; i < count; i++) {
        const size_t pixel = pixel_begin + i;
        const size_t ow = pixel % args->output_w, rest = pixel / args->output_w;
        const size_t oh = rest % args->output_h, image = rest / args->output_h;
        float *destination = scratch + i * k;
        for (size_t kh = 0; kh < args->kernel_h; kh++) {
            const ptrdiff_t ih = (ptrdiff_t)(oh * args->stride_h + kh * args->dilation_h) - (ptrdiff_t)args->pad_top;
            for (size_t kw = 0; kw < args->kernel_w; kw++, destination += channels) {
                const ptrdiff_t iw =
                    (ptrdiff_t)(ow * args->stride_w + kw * args->dilation_w) - (ptrdiff_t)args->pad_left;
                if (ih < 0 || ih >= (ptrdiff_t)args->input_h || iw < 0 || iw >= (ptrdiff_t)args->input_w) {
                    for (size_t c = 0; c < channels; c++) destination[c] = 0.0f;
                    continue;
                }
                const float *source = args->input +
                                      ((image * args->input_h + (size_t)ih) * args->input_w + (size_t)iw) *
                                          args->input_channels +
                                      group * channels;
                if (channels <= 8) {
                    for (size_t c = 0; c < channels; c++) destination[c] = source[c];
                } else {
                    memcpy(destination, source, channels * sizeof(float));
                }
            }
        }
    }
}

void ork_convolution(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch) {
    if (pixel_begin >= pixel_end || args->groups == 0 || args->output_channels == 0) return;
    const size_t groups = args->groups;
    const size_t input_per_group = args->input_channels / groups, output_per_group = args->output_channels / groups;
    const size_t k = args->kernel_h * args->kernel_w * input_per_group;
    const size_t group_size = ork_gemm_packed_size(k, output_per_group);
    ork_gemm_args gemm = {
        .k = k,
        .n = output_per_group,
        .residual_row_stride = args->output_channels,
        .c_row_stride = args->output_channels,
        .min = args->min,
        .max = args->max,
    };
    if (is_pointwise(args)) {
        for (size_t group = 0; group < groups; group++) {
            gemm.a = args->input + group * input_per_group;
            gemm.a_row_stride = args->input_channels;
            gemm.packed_b = args->packed_weights + group * group_size;
            gemm.residual = args->residual ? args->residual + group * output_per_group : NULL;
            gemm.c = args->output + group * output_per_group;
            ork_gemm(&gemm, pixel_begin, pixel_end);
        }
        return;
    }
    gemm.a = scratch;
    gemm.a_row_stride = k;
    for (size_t begin = pixel_begin; begin < pixel_end; begin += ORK_CONVOLUTION_PIXELS_PER_STEP) {
        const size_t count = ORK_MIN((size_t)ORK_CONVOLUTION_PIXELS_PER_STEP, pixel_end - begin);
        for (size_t group = 0; group < groups; group++) {
            gather(args, group, begin, count, scratch);
            const size_t offset = begin * args->output_channels + group * output_per_group;
            gemm.packed_b = args->packed_weights + group * group_size;
            gemm.residual = args->residual ? args->residual + offset : NULL;
            gemm.c = args->output + offset;
            ork_gemm(&gemm, 0, count);
        }
    }
}
