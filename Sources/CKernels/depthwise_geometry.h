// Depthwise convolution geometry: the kernel rows/columns that fall inside the input, per output row and pixel.
#pragma once

#include "internal.h"

// Kernels up to this many rows tall get a precomputed input-row table; taller ones are not expected
// (the wrapper routes them to the general convolution).
#define ORK_DEPTHWISE_MAX_KERNEL_H 64

typedef struct {
    size_t output_row;      // image * output_h + oh, times output_w gives the first output pixel of the row
    size_t kh_begin, kh_end;  // kernel rows inside the input
    // For kh in [kh_begin, kh_end): offset (floats) of input row ih(kh), column 0, channel 0.
    size_t input_rows[ORK_DEPTHWISE_MAX_KERNEL_H];
} ork_depthwise_row;

typedef struct {
    ptrdiff_t iw0;            // input column of kernel column 0 (may be negative)
    size_t kw_begin, kw_end;  // kernel columns inside the input
} ork_depthwise_pixel_geometry;

// First k in [0, count) with start + k * step >= 0, and the end of the k with start + k * step < limit.
static inline void ork_valid_taps(ptrdiff_t start, size_t step, size_t count, size_t limit, size_t *begin,
                                  size_t *end) {
    size_t first = 0;
    if (start < 0) first = (size_t)((-start + (ptrdiff_t)step - 1) / (ptrdiff_t)step);
    size_t stop = 0;
    if (start < (ptrdiff_t)limit) stop = (size_t)(((ptrdiff_t)limit - start - 1) / (ptrdiff_t)step) + 1;
    if (stop > count) stop = count;
    if (first > stop) first = stop;
    *begin = first;
    *end = stop;
}

static inline void ork_depthwise_row_geometry(const ork_depthwise_args *args, size_t row, ork_depthwise_row *g) {
    const size_t image = row / args->output_h, oh = row % args->output_h;
    const ptrdiff_t ih0 = (ptrdiff_t)(oh * args->stride_h) - (ptrdiff_t)args->pad_top;
    g->output_row = row * args->output_w;
    ork_valid_taps(ih0, args->dilation_h, args->kernel_h, args->input_h, &g->kh_begin, &g->kh_end);
    for (size_t kh = g->kh_begin; kh < g->kh_end; kh++) {
        const size_t ih = (size_t)(ih0 + (ptrdiff_t)(kh * args->dilation_h));
        g->input_rows[kh - g->kh_begin] = (image * args->input_h + ih) * args->input_w * args->channels;
    }
}

static inline void ork_depthwise_pixel(const ork_depthwise_args *args, size_t ow, ork_depthwise_pixel_geometry *p) {
    p->iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
    ork_valid_taps(p->iw0, args->dilation_w, args->kernel_w, args->input_w, &p->kw_begin, &p->kw_end);
}

// Output columns [begin, end) whose kernel columns all fall inside the input (no bounds checks needed).
static inline void ork_depthwise_interior_columns(const ork_depthwise_args *args, size_t *begin, size_t *end) {
    const size_t span = (args->kernel_w - 1) * args->dilation_w;  // last kernel column's offset
    size_t first = (args->pad_left + args->stride_w - 1) / args->stride_w;
    size_t stop = 0;
    if (args->input_w > 0 && args->input_w - 1 + args->pad_left >= span)
        stop = (args->input_w - 1 + args->pad_left - span) / args->stride_w + 1;
    if (stop > args->output_w) stop = args->output_w;
    if (first > stop) first = stop;
    *begin = first;
    *end = stop;
}
