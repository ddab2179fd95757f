// The NHWC depthwise convolution, written once in the vector vocabulary of vector_ops.h and compiled per ISA by
// depthwise_{portable,avx2,avx512}.c: ORK_V_LANES channels per vector, several output pixels per step, no bounds
// checks in the interior (valid kernel rows/columns precomputed by depthwise_geometry.h).
//
// Define ORK_DEPTHWISE_FUNCTION (the exported name) and include vector_ops.h first.
#include "depthwise_geometry.h"

#define MAX_PIXELS 8
#define MAX_VECTORS 4
// Widest kernel with a constant-width path (see `interior`).
#define MAX_KERNEL_W 5
// Vectors per outer step: 128 channels, measured best of 32, 64, 128 on Zen 4 (MobileNetV2 shapes).
#define VECTOR_GROUP (128 / ORK_V_LANES)
// Makes a pointer stepped by `channels` opaque to the optimizer: one add per step, where the optimizer would keep
// every pixel's offset of an unrolled block in a register of its own, spill them and reload one per load or store
// (measured 4-8 % faster on Zen 4, MobileNetV2 3x3 shapes). An empty asm, for any GCC/Clang target.
#define ORK_HIDE_POINTER(pointer) __asm__("" : "+r"(pointer))
// A packed tile (ORK_TILE channels) holds this many vectors.
#define VECTORS_PER_TILE (ORK_TILE / ORK_V_LANES)

// `pixels` consecutive output pixels of `vectors` adjacent channel vectors, the first being vector `first` of the
// packed weights (pixels * vectors independent accumulator chains keep the FMA pipes busy even for one pixel).
// Kernel columns [kw_begin, kw_end) of every pixel are inside the input; `constant_kernel_w` (0 = use
// kw_begin/kw_end) makes the tap loop unroll. `constant_stride` (0 = use pixel_step/tap_step; needs
// constant_kernel_w and dilation 1) loads each input column of a kernel row once for all the pixels and taps it
// serves, instead of once per tap: 10 loads instead of 24 for 8 pixels of a 3-wide kernel at stride 1, 17 at
// stride 2 (the FMAs per accumulator stay in the same order). `masked`: one tail vector.
ORK_INLINE ORK_V_TARGET void block(const int pixels, const int vectors, const int constant_kernel_w,
                                   const int constant_stride, const int masked, ork_v_mask mask,
                                   const ork_depthwise_row *g,
                                   const float *input, ptrdiff_t iw0, size_t kw_begin, size_t kw_end,
                                   size_t kernel_w, size_t pixel_step, size_t tap_step, const float *packed,
                                   size_t first, size_t tile_stride, const float *residual, float *out,
                                   size_t channels, ork_v vmin, ork_v vmax) {
    ork_v acc[MAX_VECTORS][MAX_PIXELS];
    const float *w[MAX_VECTORS];  // vector v's lanes within its packed tile: [bias][taps] at a stride of ORK_TILE
    ORK_UNROLL
    for (int t = 0; t < vectors; t++)
        w[t] = packed + ((first + t) / VECTORS_PER_TILE) * tile_stride + ((first + t) % VECTORS_PER_TILE) * ORK_V_LANES;
    ORK_UNROLL
    for (int t = 0; t < vectors; t++) {
        const ork_v bias = ork_v_load(w[t]);
        ORK_UNROLL
        for (int p = 0; p < pixels; p++) acc[t][p] = bias;
    }
    if (constant_kernel_w) {
        kw_begin = 0;
        kw_end = (size_t)constant_kernel_w;
        kernel_w = (size_t)constant_kernel_w;
    }
    for (size_t kh = g->kh_begin; kh < g->kh_end; kh++) {
        // An offset, not a pointer: for a border pixel iw0 < 0 and only columns kw >= kw_begin are in the input.
        const ptrdiff_t row = (ptrdiff_t)g->input_rows[kh - g->kh_begin] + iw0 * (ptrdiff_t)channels;
        const size_t wk = ORK_TILE + kh * kernel_w * ORK_TILE;
        // Written twice so the constant-width loop unrolls fully.
#define TAP(kw)                                                                                              \
    ORK_UNROLL                                                                                               \
    for (int t = 0; t < vectors; t++) {                                                                      \
        const ork_v wv = ork_v_load(w[t] + wk + (kw) * ORK_TILE);                                            \
        ORK_UNROLL                                                                                           \
        for (int p = 0; p < pixels; p++) {                                                                   \
            const ptrdiff_t offset = row + (ptrdiff_t)(p * pixel_step + (kw) * tap_step + t * ORK_V_LANES);  \
            const ork_v xv = masked ? ork_v_load_masked(mask, input + offset) : ork_v_load(input + offset);  \
            acc[t][p] = ork_v_fma(xv, wv, acc[t][p]);                                                        \
        }                                                                                                    \
    }
        if (constant_kernel_w && constant_stride) {
            // Column c of the window serves pixel p through tap c - p * stride.
            const int columns = (pixels - 1) * constant_stride + constant_kernel_w;
            ORK_UNROLL
            for (int t = 0; t < vectors; t++) {
                ork_v wv[MAX_KERNEL_W];
                ORK_UNROLL
                for (int kw = 0; kw < constant_kernel_w; kw++) wv[kw] = ork_v_load(w[t] + wk + kw * ORK_TILE);
                const float *column = input + row + t * ORK_V_LANES;
                ORK_UNROLL
                for (int c = 0; c < columns; c++) {
                    const ork_v xv = masked ? ork_v_load_masked(mask, column) : ork_v_load(column);
                    column += channels;
                    ORK_HIDE_POINTER(column);
                    ORK_UNROLL
                    for (int p = 0; p < pixels; p++) {
                        const int kw = c - p * constant_stride;
                        if (kw >= 0 && kw < constant_kernel_w) acc[t][p] = ork_v_fma(xv, wv[kw], acc[t][p]);
                    }
                }
            }
        } else if (constant_kernel_w) {
            ORK_UNROLL
            for (int kw = 0; kw < constant_kernel_w; kw++) { TAP(kw) }
        } else {
            for (size_t kw = kw_begin; kw < kw_end; kw++) { TAP(kw) }
        }
#undef TAP
    }
    // Pointers stepped a pixel at a time (ORK_HIDE_POINTER); the residual's test outside the unrolled loops.
    if (residual) {
        ORK_UNROLL
        for (int t = 0; t < vectors; t++) {
            const float *added = residual + t * ORK_V_LANES;
            ORK_UNROLL
            for (int p = 0; p < pixels; p++) {
                acc[t][p] = ork_v_add(acc[t][p], masked ? ork_v_load_masked(mask, added) : ork_v_load(added));
                added += channels;
                ORK_HIDE_POINTER(added);
            }
        }
    }
    ORK_UNROLL
    for (int t = 0; t < vectors; t++) {
        float *destination = out + t * ORK_V_LANES;
        ORK_UNROLL
        for (int p = 0; p < pixels; p++) {
            const ork_v v = ork_v_min(vmax, ork_v_max(vmin, acc[t][p]));
            if (masked) ork_v_store_masked(destination, mask, v);
            else ork_v_store(destination, v);
            destination += channels;
            ORK_HIDE_POINTER(destination);
        }
    }
}

// Channel vectors [vector_begin, vector_end) of `pixels` consecutive output pixels starting at ow, `vectors` at a
// time.
ORK_INLINE ORK_V_TARGET void pixels_all_vectors(const int pixels, const int vectors, const int constant_kernel_w,
                                                const int constant_stride, const ork_depthwise_args *args,
                                                const ork_depthwise_row *g,
                                                size_t vector_begin, size_t vector_end, size_t ow, ptrdiff_t iw0,
                                                size_t kw_begin, size_t kw_end, ork_v vmin, ork_v vmax) {
    const size_t channels = args->channels;
    const size_t full_vectors = channels / ORK_V_LANES, tail = channels % ORK_V_LANES;
    const size_t tile_stride = ORK_TILE * (1 + args->kernel_h * args->kernel_w);
    const size_t pixel_step = args->stride_w * channels, tap_step = args->dilation_w * channels;
    const size_t out_offset = (g->output_row + ow) * channels;
    const float *residual = args->residual ? args->residual + out_offset : NULL;
    float *out = args->output + out_offset;
    const ork_v_mask all = ork_v_mask_all();
    const size_t full_end = ORK_MIN(vector_end, full_vectors);
    size_t vector = vector_begin;
    for (; vector + vectors <= full_end; vector += vectors) {
        const size_t c0 = vector * ORK_V_LANES;
        block(pixels, vectors, constant_kernel_w, constant_stride, 0, all, g, args->input + c0, iw0, kw_begin,
              kw_end, args->kernel_w, pixel_step, tap_step, args->packed_weights, vector, tile_stride,
              residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    for (; vector < full_end; vector++) {
        const size_t c0 = vector * ORK_V_LANES;
        block(pixels, 1, constant_kernel_w, constant_stride, 0, all, g, args->input + c0, iw0, kw_begin, kw_end,
              args->kernel_w, pixel_step, tap_step, args->packed_weights, vector, tile_stride,
              residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    if (tail && vector_end > full_vectors) {
        const size_t c0 = full_vectors * ORK_V_LANES;
        block(pixels, 1, constant_kernel_w, constant_stride, 1, ork_v_mask_first(tail), g, args->input + c0, iw0,
              kw_begin, kw_end, args->kernel_w, pixel_step, tap_step, args->packed_weights, full_vectors, tile_stride,
              residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    // The activation over the pixels' channels just stored (still in L1).
    const size_t channel_begin = vector_begin * ORK_V_LANES, channel_end = ORK_MIN(vector_end * ORK_V_LANES, channels);
    if (channel_begin < channel_end)
        ork_activate_rows(ORK_V_ACTIVATION, &args->activation, out + channel_begin, (size_t)pixels,
                          channel_end - channel_begin, channels);
}

static ORK_V_TARGET void edge_pixel(const ork_depthwise_args *args, const ork_depthwise_row *g, size_t vector_begin,
                                    size_t vector_end, size_t ow, ork_v vmin, ork_v vmax) {
    ork_depthwise_pixel_geometry p;
    ork_depthwise_pixel(args, ow, &p);
    pixels_all_vectors(1, 4, 0, 0, args, g, vector_begin, vector_end, ow, p.iw0, p.kw_begin, p.kw_end, vmin, vmax);
}

// Interior pixels [begin, end): groups of MAX_PIXELS, then the rest in one block, with the kernel width (and
// the stride, when the dilation is 1) constant.
ORK_INLINE ORK_V_TARGET void interior(const int constant_kernel_w, const int constant_stride,
                                      const ork_depthwise_args *args,
                                      const ork_depthwise_row *g, size_t vector_begin, size_t vector_end,
                                      size_t begin, size_t end, ork_v vmin, ork_v vmax) {
    size_t ow = begin;
    const size_t kernel_w = args->kernel_w;
    for (; ow + MAX_PIXELS <= end; ow += MAX_PIXELS) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_vectors(MAX_PIXELS, 1, constant_kernel_w, constant_stride, args, g, vector_begin, vector_end, ow,
                           iw0, 0, kernel_w, vmin, vmax);
    }
    // The rest (1-7 pixels) in one block; fewer pixels take more channel vectors, for enough independent chains.
    if (ow < end) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
#define REST(PIXELS, VECTORS)                                                                                      \
    case PIXELS:                                                                                                   \
        pixels_all_vectors(PIXELS, VECTORS, constant_kernel_w, constant_stride, args, g, vector_begin, vector_end,    \
                           ow, iw0, 0, kernel_w, vmin, vmax);                                                      \
        break;
        switch (end - ow) {
            REST(7, 1) REST(6, 2) REST(5, 2) REST(4, 2) REST(3, 3) REST(2, 4) REST(1, 4)
        default: break;
        }
#undef REST
    }
}

// `interior` for one constant kernel width and stride. Not inlined: at -O0 (debug builds) all the inlined copies
// would share the driver's frame, 2 MB, over a pool worker's 1 MB stack; one call per output row costs nothing.
#define INTERIOR_VARIANT(KERNEL_W, STRIDE)                                                                         \
    static __attribute__((noinline)) ORK_V_TARGET void interior_##KERNEL_W##_##STRIDE(                            \
        const ork_depthwise_args *args, const ork_depthwise_row *g, size_t vector_begin, size_t vector_end,      \
        size_t begin, size_t end, ork_v vmin, ork_v vmax) {                                                       \
        interior(KERNEL_W, STRIDE, args, g, vector_begin, vector_end, begin, end, vmin, vmax);                    \
    }
INTERIOR_VARIANT(3, 1)
INTERIOR_VARIANT(3, 2)
INTERIOR_VARIANT(3, 0)
INTERIOR_VARIANT(5, 1)
INTERIOR_VARIANT(5, 2)
INTERIOR_VARIANT(5, 0)
INTERIOR_VARIANT(0, 0)
#undef INTERIOR_VARIANT

// Channel vectors go outermost, VECTOR_GROUP at a time: the input rows' lines of those channels stay in L1 while
// the rows below reuse them (each input row serves kernel_h output rows).
ORK_V_TARGET void ORK_DEPTHWISE_FUNCTION(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    if (row_begin >= row_end || args->channels == 0 || args->output_w == 0) return;
    const ork_v vmin = ork_v_set1(args->min), vmax = ork_v_set1(args->max);
    size_t interior_begin, interior_end;
    ork_depthwise_interior_columns(args, &interior_begin, &interior_end);
    const size_t vectors = (args->channels + ORK_V_LANES - 1) / ORK_V_LANES;
    ork_depthwise_row g;
    for (size_t vector_begin = 0; vector_begin < vectors; vector_begin += VECTOR_GROUP) {
        const size_t vector_end = ORK_MIN(vectors, vector_begin + VECTOR_GROUP);
        for (size_t row = row_begin; row < row_end; row++) {
            ork_depthwise_row_geometry(args, row, &g);
            for (size_t ow = 0; ow < interior_begin; ow++)
                edge_pixel(args, &g, vector_begin, vector_end, ow, vmin, vmax);
            const size_t stride = args->dilation_w == 1 ? args->stride_w : 0;
#define INTERIOR(KERNEL_W, STRIDE) \
    interior_##KERNEL_W##_##STRIDE(args, &g, vector_begin, vector_end, interior_begin, interior_end, vmin, vmax)
            if (args->kernel_w == 3 && stride == 1) INTERIOR(3, 1);
            else if (args->kernel_w == 3 && stride == 2) INTERIOR(3, 2);
            else if (args->kernel_w == 3) INTERIOR(3, 0);
            else if (args->kernel_w == 5 && stride == 1) INTERIOR(5, 1);
            else if (args->kernel_w == 5 && stride == 2) INTERIOR(5, 2);
            else if (args->kernel_w == 5) INTERIOR(5, 0);
            else INTERIOR(0, 0);
#undef INTERIOR
            for (size_t ow = interior_end; ow < args->output_w; ow++)
                edge_pixel(args, &g, vector_begin, vector_end, ow, vmin, vmax);
        }
    }
}

#undef MAX_PIXELS
#undef ORK_HIDE_POINTER
#undef MAX_VECTORS
#undef MAX_KERNEL_W
#undef VECTOR_GROUP
#undef VECTORS_PER_TILE
