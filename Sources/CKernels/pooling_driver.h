// NHWC max and average pooling, written once in the vector vocabulary of vector_ops.h and compiled per ISA by
// pooling_{portable,avx2,avx512}.c: the kernel rows inside the input are found once per output row, the columns
// once per pixel, then up to VECTORS channel vectors at a time run over exactly those taps (no bounds checks).
//
// Define ORK_MAX_POOL_FUNCTION and ORK_AVERAGE_POOL_FUNCTION (the exported names); include vector_ops.h first.
#include "depthwise_geometry.h"

#include <math.h>

// Independent accumulators per pixel: enough chains to hide the max/add latency, few enough for 16 registers.
#define VECTORS 4

typedef struct {
    size_t begin, end;  // taps inside the input
    size_t counted;     // the average's divisor along this axis: those taps, or with count_include_pad every tap
                        // inside the input and its pads (taps past the end pad, from ceil_mode, never count)
} pool_taps;

ORK_INLINE void axis_taps(ptrdiff_t start, size_t kernel, size_t dilation, size_t input, size_t pad_begin,
                          size_t pad_end, int include_pad, pool_taps *taps) {
    ork_valid_taps(start, dilation, kernel, input, &taps->begin, &taps->end);
    taps->counted = taps->end - taps->begin;
    if (include_pad) {
        size_t begin, end;
        ork_valid_taps(start + (ptrdiff_t)pad_begin, dilation, kernel, input + pad_begin + pad_end, &begin,
                       &end);
        taps->counted = end - begin;
    }
}

// The window of one output pixel: its rows (computed once per output row) and columns.
typedef struct {
    size_t kh_begin, kh_end, kw_begin, kw_end;
    float scale;  // average: 1 / the divisor
} pool_window;

ORK_INLINE void window(const pool_taps *rows, const pool_taps *columns, pool_window *w) {
    w->kh_begin = rows->begin;
    w->kh_end = rows->end;
    w->kw_begin = columns->begin;
    w->kw_end = columns->end;
    const size_t count = rows->counted * columns->counted;
    w->scale = count ? 1.0f / (float)count : 0.0f;
}

// `vectors` channel vectors from c0 of one output pixel; `maximum` picks max pooling (else average).
ORK_INLINE ORK_V_TARGET void pool_vectors(const int maximum, const int vectors, const int masked, ork_v_mask mask,
                                          const ork_pool_args *args, const float *image, ptrdiff_t ih0,
                                          ptrdiff_t iw0, const pool_window *w, size_t c0, float *out) {
    const size_t channels = args->channels;
    ork_v acc[VECTORS];
    ORK_UNROLL
    for (int t = 0; t < vectors; t++) acc[t] = ork_v_set1(maximum ? -INFINITY : 0.0f);
    for (size_t kh = w->kh_begin; kh < w->kh_end; kh++) {
        const size_t ih = (size_t)(ih0 + (ptrdiff_t)(kh * args->dilation_h));
        const float *row = image + ih * args->input_w * channels + c0;
        for (size_t kw = w->kw_begin; kw < w->kw_end; kw++) {
            const float *x = row + (size_t)(iw0 + (ptrdiff_t)(kw * args->dilation_w)) * channels;
            ORK_UNROLL
            for (int t = 0; t < vectors; t++) {
                const ork_v xv = masked ? ork_v_load_masked(mask, x + t * ORK_V_LANES) : ork_v_load(x + t * ORK_V_LANES);
                acc[t] = maximum ? ork_v_max(acc[t], xv) : ork_v_add(acc[t], xv);
            }
        }
    }
    const ork_v scale = ork_v_set1(w->scale);
    ORK_UNROLL
    for (int t = 0; t < vectors; t++) {
        const ork_v v = maximum ? acc[t] : ork_v_mul(acc[t], scale);
        if (masked) ork_v_store_masked(out + c0 + t * ORK_V_LANES, mask, v);
        else ork_v_store(out + c0 + t * ORK_V_LANES, v);
    }
}

ORK_INLINE ORK_V_TARGET void pool_rows(const int maximum, const ork_pool_args *args, size_t row_begin,
                                       size_t row_end) {
    const size_t channels = args->channels;
    const size_t output_stride = args->output_pixel_stride ? args->output_pixel_stride : channels;
    const size_t full = channels / ORK_V_LANES, tail = channels % ORK_V_LANES;
    const ork_v_mask all = ork_v_mask_all(), tail_mask = ork_v_mask_first(tail);
    for (size_t row = row_begin; row < row_end; row++) {
        const size_t image = row / args->output_h, oh = row % args->output_h;
        const float *input = args->input + image * args->input_h * args->input_w * channels;
        const ptrdiff_t ih0 = (ptrdiff_t)(oh * args->stride_h) - (ptrdiff_t)args->pad_top;
        pool_taps rows;
        axis_taps(ih0, args->kernel_h, args->dilation_h, args->input_h, args->pad_top, args->pad_bottom,
                  args->count_include_pad, &rows);
        for (size_t ow = 0; ow < args->output_w; ow++) {
            const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
            pool_taps columns;
            axis_taps(iw0, args->kernel_w, args->dilation_w, args->input_w, args->pad_left, args->pad_right,
                      args->count_include_pad, &columns);
            pool_window w;
            window(&rows, &columns, &w);
            float *out = args->output + (row * args->output_w + ow) * output_stride;
            size_t vector = 0;
            for (; vector + VECTORS <= full; vector += VECTORS)
                pool_vectors(maximum, VECTORS, 0, all, args, input, ih0, iw0, &w, vector * ORK_V_LANES, out);
            for (; vector < full; vector++)
                pool_vectors(maximum, 1, 0, all, args, input, ih0, iw0, &w, vector * ORK_V_LANES, out);
            if (tail) pool_vectors(maximum, 1, 1, tail_mask, args, input, ih0, iw0, &w, full * ORK_V_LANES, out);
        }
    }
}

ORK_V_TARGET void ORK_MAX_POOL_FUNCTION(const ork_pool_args *args, size_t row_begin, size_t row_end) {
    pool_rows(1, args, row_begin, row_end);
}

ORK_V_TARGET void ORK_AVERAGE_POOL_FUNCTION(const ork_pool_args *args, size_t row_begin, size_t row_end) {
    pool_rows(0, args, row_begin, row_end);
}

#undef VECTORS
