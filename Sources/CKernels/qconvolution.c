// int8 general convolution NHWC (any kernel, stride, dilation, pads, groups): im2col of a few pixels, padded with
// the input zero point (which contributes 0 to every product), then the int8 GEMM per group.
#include "quantized_internal.h"

#include <string.h>

size_t ork_qconvolution_packed_size(size_t output_channels, size_t input_channels_per_group, size_t kernel_h,
                                    size_t kernel_w, size_t groups) {
    if (groups == 0) return 0;
    return groups * ork_qgemm_packed_size(kernel_h * kernel_w * input_channels_per_group, output_channels / groups);
}

typedef struct {
    size_t first_output, channels, taps;
} weight_order;

// GEMM row (tap, channel) of output column o -> ONNX [output, channel, tap] (im2col order: taps outer).
static size_t weight_index(size_t row, size_t column, const void *context) {
    const weight_order *order = (const weight_order *)context;
    const size_t tap = row / order->channels, channel = row % order->channels;
    return ((order->first_output + column) * order->channels + channel) * order->taps + tap;
}

void ork_qconvolution_pack(const void *weights, int weights_are_unsigned, const int32_t *bias,
                           const void *w_zero_points, size_t w_zero_point_count, const float *scales,
                           size_t scale_count, size_t output_channels, size_t input_channels_per_group,
                           size_t kernel_h, size_t kernel_w, size_t groups, void *packed) {
    if (groups == 0) return;
    const size_t outputs = output_channels / groups, taps = kernel_h * kernel_w;
    const size_t k = taps * input_channels_per_group, group_bytes = ork_qgemm_packed_size(k, outputs);
    for (size_t group = 0; group < groups; group++) {
        const size_t first = group * outputs;
        const weight_order order = {first, input_channels_per_group, taps};
        const int per_tensor_zero = w_zero_point_count == 1, per_tensor_scale = scale_count == 1;
        ork_qgemm_pack_indexed(weights, weights_are_unsigned, k, outputs, weight_index, &order,
                               bias ? bias + first : NULL,
                               w_zero_points ? (const uint8_t *)w_zero_points + (per_tensor_zero ? 0 : first) : NULL,
                               per_tensor_zero ? 1 : outputs,
                               scales ? scales + (per_tensor_scale ? 0 : first) : NULL,
                               per_tensor_scale ? 1 : outputs, (uint8_t *)packed + group * group_bytes);
    }
}

static int is_pointwise(const ork_qconvolution_args *args) {
    return args->kernel_h == 1 && args->kernel_w == 1 && args->stride_h == 1 && args->stride_w == 1 &&
           args->pad_top == 0 && args->pad_left == 0 && args->output_h == args->input_h &&
           args->output_w == args->input_w;
}

size_t ork_qconvolution_scratch_size(const ork_qconvolution_args *args) {
    if (is_pointwise(args) || args->groups == 0) return 0;
    return ORK_CONVOLUTION_PIXELS_PER_STEP * args->kernel_h * args->kernel_w * (args->input_channels / args->groups);
}

// Copies `count` bytes; the few-channel rows of a stem (3 channels x 3 taps) are too short for a memcpy call.
// Short copies as two overlapping fixed-size moves (which compile to single loads and stores).
static inline void copy_bytes(uint8_t *destination, const uint8_t *source, size_t count) {
    if (count >= 16 && count <= 32) {
        memcpy(destination, source, 16);
        memcpy(destination + count - 16, source + count - 16, 16);
    } else if (count >= 8 && count < 16) {
        memcpy(destination, source, 8);
        memcpy(destination + count - 8, source + count - 8, 8);
    } else if (count >= 4 && count < 8) {
        memcpy(destination, source, 4);
        memcpy(destination + count - 4, source + count - 4, 4);
    } else if (count < 4) {
        for (size_t i = 0; i < count; i++) destination[i] = source[i];
    } else {
        memcpy(destination, source, count);
    }
}

// im2col rows (tap, channel) of pixels [pixel_begin, pixel_begin + count) of one group; padding = x_zero_point.
// Output row by output row, one kernel row at a time over the row's pixels, so the input row is found once per
// kernel row, not per pixel. A kernel row whose taps all lie inside the input is one contiguous run of
// kernel_w * channels bytes when dilation_w = 1 and there is one group.
static void gather(const ork_qconvolution_args *args, size_t group, size_t pixel_begin, size_t count,
                   uint8_t *scratch) {
    const size_t channels = args->input_channels / args->groups;
    const size_t k = args->kernel_h * args->kernel_w * channels, row_bytes = args->kernel_w * channels;
    const int contiguous_rows = args->groups == 1 && args->dilation_w == 1;
    for (size_t i = 0; i < count;) {
        const size_t pixel = pixel_begin + i, ow_begin = pixel % args->output_w;
        const size_t oh = (pixel / args->output_w) % args->output_h, image = pixel / args->output_w / args->output_h;
        const size_t run = ORK_MIN(count - i, args->output_w - ow_begin);
        for (size_t kh = 0; kh < args->kernel_h; kh++) {
            const ptrdiff_t ih = (ptrdiff_t)(oh * args->stride_h + kh * args->dilation_h) - (ptrdiff_t)args->pad_top;
            const int ih_inside = ih >= 0 && ih < (ptrdiff_t)args->input_h;
            const uint8_t *row = args->input + (image * args->input_h + (size_t)(ih_inside ? ih : 0)) * args->input_w *
                                                   args->input_channels + group * channels;
            uint8_t *destination = scratch + i * k + kh * row_bytes;
            for (size_t j = 0; j < run; j++, destination += k) {
                const ptrdiff_t iw0 = (ptrdiff_t)((ow_begin + j) * args->stride_w) - (ptrdiff_t)args->pad_left;
                if (!ih_inside) {
                    memset(destination, (int)args->x_zero_point, row_bytes);
                    continue;
                }
                if (contiguous_rows && iw0 >= 0 && iw0 + (ptrdiff_t)args->kernel_w <= (ptrdiff_t)args->input_w) {
                    copy_bytes(destination, row + (size_t)iw0 * channels, row_bytes);
                    continue;
                }
                for (size_t kw = 0; kw < args->kernel_w; kw++) {
                    const ptrdiff_t iw = iw0 + (ptrdiff_t)(kw * args->dilation_w);
                    if (iw < 0 || iw >= (ptrdiff_t)args->input_w) memset(destination + kw * channels, (int)args->x_zero_point, channels);
                    else copy_bytes(destination + kw * channels, row + (size_t)iw * args->input_channels, channels);
                }
            }
        }
        i += run;
    }
}

void ork_qconvolution(const ork_qconvolution_args *args, size_t pixel_begin, size_t pixel_end, uint8_t *scratch) {
    if (pixel_begin >= pixel_end || args->groups == 0 || args->output_channels == 0) return;
    const size_t groups = args->groups;
    const size_t input_per_group = args->input_channels / groups, output_per_group = args->output_channels / groups;
    const size_t k = args->kernel_h * args->kernel_w * input_per_group;
    const size_t group_bytes = ork_qgemm_packed_size(k, output_per_group);
    ork_qgemm_args gemm = {
        .k = k,
        .n = output_per_group,
        .a_zero_point = args->x_zero_point,
        .c_row_stride = args->output_channels,
        .epilogue = args->epilogue,
    };
    gemm.epilogue.residual_row_stride = args->output_channels;
    const int pointwise = is_pointwise(args);
    for (size_t begin = pixel_begin; begin < pixel_end;) {
        const size_t count = pointwise ? pixel_end - begin
                                       : ORK_MIN((size_t)ORK_CONVOLUTION_PIXELS_PER_STEP, pixel_end - begin);
        for (size_t group = 0; group < groups; group++) {
            const size_t offset = begin * args->output_channels + group * output_per_group;
            if (pointwise) {
                gemm.a = args->input + begin * args->input_channels + group * input_per_group;
                gemm.a_row_stride = args->input_channels;
            } else {
                gather(args, group, begin, count, scratch);
                gemm.a = scratch;
                gemm.a_row_stride = k;
            }
            gemm.packed_b = (const uint8_t *)args->packed_weights + group * group_bytes;
            gemm.c = args->output ? args->output + offset : NULL;
            gemm.c_int32 = args->output_int32 ? args->output_int32 + offset : NULL;
            gemm.epilogue.residual = args->epilogue.residual ? args->epilogue.residual + offset : NULL;
            ork_qgemm(&gemm, 0, count);
        }
        begin += count;
    }
}
