// int8 depthwise convolution NHWC for AVX-512 BW: 16 channels as int32 lanes (bytes widened by vpmovzxbd),
// products by vpmaddwd; interior pixels of full rows skip the zero-point subtraction (it is in their bias).
#include "quantized_vector.h"
#include "depthwise_geometry.h"

#if ORK_X86

#define MAX_PIXELS 8

// `pixels` consecutive output pixels of one 16-channel tile. interior: every tap is inside the input, so the
// raw bytes are multiplied and the interior bias holds -x_zp * sum(w); otherwise x_zp is subtracted per tap and
// only taps [kw_begin, kw_end) x [g->kh_begin, g->kh_end) are visited.
ORK_INLINE ORK_TARGET_AVX512 void block(const int pixels, const int interior, const int constant_kernel_w,
                                        const ork_qdepthwise_args *args, const ork_depthwise_row *g, size_t ow,
                                        ptrdiff_t iw0, size_t kw_begin, size_t kw_end, const int32_t *words,
                                        size_t channel0, __mmask16 mask) {
    const size_t channels = args->channels, kernel_w = args->kernel_w;
    const size_t pixel_step = args->stride_w * channels, tap_step = args->dilation_w * channels;
    __m512i acc[MAX_PIXELS];
    const __m512i bias = _mm512_loadu_si512(words + (interior ? 0 : ORK_TILE));
    ORK_UNROLL
    for (int p = 0; p < pixels; p++) acc[p] = bias;
    const __m512i zero_point = _mm512_set1_epi32(args->x_zero_point);
    if (constant_kernel_w) {
        kw_begin = 0;
        kw_end = (size_t)constant_kernel_w;
    }
    for (size_t kh = g->kh_begin; kh < g->kh_end; kh++) {
        const ptrdiff_t row = (ptrdiff_t)g->input_rows[kh - g->kh_begin] + iw0 * (ptrdiff_t)channels +
                              (ptrdiff_t)channel0;
        const int32_t *wk = words + ORK_QDEPTHWISE_HEADER + kh * kernel_w * ORK_TILE;
#define TAP(kw)                                                                                                  \
    {                                                                                                            \
        const __m512i w = _mm512_loadu_si512(wk + (kw) * ORK_TILE);                                              \
        ORK_UNROLL                                                                                               \
        for (int p = 0; p < pixels; p++) {                                                                       \
            const uint8_t *x = args->input + row + (ptrdiff_t)(p * pixel_step + (kw) * tap_step);                \
            __m512i xv = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, x));                                    \
            if (!interior) xv = _mm512_sub_epi32(xv, zero_point);                                                \
            acc[p] = _mm512_add_epi32(acc[p], _mm512_madd_epi16(xv, w));                                         \
        }                                                                                                        \
    }
        if (constant_kernel_w) {
            ORK_UNROLL
            for (int kw = 0; kw < constant_kernel_w; kw++) TAP(kw)
        } else {
            for (size_t kw = kw_begin; kw < kw_end; kw++) TAP(kw)
        }
#undef TAP
    }
    const ork_qepilogue *e = &args->epilogue;
    const float *scale = (const float *)(words + 2 * ORK_TILE);
    ORK_UNROLL
    for (int p = 0; p < pixels; p++) {
        const size_t offset = (g->output_row + ow + (size_t)p) * channels + channel0;
        ork_qstore16(acc[p], scale, e, e->residual ? e->residual + offset : NULL, args->output + offset, mask);
    }
}

// All channel tiles of `pixels` pixels from ow.
ORK_INLINE ORK_TARGET_AVX512 void pixels_all_tiles(const int pixels, const int interior, const int constant_kernel_w,
                                                   const ork_qdepthwise_args *args, const ork_depthwise_row *g,
                                                   size_t ow, ptrdiff_t iw0, size_t kw_begin, size_t kw_end) {
    const size_t channels = args->channels, tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    const size_t tile_words = ork_qdepthwise_tile_words(args->kernel_h * args->kernel_w);
    for (size_t tile = 0; tile < tiles; tile++) {
        const size_t channel0 = tile * ORK_TILE, count = ORK_MIN((size_t)ORK_TILE, channels - channel0);
        const __mmask16 mask = count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1u);
        block(pixels, interior, constant_kernel_w, args, g, ow, iw0, kw_begin, kw_end,
              (const int32_t *)args->packed_weights + tile * tile_words, channel0, mask);
    }
}

ORK_INLINE ORK_TARGET_AVX512 void interior_pixels(const int constant_kernel_w, const ork_qdepthwise_args *args,
                                                  const ork_depthwise_row *g, size_t begin, size_t end) {
    size_t ow = begin;
    for (; ow + MAX_PIXELS <= end; ow += MAX_PIXELS) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_tiles(MAX_PIXELS, 1, constant_kernel_w, args, g, ow, iw0, 0, args->kernel_w);
    }
    for (; ow < end; ow++) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_tiles(1, 1, constant_kernel_w, args, g, ow, iw0, 0, args->kernel_w);
    }
}

ORK_TARGET_AVX512 void ork_qdepthwise_avx512(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end) {
    const ork_depthwise_args geometry = ork_qdepthwise_geometry(args);
    size_t interior_begin, interior_end;
    ork_depthwise_interior_columns(&geometry, &interior_begin, &interior_end);
    ork_depthwise_row g;
    for (size_t row = row_begin; row < row_end; row++) {
        ork_depthwise_row_geometry(&geometry, row, &g);
        const int full_rows = g.kh_begin == 0 && g.kh_end == args->kernel_h;
        const size_t begin = full_rows ? interior_begin : args->output_w, end = full_rows ? interior_end : args->output_w;
        for (size_t ow = 0; ow < args->output_w; ow++) {
            if (ow == begin && begin < end) {
                switch (args->kernel_w) {
                case 3: interior_pixels(3, args, &g, begin, end); break;
                case 5: interior_pixels(5, args, &g, begin, end); break;
                default: interior_pixels(0, args, &g, begin, end); break;
                }
                ow = end - 1;
                continue;
            }
            ork_depthwise_pixel_geometry p;
            ork_depthwise_pixel(&geometry, ow, &p);
            pixels_all_tiles(1, 0, 0, args, &g, ow, p.iw0, p.kw_begin, p.kw_end);
        }
    }
}

#endif
