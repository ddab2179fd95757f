// Depthwise convolution NHWC for AVX-512: 16 channels per vector, several output pixels per step, no bounds
// checks in the interior (valid kernel rows/columns precomputed).
#include "internal.h"
#include "depthwise_geometry.h"

#if ORK_X86
#include <immintrin.h>

#define MAX_PIXELS 8
#define MAX_TILES 4
// Channel tiles per outer step (128 channels): measured best of 2, 4, 8 on Zen 4 (MobileNetV2 shapes).
#define TILE_GROUP 8

// `pixels` consecutive output pixels of `tiles` adjacent 16-channel tiles (pixels * tiles independent accumulator
// chains keep the FMA pipes busy even for one pixel). Kernel columns [kw_begin, kw_end) of every pixel are inside
// the input; `constant_kernel_w` (0 = use kw_begin/kw_end) makes the tap loop unroll. `masked`: one tail tile.
ORK_INLINE ORK_TARGET_AVX512 void block(const int pixels, const int tiles, const int constant_kernel_w,
                                        const int masked, __mmask16 mask, const ork_depthwise_row *g,
                                        const float *input, ptrdiff_t iw0, size_t kw_begin, size_t kw_end,
                                        size_t kernel_w, size_t pixel_step, size_t tap_step, const float *w,
                                        size_t tile_stride, const float *residual, float *out, size_t channels,
                                        __m512 vmin, __m512 vmax) {
    __m512 acc[MAX_TILES][MAX_PIXELS];
    ORK_UNROLL
    for (int t = 0; t < tiles; t++) {
        const __m512 bias = _mm512_loadu_ps(w + t * tile_stride);
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
        const float *wk = w + ORK_TILE + kh * kernel_w * ORK_TILE;
        // Written twice so the constant-width loop unrolls fully.
#define TAP(kw)                                                                                          \
    ORK_UNROLL                                                                                           \
    for (int t = 0; t < tiles; t++) {                                                                    \
        const __m512 wv = _mm512_loadu_ps(wk + t * tile_stride + (kw) * ORK_TILE);                       \
        ORK_UNROLL                                                                                       \
        for (int p = 0; p < pixels; p++) {                                                               \
            const ptrdiff_t offset = row + (ptrdiff_t)(p * pixel_step + (kw) * tap_step + t * ORK_TILE); \
            const __m512 xv = masked ? _mm512_maskz_loadu_ps(mask, input + offset)                       \
                              : _mm512_loadu_ps(input + offset);                                         \
            acc[t][p] = _mm512_fmadd_ps(xv, wv, acc[t][p]);                                              \
        }                                                                                                \
    }
        if (constant_kernel_w) {
            ORK_UNROLL
            for (int kw = 0; kw < constant_kernel_w; kw++) { TAP(kw) }
        } else {
            for (size_t kw = kw_begin; kw < kw_end; kw++) { TAP(kw) }
        }
#undef TAP
    }
    ORK_UNROLL
    for (int t = 0; t < tiles; t++) {
        ORK_UNROLL
        for (int p = 0; p < pixels; p++) {
            __m512 v = acc[t][p];
            const size_t offset = p * channels + t * ORK_TILE;
            if (residual) v = _mm512_add_ps(v, masked ? _mm512_maskz_loadu_ps(mask, residual + offset)
                                                      : _mm512_loadu_ps(residual + offset));
            v = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v));
            if (masked) _mm512_mask_storeu_ps(out + offset, mask, v);
            else _mm512_storeu_ps(out + offset, v);
        }
    }
}

// Every channel tile of `pixels` consecutive output pixels starting at ow, `tiles` tiles at a time.
ORK_INLINE ORK_TARGET_AVX512 void pixels_all_tiles(const int pixels, const int tiles, const int constant_kernel_w,
                                                   const ork_depthwise_args *args, const ork_depthwise_row *g,
                                                   size_t tile_begin, size_t tile_end, size_t ow, ptrdiff_t iw0,
                                                   size_t kw_begin, size_t kw_end, __m512 vmin, __m512 vmax) {
    const size_t channels = args->channels;
    const size_t full_tiles = channels / ORK_TILE, tail = channels % ORK_TILE;
    const size_t tile_stride = ORK_TILE * (1 + args->kernel_h * args->kernel_w);
    const size_t pixel_step = args->stride_w * channels, tap_step = args->dilation_w * channels;
    const size_t out_offset = (g->output_row + ow) * channels;
    const float *residual = args->residual ? args->residual + out_offset : NULL;
    float *out = args->output + out_offset;
    const size_t full_end = ORK_MIN(tile_end, full_tiles);
    size_t tile = tile_begin;
    for (; tile + tiles <= full_end; tile += tiles) {
        const size_t c0 = tile * ORK_TILE;
        block(pixels, tiles, constant_kernel_w, 0, 0xFFFF, g, args->input + c0, iw0, kw_begin, kw_end,
              args->kernel_w, pixel_step, tap_step, args->packed_weights + tile * tile_stride, tile_stride,
              residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    for (; tile < full_end; tile++) {
        const size_t c0 = tile * ORK_TILE;
        block(pixels, 1, constant_kernel_w, 0, 0xFFFF, g, args->input + c0, iw0, kw_begin, kw_end, args->kernel_w,
              pixel_step, tap_step, args->packed_weights + tile * tile_stride, tile_stride,
              residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    if (tail && tile_end > full_tiles) {
        const size_t c0 = full_tiles * ORK_TILE;
        block(pixels, 1, constant_kernel_w, 1, (__mmask16)((1u << tail) - 1u), g, args->input + c0, iw0, kw_begin,
              kw_end, args->kernel_w, pixel_step, tap_step, args->packed_weights + full_tiles * tile_stride,
              tile_stride, residual ? residual + c0 : NULL, out + c0, channels, vmin, vmax);
    }
    const size_t channel_begin = tile_begin * ORK_TILE, channel_end = ORK_MIN(tile_end * ORK_TILE, channels);
    if (channel_begin < channel_end)
        ork_activate_rows(ork_activation_apply_avx512, &args->activation, out + channel_begin, (size_t)pixels,
                          channel_end - channel_begin, channels);
}

static ORK_TARGET_AVX512 void edge_pixel(const ork_depthwise_args *args, const ork_depthwise_row *g,
                                         size_t tile_begin, size_t tile_end, size_t ow, __m512 vmin, __m512 vmax) {
    ork_depthwise_pixel_geometry p;
    ork_depthwise_pixel(args, ow, &p);
    pixels_all_tiles(1, 4, 0, args, g, tile_begin, tile_end, ow, p.iw0, p.kw_begin, p.kw_end, vmin, vmax);
}

// Interior pixels [begin, end): groups of MAX_PIXELS, then the rest in one block, with the kernel width constant.
ORK_INLINE ORK_TARGET_AVX512 void interior(const int constant_kernel_w, const ork_depthwise_args *args,
                                           const ork_depthwise_row *g, size_t tile_begin, size_t tile_end,
                                           size_t begin, size_t end, __m512 vmin, __m512 vmax) {
    size_t ow = begin;
    const size_t kernel_w = args->kernel_w;
    for (; ow + MAX_PIXELS <= end; ow += MAX_PIXELS) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_tiles(MAX_PIXELS, 1, constant_kernel_w, args, g, tile_begin, tile_end, ow, iw0, 0, kernel_w,
                         vmin, vmax);
    }
    // The rest (1-7 pixels) in one block; fewer pixels take more channel tiles, for enough independent chains.
    if (ow < end) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
#define REST(PIXELS, TILES)                                                                                       \
    case PIXELS:                                                                                                  \
        pixels_all_tiles(PIXELS, TILES, constant_kernel_w, args, g, tile_begin, tile_end, ow, iw0, 0, kernel_w,   \
                         vmin, vmax);                                                                             \
        break;
        switch (end - ow) {
            REST(7, 1) REST(6, 2) REST(5, 2) REST(4, 2) REST(3, 3) REST(2, 4) REST(1, 4)
        default: break;
        }
#undef REST
    }
}

// Channel tiles go outermost, TILE_GROUP at a time: the input rows' lines of those channels stay in L1 while the
// rows below reuse them (each input row serves kernel_h output rows).
ORK_TARGET_AVX512 void ork_depthwise_avx512(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    const __m512 vmin = _mm512_set1_ps(args->min), vmax = _mm512_set1_ps(args->max);
    size_t interior_begin, interior_end;
    ork_depthwise_interior_columns(args, &interior_begin, &interior_end);
    const size_t tiles = (args->channels + ORK_TILE - 1) / ORK_TILE;
    ork_depthwise_row g;
    for (size_t tile_begin = 0; tile_begin < tiles; tile_begin += TILE_GROUP) {
        const size_t tile_end = ORK_MIN(tiles, tile_begin + TILE_GROUP);
        for (size_t row = row_begin; row < row_end; row++) {
            ork_depthwise_row_geometry(args, row, &g);
            for (size_t ow = 0; ow < interior_begin; ow++) edge_pixel(args, &g, tile_begin, tile_end, ow, vmin, vmax);
            switch (args->kernel_w) {
            case 3: interior(3, args, &g, tile_begin, tile_end, interior_begin, interior_end, vmin, vmax); break;
            case 5: interior(5, args, &g, tile_begin, tile_end, interior_begin, interior_end, vmin, vmax); break;
            default: interior(0, args, &g, tile_begin, tile_end, interior_begin, interior_end, vmin, vmax); break;
            }
            for (size_t ow = interior_end; ow < args->output_w; ow++)
                edge_pixel(args, &g, tile_begin, tile_end, ow, vmin, vmax);
        }
    }
}

#endif
