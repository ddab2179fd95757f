// General convolution NHWC (any kernel, stride, dilation, pads, groups) on the packed GEMM: windows read in place,
// im2col of a few pixels only at the borders.
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

// Whether the weights outweigh a few output rows' windows (ResNet's last stage: 9.4 MB of weights, 7x7 pixels):
// every GEMM call streams all the weights, so such a convolution takes its pixels in as few calls as possible
// (im2col steps of ORK_CONVOLUTION_PIXELS_PER_STEP) instead of a call per output row.
static int weights_dominate(const ork_convolution_args *args) {
    const size_t k = args->kernel_h * args->kernel_w * (args->input_channels / args->groups);
    return k * args->output_channels > 16 * args->output_w * k * args->groups;
}

// Pixels per im2col step: ORK_CONVOLUTION_PIXELS_PER_STEP, fewer when a pixel's window is long, so the rows
// (every channel of every tap) stay within ~128 KB of L2 next to the weights; at least one GEMM tile's worth.
static size_t pixels_per_step(const ork_convolution_args *args) {
    if (weights_dominate(args)) return ORK_CONVOLUTION_PIXELS_PER_STEP;
    const size_t row = args->kernel_h * args->kernel_w * args->input_channels;
    const size_t fitting = 32768 / (row ? row : 1);
    return ORK_MAX((size_t)12, ORK_MIN((size_t)ORK_CONVOLUTION_PIXELS_PER_STEP, fitting));
}

size_t ork_convolution_scratch_size(const ork_convolution_args *args) {
    if (is_pointwise(args) || args->groups == 0) return 0;
    return pixels_per_step(args) * args->kernel_h * args->kernel_w * args->input_channels;
}

// Rows of the im2col matrix for pixels [pixel_begin, pixel_begin + count): per tap every input channel, so the
// copy is one run of input_channels floats per tap, shared by all groups (group g reads channels g * Cg...).
static void gather(const ork_convolution_args *args, size_t pixel_begin, size_t count, float *scratch) {
    const size_t channels = args->input_channels;
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
                const float *source =
                    args->input + ((image * args->input_h + (size_t)ih) * args->input_w + (size_t)iw) * channels;
                if (channels <= 8) {
                    for (size_t c = 0; c < channels; c++) destination[c] = source[c];
                } else {
                    memcpy(destination, source, channels * sizeof(float));
                }
            }
        }
    }
}

// Output pixels [first, first + count) of every group: A row i (its group's channels) starts at
// a + i * gemm->a_row_stride + group * input channels per group.
static void gemm_per_group(const ork_convolution_args *args, ork_gemm_args *gemm, ork_segmented_gemm run,
                           const ork_segments *segments, const float *a, size_t first, size_t count) {
    const size_t groups = args->groups, output_per_group = args->output_channels / groups;
    const size_t input_per_group = args->input_channels / groups;
    const size_t group_size = ork_gemm_packed_size(gemm->k, output_per_group);
    for (size_t group = 0; group < groups; group++) {
        const size_t column = group * output_per_group;
        gemm->a = a + group * input_per_group;
        gemm->packed_b = args->packed_weights + group * group_size;
        gemm->residual = args->residual ? args->residual + first * args->output_channels + column : NULL;
        gemm->c = args->output + first * ork_output_pixel_stride(args) + column;
        run(gemm, segments, 0, count);
    }
}

// Pixels [pixel_begin, pixel_end) through im2col, a step of pixels at a time: one gather, then per group a GEMM
// whose A rows are the group's channels of each tap (one segment per tap; a single one without groups).
static void im2col_pixels(const ork_convolution_args *args, ork_gemm_args *gemm, ork_segmented_gemm run,
                          size_t pixel_begin, size_t pixel_end, float *scratch) {
    const size_t groups = args->groups, taps = args->kernel_h * args->kernel_w, step = pixels_per_step(args);
    // Group g's channels of each tap, one piece per tap; without groups a row is one contiguous piece.
    const ork_segments segments = {1, 0, groups == 1 ? 1 : taps, args->input_channels};
    gemm->a_row_stride = taps * args->input_channels;
    for (size_t begin = pixel_begin; begin < pixel_end; begin += step) {
        const size_t count = ORK_MIN(step, pixel_end - begin);
        gather(args, begin, count, scratch);
        gemm_per_group(args, gemm, run, &segments, scratch, begin, count);
    }
}

// In NHWC the window of an output pixel is kernel_h x kernel_w runs of input_channels floats at fixed distances, so
// pixels whose whole window lies inside the input read it in place (GEMM segments: per tap the group's channels,
// or with one group and dilation_w = 1 one contiguous run per kernel row); only border pixels go through im2col.
static void direct_rows(const ork_convolution_args *args, ork_gemm_args *gemm, ork_segmented_gemm run,
                        size_t pixel_begin, size_t pixel_end, float *scratch) {
    const size_t output_w = args->output_w, channels = args->input_channels, groups = args->groups;
    const size_t span_w = (args->kernel_w - 1) * args->dilation_w, span_h = (args->kernel_h - 1) * args->dilation_h;
    const size_t row_stride = args->dilation_h * args->input_w * channels;
    const ork_segments segments = groups == 1 && args->dilation_w == 1
                                      ? (ork_segments){args->kernel_h, row_stride, 1, 0}
                                      : (ork_segments){args->kernel_h, row_stride, args->kernel_w,
                                                       args->dilation_w * channels};
    size_t interior_begin = (args->pad_left + args->stride_w - 1) / args->stride_w, interior_end = 0;
    if (args->input_w > 0 && args->input_w - 1 + args->pad_left >= span_w)
        interior_end = ORK_MIN(output_w, (args->input_w - 1 + args->pad_left - span_w) / args->stride_w + 1);
    if (interior_begin > interior_end) interior_begin = interior_end;
    for (size_t pixel = pixel_begin; pixel < pixel_end;) {
        const size_t row = pixel / output_w, ow = pixel % output_w;
        const size_t row_end = ORK_MIN(pixel_end, (row + 1) * output_w), ow_end = ow + (row_end - pixel);
        const size_t image = row / args->output_h, oh = row % args->output_h;
        const ptrdiff_t ih0 = (ptrdiff_t)(oh * args->stride_h) - (ptrdiff_t)args->pad_top;
        if (ih0 < 0 || ih0 + (ptrdiff_t)span_h >= (ptrdiff_t)args->input_h) {
            im2col_pixels(args, gemm, run, pixel, row_end, scratch);
            pixel = row_end;
            continue;
        }
        const size_t inside_begin = ORK_MIN(ORK_MAX(ow, interior_begin), ow_end);
        const size_t inside_end = ORK_MAX(ORK_MIN(ow_end, interior_end), inside_begin);
        if (ow < inside_begin) im2col_pixels(args, gemm, run, pixel, pixel + (inside_begin - ow), scratch);
        if (inside_begin < inside_end) {
            const size_t first = row * output_w + inside_begin;
            const size_t iw0 = inside_begin * args->stride_w - args->pad_left;
            const float *window = args->input + ((image * args->input_h + (size_t)ih0) * args->input_w + iw0) * channels;
            gemm->a_row_stride = args->stride_w * channels;
            gemm_per_group(args, gemm, run, &segments, window, first, inside_end - inside_begin);
        }
        if (inside_end < ow_end) im2col_pixels(args, gemm, run, row * output_w + inside_end, row_end, scratch);
        pixel = row_end;
    }
}

// The driver of every level, given that level's GEMM.
static void convolution(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch,
                        ork_segmented_gemm run) {
    if (pixel_begin >= pixel_end || args->groups == 0 || args->output_channels == 0) return;
    const size_t groups = args->groups;
    const size_t input_per_group = args->input_channels / groups, output_per_group = args->output_channels / groups;
    const size_t k = args->kernel_h * args->kernel_w * input_per_group;
    ork_gemm_args gemm = {
        .k = k,
        .n = output_per_group,
        .residual_row_stride = args->output_channels,
        .c_row_stride = ork_output_pixel_stride(args),
        .min = args->min,
        .max = args->max,
        .activation = args->activation,
    };
    if (is_pointwise(args)) {
        const ork_segments plain = {1, 0, 1, 0};
        gemm.a_row_stride = args->input_channels;
        gemm_per_group(args, &gemm, run, &plain, args->input + pixel_begin * args->input_channels, pixel_begin,
                       pixel_end - pixel_begin);
        return;
    }
    // Grouped convolutions with more than 8 channels per group measured faster through im2col (RegNet-Y group
    // widths 16 and 24 on Zen 4: 93 and 89 against 87 and 83 GFLOP/s in place; width 8: 57 against 67).
    if ((groups > 1 && input_per_group > 8) || weights_dominate(args)) {
        im2col_pixels(args, &gemm, run, pixel_begin, pixel_end, scratch);
    } else {
        direct_rows(args, &gemm, run, pixel_begin, pixel_end, scratch);
    }
}

void ork_convolution_on(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch,
                        ork_segmented_gemm run) {
    convolution(args, pixel_begin, pixel_end, scratch, run);
}

void ork_convolution(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch) {
    ork_kernels()->convolution(args, pixel_begin, pixel_end, scratch);
}

void ork_convolution_portable(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch) {
    convolution(args, pixel_begin, pixel_end, scratch, ork_gemm_segmented_portable);
}

#if ORK_X86
void ork_convolution_avx2(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch) {
    convolution(args, pixel_begin, pixel_end, scratch, ork_gemm_segmented_avx2);
}

void ork_convolution_avx512(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch) {
    convolution(args, pixel_begin, pixel_end, scratch, ork_gemm_segmented_avx512);
}
#endif
