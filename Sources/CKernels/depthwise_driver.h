// The NHWC depthwise convolution, written once in the vector vocabulary of vector_ops.h and compiled per ISA by
// depthwise_{portable,avx2,avx512}.c: ORK_V_LANES channels per vector, several output pixels per step, no bounds
// checks in the interior (valid kernel rows/columns precomputed by depthwise_geometry.h).
//
// Define ORK_DEPTHWISE_FUNCTION (the exported name) and include vector_ops.h first.
#include "depthwise_geometry.h"

#define MAX_PIXELS 8
#define MAX_VECTORS 4
#define MAX_ROWS 2
// Output rows at least this many interior pixels wide go in pairs at stride 2 (see `block`); MobileNetV2's
// 6-pixel interiors measured no faster in pairs.
#define PAIR_MIN_PIXELS MAX_PIXELS
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

// One input row of a constant-width, constant-stride window for one output row or a pair (see `block`): kernel row
// kh0 of the first output row when `first_row`, kh1 of the second when `second_row`. Each input column is loaded
// once for all the pixels and taps it serves: column c serves pixel p through tap c - p * stride. `row`: the row's
// first column of the pixels' windows, first channel.
ORK_INLINE ORK_V_TARGET void input_row(const int first_row, const int second_row, const int pixels,
                                            const int vectors, const int kernel_w, const int stride, const int masked,
                                            ork_v_mask mask, const float *row, const float *const *w, size_t kh0,
                                            size_t kh1, size_t channels, ork_v acc[MAX_ROWS][MAX_VECTORS][MAX_PIXELS]) {
    const int columns = (pixels - 1) * stride + kernel_w;
    ORK_UNROLL
    for (int t = 0; t < vectors; t++) {
        ork_v w0[MAX_KERNEL_W], w1[MAX_KERNEL_W];
        ORK_UNROLL
        for (int kw = 0; kw < kernel_w; kw++) {
            if (first_row) w0[kw] = ork_v_load(w[t] + ORK_TILE + (kh0 * (size_t)kernel_w + (size_t)kw) * ORK_TILE);
            if (second_row) w1[kw] = ork_v_load(w[t] + ORK_TILE + (kh1 * (size_t)kernel_w + (size_t)kw) * ORK_TILE);
        }
        const float *column = row + t * ORK_V_LANES;
        ORK_UNROLL
        for (int c = 0; c < columns; c++) {
            const ork_v xv = masked ? ork_v_load_masked(mask, column) : ork_v_load(column);
            column += channels;
            ORK_HIDE_POINTER(column);
            ORK_UNROLL
            for (int p = 0; p < pixels; p++) {
                const int kw = c - p * stride;
                if (kw < 0 || kw >= kernel_w) continue;
                if (first_row) acc[0][t][p] = ork_v_fma(xv, w0[kw], acc[0][t][p]);
                if (second_row) acc[1][t][p] = ork_v_fma(xv, w1[kw], acc[1][t][p]);
            }
        }
    }
}

// `pixels` consecutive output pixels of `vectors` adjacent channel vectors, the first being vector `first` of the
// packed weights (pixels * vectors independent accumulator chains keep the FMA pipes busy even for one pixel), in
// `rows` output rows (1, or 2: see `paired_rows`).
// Kernel columns [kw_begin, kw_end) of every pixel are inside the input; `constant_kernel_w` (0 = use
// kw_begin/kw_end) makes the tap loop unroll. `constant_stride` (0 = use pixel_step/tap_step; needs
// constant_kernel_w and dilation 1) loads each input column of a kernel row once for all the pixels and taps it
// serves, instead of once per tap: 10 loads instead of 24 for 8 pixels of a 3-wide kernel at stride 1, 17 at
// stride 2 (the FMAs per accumulator stay in the same order). `masked`: one tail vector.
// Two rows (constant stride and a square kernel wholly inside the input for both: rows `g` and `g2`, the next one)
// go down the kernel_h + stride input rows of the pair once: the rows between serve both output rows, so a 3x3
// stride-2 pair loads 5 input rows instead of 6 (85 input vectors for 16 outputs instead of 102).
// `output_row_stride`: floats from an output (and residual) row to the next.
ORK_INLINE ORK_V_TARGET void block(const int rows, const int pixels, const int vectors, const int constant_kernel_w,
                                   const int constant_stride, const int masked, ork_v_mask mask,
                                   const ork_depthwise_row *g, const ork_depthwise_row *g2,
                                   size_t output_row_stride, const float *input, ptrdiff_t iw0, size_t kw_begin,
                                   size_t kw_end,
                                   size_t kernel_w, size_t pixel_step, size_t tap_step, const float *packed,
                                   size_t first, size_t tile_stride, const float *residual, float *out,
                                   size_t channels, ork_v vmin, ork_v vmax) {
    ork_v acc[MAX_ROWS][MAX_VECTORS][MAX_PIXELS];
    const float *w[MAX_VECTORS];  // vector v's lanes within its packed tile: [bias][taps] at a stride of ORK_TILE
    ORK_UNROLL
    for (int t = 0; t < vectors; t++)
        w[t] = packed + ((first + t) / VECTORS_PER_TILE) * tile_stride + ((first + t) % VECTORS_PER_TILE) * ORK_V_LANES;
    ORK_UNROLL
    for (int t = 0; t < vectors; t++) {
        const ork_v bias = ork_v_load(w[t]);
        ORK_UNROLL
        for (int q = 0; q < rows; q++) {
            ORK_UNROLL
            for (int p = 0; p < pixels; p++) acc[q][t][p] = bias;
        }
    }
    if (constant_kernel_w) {
        kw_begin = 0;
        kw_end = (size_t)constant_kernel_w;
        kernel_w = (size_t)constant_kernel_w;
    }
    if (rows == 2) {
        // Input row r of the pair serves the first output row through kernel row r (r < kernel_h) and the second
        // through r - stride (r >= stride). The loop bounds are hidden from the optimizer: unrolled into one block,
        // the rows' loads were scheduled far ahead and spilled.
        const size_t stride = (size_t)constant_stride, kernel_h = (size_t)constant_kernel_w;
        size_t first_only_end = stride, both_end = kernel_h;
        ORK_HIDE_POINTER(first_only_end);
        ORK_HIDE_POINTER(both_end);
#define PAIR_ROW(FIRST, SECOND, KH0, KH1)                                                                           \
    input_row(FIRST, SECOND, pixels, vectors, constant_kernel_w, constant_stride, masked, mask,                \
                   input + (ptrdiff_t)(r < stride ? g->input_rows[r] : g2->input_rows[r - stride])                  \
                       + iw0 * (ptrdiff_t)channels,                                                                 \
                   w, KH0, KH1, channels, acc);
        size_t r = 0;
        for (; r < first_only_end; r++) PAIR_ROW(1, 0, r, 0)
        for (; r < both_end; r++) PAIR_ROW(1, 1, r, r - stride)
        for (; r < kernel_h + stride; r++) PAIR_ROW(0, 1, 0, r - stride)
#undef PAIR_ROW
    } else {
        for (size_t kh = g->kh_begin; kh < g->kh_end; kh++) {
            // An offset, not a pointer: for a border pixel iw0 < 0 and only columns kw >= kw_begin are in the input.
            const ptrdiff_t row = (ptrdiff_t)g->input_rows[kh - g->kh_begin] + iw0 * (ptrdiff_t)channels;
            const size_t wk = ORK_TILE + kh * kernel_w * ORK_TILE;
            // Written twice so the constant-width loop unrolls fully.
#define TAP(kw)                                                                                                  \
        ORK_UNROLL                                                                                                   \
        for (int t = 0; t < vectors; t++) {                                                                          \
            const ork_v wv = ork_v_load(w[t] + wk + (kw) * ORK_TILE);                                                \
            ORK_UNROLL                                                                                               \
            for (int p = 0; p < pixels; p++) {                                                                       \
                const ptrdiff_t offset = row + (ptrdiff_t)(p * pixel_step + (kw) * tap_step + t * ORK_V_LANES);      \
                const ork_v xv = masked ? ork_v_load_masked(mask, input + offset) : ork_v_load(input + offset);      \
                acc[0][t][p] = ork_v_fma(xv, wv, acc[0][t][p]);                                                      \
            }                                                                                                        \
        }
            if (constant_kernel_w && constant_stride) {
                input_row(1, 0, pixels, vectors, constant_kernel_w, constant_stride, masked, mask, input + row, w, kh,
                          0, channels, acc);
            } else if (constant_kernel_w) {
                ORK_UNROLL
                for (int kw = 0; kw < constant_kernel_w; kw++) { TAP(kw) }
            } else {
                for (size_t kw = kw_begin; kw < kw_end; kw++) { TAP(kw) }
            }
#undef TAP
        }
    }
    // Pointers stepped a pixel at a time (ORK_HIDE_POINTER); the residual's test outside the unrolled loops.
    ORK_UNROLL
    for (int q = 0; q < rows; q++) {
        if (residual) {
            ORK_UNROLL
            for (int t = 0; t < vectors; t++) {
                const float *added = residual + q * output_row_stride + t * ORK_V_LANES;
                ORK_UNROLL
                for (int p = 0; p < pixels; p++) {
                    acc[q][t][p] = ork_v_add(acc[q][t][p],
                                             masked ? ork_v_load_masked(mask, added) : ork_v_load(added));
                    added += channels;
                    ORK_HIDE_POINTER(added);
                }
            }
        }
        ORK_UNROLL
        for (int t = 0; t < vectors; t++) {
            float *destination = out + q * output_row_stride + t * ORK_V_LANES;
            ORK_UNROLL
            for (int p = 0; p < pixels; p++) {
                const ork_v v = ork_v_min(vmax, ork_v_max(vmin, acc[q][t][p]));
                if (masked) ork_v_store_masked(destination, mask, v);
                else ork_v_store(destination, v);
                destination += channels;
                ORK_HIDE_POINTER(destination);
            }
        }
    }
}

// Channel vectors [vector_begin, vector_end) of `pixels` consecutive output pixels starting at ow, `vectors` at a
// time, in `rows` output rows (the second one's geometry `g2`).
ORK_INLINE ORK_V_TARGET void pixels_all_vectors(const int rows, const int pixels, const int vectors,
                                                const int constant_kernel_w, const int constant_stride,
                                                const ork_depthwise_args *args, const ork_depthwise_row *g,
                                                const ork_depthwise_row *g2,
                                                size_t vector_begin, size_t vector_end, size_t ow, ptrdiff_t iw0,
                                                size_t kw_begin, size_t kw_end, ork_v vmin, ork_v vmax) {
    const size_t channels = args->channels;
    const size_t full_vectors = channels / ORK_V_LANES, tail = channels % ORK_V_LANES;
    const size_t tile_stride = ORK_TILE * (1 + args->kernel_h * args->kernel_w);
    const size_t pixel_step = args->stride_w * channels, tap_step = args->dilation_w * channels;
    const size_t out_offset = (g->output_row + ow) * channels, row_stride = args->output_w * channels;
    const float *residual = args->residual ? args->residual + out_offset : NULL;
    float *out = args->output + out_offset;
    const ork_v_mask all = ork_v_mask_all();
    const size_t full_end = ORK_MIN(vector_end, full_vectors);
    size_t vector = vector_begin;
    for (; vector + vectors <= full_end; vector += vectors) {
        const size_t c0 = vector * ORK_V_LANES;
        block(rows, pixels, vectors, constant_kernel_w, constant_stride, 0, all, g, g2, row_stride,
              args->input + c0, iw0, kw_begin,
              kw_end, args->kernel_w, pixel_step, tap_step, args->packed_weights, vector, tile_stride,
              residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    for (; vector < full_end; vector++) {
        const size_t c0 = vector * ORK_V_LANES;
        block(rows, pixels, 1, constant_kernel_w, constant_stride, 0, all, g, g2, row_stride,
              args->input + c0, iw0, kw_begin, kw_end,
              args->kernel_w, pixel_step, tap_step, args->packed_weights, vector, tile_stride,
              residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    if (tail && vector_end > full_vectors) {
        const size_t c0 = full_vectors * ORK_V_LANES;
        block(rows, pixels, 1, constant_kernel_w, constant_stride, 1, ork_v_mask_first(tail), g, g2, row_stride,
              args->input + c0, iw0,
              kw_begin, kw_end, args->kernel_w, pixel_step, tap_step, args->packed_weights, full_vectors, tile_stride,
              residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    // The activation over the pixels' channels just stored (still in L1).
    const size_t channel_begin = vector_begin * ORK_V_LANES, channel_end = ORK_MIN(vector_end * ORK_V_LANES, channels);
    if (channel_begin < channel_end)
        for (int q = 0; q < rows; q++)
            ork_activate_rows(ORK_V_ACTIVATION, &args->activation, out + q * row_stride + channel_begin,
                              (size_t)pixels, channel_end - channel_begin, channels);
}

static ORK_V_TARGET void edge_pixel(const ork_depthwise_args *args, const ork_depthwise_row *g, size_t vector_begin,
                                    size_t vector_end, size_t ow, ork_v vmin, ork_v vmax) {
    ork_depthwise_pixel_geometry p;
    ork_depthwise_pixel(args, ow, &p);
    pixels_all_vectors(1, 1, 4, 0, 0, args, g, g, vector_begin, vector_end, ow, p.iw0, p.kw_begin, p.kw_end, vmin,
                       vmax);
}

// Interior pixels [begin, end) of `rows` output rows: groups of MAX_PIXELS, then the rest in one block, with the
// kernel width (and the stride, when the dilation is 1) constant.
ORK_INLINE ORK_V_TARGET void interior(const int rows, const int constant_kernel_w, const int constant_stride,
                                      const ork_depthwise_args *args, const ork_depthwise_row *g,
                                      const ork_depthwise_row *g2, size_t vector_begin, size_t vector_end,
                                      size_t begin, size_t end, ork_v vmin, ork_v vmax) {
    size_t ow = begin;
    const size_t kernel_w = args->kernel_w;
    for (; ow + MAX_PIXELS <= end; ow += MAX_PIXELS) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_vectors(rows, MAX_PIXELS, 1, constant_kernel_w, constant_stride, args, g, g2, vector_begin,
                           vector_end, ow, iw0, 0, kernel_w, vmin, vmax);
    }
    // The rest (1-7 pixels) in one block; fewer pixels take more channel vectors, for enough independent chains
    // (a pair of rows has twice as many already).
    if (ow < end) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
#define REST(PIXELS, VECTORS, PAIR_VECTORS)                                                                        \
    case PIXELS:                                                                                                   \
        pixels_all_vectors(rows, PIXELS, rows == 2 ? PAIR_VECTORS : VECTORS, constant_kernel_w, constant_stride,     \
                           args, g, g2, vector_begin, vector_end, ow, iw0, 0, kernel_w, vmin, vmax);               \
        break;
        switch (end - ow) {
            REST(7, 1, 1) REST(6, 2, 1) REST(5, 2, 1) REST(4, 2, 2) REST(3, 3, 2) REST(2, 4, 3) REST(1, 4, 4)
        default: break;
        }
#undef REST
    }
}

// `interior` for one constant kernel width and stride (and with PAIR, two rows). Not inlined: at -O0 (debug
// builds) all the inlined copies would share the driver's frame, 2 MB, over a pool worker's 1 MB stack; one call
// per output row costs nothing.
#define INTERIOR_VARIANT(ROWS, KERNEL_W, STRIDE, NAME)                                                             \
    static __attribute__((noinline)) ORK_V_TARGET void NAME(                                                      \
        const ork_depthwise_args *args, const ork_depthwise_row *g, const ork_depthwise_row *g2,                 \
        size_t vector_begin, size_t vector_end, size_t begin, size_t end, ork_v vmin, ork_v vmax) {              \
        interior(ROWS, KERNEL_W, STRIDE, args, g, g2, vector_begin, vector_end, begin, end, vmin, vmax);          \
    }
INTERIOR_VARIANT(1, 3, 1, interior_3_1)
INTERIOR_VARIANT(1, 3, 2, interior_3_2)
INTERIOR_VARIANT(1, 3, 0, interior_3_0)
INTERIOR_VARIANT(1, 5, 1, interior_5_1)
INTERIOR_VARIANT(1, 5, 2, interior_5_2)
INTERIOR_VARIANT(1, 5, 0, interior_5_0)
INTERIOR_VARIANT(1, 0, 0, interior_0_0)
INTERIOR_VARIANT(2, 3, 2, interior_3_2_pair)
INTERIOR_VARIANT(2, 5, 2, interior_5_2_pair)
#undef INTERIOR_VARIANT

// Whether output rows `row` and `row + 1` (geometries g, g2) go through a stride-2 pair variant: square 3x3 and 5x5
// kernels, dilation 1, both rows of one image with every kernel row inside the input.
static inline int paired_rows(const ork_depthwise_args *args, size_t row, const ork_depthwise_row *g,
                              const ork_depthwise_row *g2) {
    return args->stride_h == 2 && args->stride_w == 2 && args->dilation_h == 1 && args->dilation_w == 1
           && args->kernel_h == args->kernel_w && (args->kernel_w == 3 || args->kernel_w == 5)
           && (row + 1) % args->output_h != 0 && g->kh_begin == 0 && g->kh_end == args->kernel_h
           && g2->kh_begin == 0 && g2->kh_end == args->kernel_h;
}

// Channel vectors go outermost, VECTOR_GROUP at a time: the input rows' lines of those channels stay in L1 while
// the rows below reuse them (each input row serves kernel_h output rows).
ORK_V_TARGET void ORK_DEPTHWISE_FUNCTION(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    if (row_begin >= row_end || args->channels == 0 || args->output_w == 0) return;
    const ork_v vmin = ork_v_set1(args->min), vmax = ork_v_set1(args->max);
    size_t interior_begin, interior_end;
    ork_depthwise_interior_columns(args, &interior_begin, &interior_end);
    const size_t vectors = (args->channels + ORK_V_LANES - 1) / ORK_V_LANES;
    ork_depthwise_row rows[MAX_ROWS];
    for (size_t vector_begin = 0; vector_begin < vectors; vector_begin += VECTOR_GROUP) {
        const size_t vector_end = ORK_MIN(vectors, vector_begin + VECTOR_GROUP);
        for (size_t row = row_begin; row < row_end;) {
            const ork_depthwise_row *g = &rows[0], *g2 = &rows[1];
            ork_depthwise_row_geometry(args, row, &rows[0]);
            size_t count = 1;
            if (row + 1 < row_end && args->stride_h == 2 && interior_end - interior_begin >= PAIR_MIN_PIXELS) {
                ork_depthwise_row_geometry(args, row + 1, &rows[1]);
                if (paired_rows(args, row, g, g2)) count = 2;
            }
            for (size_t q = 0; q < count; q++)
                for (size_t ow = 0; ow < interior_begin; ow++)
                    edge_pixel(args, &rows[q], vector_begin, vector_end, ow, vmin, vmax);
            const size_t stride = args->dilation_w == 1 ? args->stride_w : 0;
#define INTERIOR(NAME) NAME(args, g, g2, vector_begin, vector_end, interior_begin, interior_end, vmin, vmax)
            if (count == 2 && args->kernel_w == 3) INTERIOR(interior_3_2_pair);
            else if (count == 2) INTERIOR(interior_5_2_pair);
            else if (args->kernel_w == 3 && stride == 1) INTERIOR(interior_3_1);
            else if (args->kernel_w == 3 && stride == 2) INTERIOR(interior_3_2);
            else if (args->kernel_w == 3) INTERIOR(interior_3_0);
            else if (args->kernel_w == 5 && stride == 1) INTERIOR(interior_5_1);
            else if (args->kernel_w == 5 && stride == 2) INTERIOR(interior_5_2);
            else if (args->kernel_w == 5) INTERIOR(interior_5_0);
            else INTERIOR(interior_0_0);
#undef INTERIOR
            for (size_t q = 0; q < count; q++)
                for (size_t ow = interior_end; ow < args->output_w; ow++)
                    edge_pixel(args, &rows[q], vector_begin, vector_end, ow, vmin, vmax);
            row += count;
        }
    }
}

#undef MAX_PIXELS
#undef ORK_HIDE_POINTER
#undef MAX_VECTORS
#undef MAX_ROWS
#undef PAIR_MIN_PIXELS
#undef MAX_KERNEL_W
#undef VECTOR_GROUP
#undef VECTORS_PER_TILE
