// The second half of a transposed convolution NHWC: per output pixel, bias plus the GEMM's columns of every input
// pixel and tap that lands there (memory-bound; plain C that the compiler vectorizes along the channels).
#include "internal.h"

// Kernel taps k in [0, count) that land on output position `position`: position + pad - k * dilation must be a
// multiple of stride whose quotient is an input position. Writes (tap, input position) pairs; returns how many.
static size_t landing_taps(size_t position, ptrdiff_t pad, size_t count, size_t stride, size_t dilation, size_t input,
                           size_t *taps, size_t *inputs) {
    size_t found = 0;
    for (size_t k = 0; k < count; k++) {
        const ptrdiff_t shifted = (ptrdiff_t)position + pad - (ptrdiff_t)(k * dilation);
        if (shifted < 0 || shifted % (ptrdiff_t)stride != 0) continue;
        const size_t index = (size_t)shifted / stride;
        if (index >= input) continue;
        taps[found] = k;
        inputs[found] = index;
        found++;
    }
    return found;
}

void ork_col2im(const ork_col2im_args *args, size_t row_begin, size_t row_end) {
    if (args->kernel_h > ORK_COL2IM_MAX_KERNEL || args->kernel_w > ORK_COL2IM_MAX_KERNEL || args->groups == 0) return;
    const size_t channels = args->channels, per_group = channels / args->groups;
    const size_t taps = args->kernel_h * args->kernel_w, pixel_columns = taps * channels;
    size_t rows[ORK_COL2IM_MAX_KERNEL], input_rows[ORK_COL2IM_MAX_KERNEL];
    size_t columns[ORK_COL2IM_MAX_KERNEL], input_columns[ORK_COL2IM_MAX_KERNEL];
    for (size_t row = row_begin; row < row_end; row++) {
        const size_t image = row / args->output_h, oh = row % args->output_h;
        const size_t row_count = landing_taps(oh, args->pad_top, args->kernel_h, args->stride_h, args->dilation_h,
                                              args->input_h, rows, input_rows);
        for (size_t ow = 0; ow < args->output_w; ow++) {
            float *out = args->output + (row * args->output_w + ow) * channels;
            for (size_t c = 0; c < channels; c++) out[c] = args->bias ? args->bias[c] : 0.0f;
            const size_t column_count = landing_taps(ow, args->pad_left, args->kernel_w, args->stride_w,
                                                     args->dilation_w, args->input_w, columns, input_columns);
            for (size_t i = 0; i < row_count; i++) {
                for (size_t j = 0; j < column_count; j++) {
                    const size_t pixel = (image * args->input_h + input_rows[i]) * args->input_w + input_columns[j];
                    const size_t tap = rows[i] * args->kernel_w + columns[j];
                    // Group g's columns of this pixel: [g][tap][channel of the group].
                    const float *source = args->columns + pixel * pixel_columns + tap * per_group;
                    for (size_t g = 0; g < args->groups; g++, source += taps * per_group) {
                        float *destination = out + g * per_group;
                        for (size_t c = 0; c < per_group; c++) destination[c] += source[c];
                    }
                }
            }
            for (size_t c = 0; c < channels; c++) out[c] = ork_clamp(out[c], args->min, args->max);
        }
        ork_activate_rows(ork_activation_apply, &args->activation, args->output + row * args->output_w * channels, 1,
                          args->output_w * channels, 0);
    }
}
