// Depthwise convolution NHWC for AVX2 + FMA: 8 channels per vector, several output pixels per step, no bounds
// checks in the interior (valid kernel rows/columns precomputed).
#include "internal.h"
#include "depthwise_geometry.h"

#if ORK_X86
#include <immintrin.h>

#define MAX_PIXELS 8
#define VECTOR 8

static const int32_t mask_source[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// `pixels` consecutive output pixels of one 16-channel tile. Kernel columns [kw_begin, kw_end) of every pixel
// are inside the input; `constant_kernel_w` (0 = use kw_begin/kw_end) makes the tap loop unroll.
ORK_INLINE ORK_TARGET_AVX2 void block(const int pixels, const int constant_kernel_w, const int masked,
                                        __m256i mask, const ork_depthwise_row *g, const float *input,
                                        ptrdiff_t iw0, size_t kw_begin, size_t kw_end, size_t kernel_w,
                                        size_t pixel_step, size_t tap_step, const float *w, const float *residual,
                                        float *out, size_t channels, __m256 vmin, __m256 vmax) {
    __m256 acc[MAX_PIXELS];
    const __m256 bias = _mm256_loadu_ps(w);
    ORK_UNROLL
    for (int p = 0; p < pixels; p++) acc[p] = bias;
    if (constant_kernel_w) {
        kw_begin = 0;
        kw_end = (size_t)constant_kernel_w;
        kernel_w = (size_t)constant_kernel_w;
    }
    for (size_t kh = g->kh_begin; kh < g->kh_end; kh++) {
        const float *row = input + g->input_rows[kh - g->kh_begin] + iw0 * (ptrdiff_t)channels;
        const float *wk = w + ORK_TILE + kh * kernel_w * ORK_TILE;
        if (constant_kernel_w) {
            ORK_UNROLL
            for (int kw = 0; kw < constant_kernel_w; kw++) {
                const __m256 wv = _mm256_loadu_ps(wk + kw * ORK_TILE);
                ORK_UNROLL
                for (int p = 0; p < pixels; p++) {
                    const float *x = row + p * pixel_step + kw * tap_step;
                    const __m256 xv = masked ? _mm256_maskload_ps(x, mask) : _mm256_loadu_ps(x);
                    acc[p] = _mm256_fmadd_ps(xv, wv, acc[p]);
                }
            }
        } else {
            for (size_t kw = kw_begin; kw < kw_end; kw++) {
                const __m256 wv = _mm256_loadu_ps(wk + kw * ORK_TILE);
                ORK_UNROLL
                for (int p = 0; p < pixels; p++) {
                    const float *x = row + p * pixel_step + kw * tap_step;
                    const __m256 xv = masked ? _mm256_maskload_ps(x, mask) : _mm256_loadu_ps(x);
                    acc[p] = _mm256_fmadd_ps(xv, wv, acc[p]);
                }
            }
        }
    }
    ORK_UNROLL
    for (int p = 0; p < pixels; p++) {
        __m256 v = acc[p];
        if (residual) {
            const float *r = residual + p * channels;
            v = _mm256_add_ps(v, masked ? _mm256_maskload_ps(r, mask) : _mm256_loadu_ps(r));
        }
        v = _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
        if (masked) _mm256_maskstore_ps(out + p * channels, mask, v);
        else _mm256_storeu_ps(out + p * channels, v);
    }
}

// Every channel tile of `pixels` consecutive output pixels starting at ow.
ORK_INLINE ORK_TARGET_AVX2 void pixels_all_tiles(const int pixels, const int constant_kernel_w,
                                                   const ork_depthwise_args *args, const ork_depthwise_row *g,
                                                   size_t ow, ptrdiff_t iw0, size_t kw_begin, size_t kw_end,
                                                   __m256 vmin, __m256 vmax) {
    const size_t channels = args->channels;
    const size_t full_groups = channels / VECTOR, tail = channels % VECTOR;
    const size_t tile_stride = ORK_TILE * (1 + args->kernel_h * args->kernel_w);
    const size_t pixel_step = args->stride_w * channels, tap_step = args->dilation_w * channels;
    const size_t out_offset = (g->output_row + ow) * channels;
    const __m256i all = _mm256_set1_epi32(-1);
    // Groups of 8 channels: group i is half (i % 2) of packed tile i / 2.
    for (size_t group = 0; group < full_groups; group++) {
        const size_t c0 = group * VECTOR;
        block(pixels, constant_kernel_w, 0, all, g, args->input + c0, iw0, kw_begin, kw_end, args->kernel_w,
              pixel_step, tap_step, args->packed_weights + (group / 2) * tile_stride + (group % 2) * VECTOR,
              args->residual ? args->residual + out_offset + c0 : NULL, args->output + out_offset + c0, channels,
              vmin, vmax);
    }
    if (tail) {
        const size_t group = full_groups, c0 = group * VECTOR;
        const __m256i mask = _mm256_loadu_si256((const __m256i *)(mask_source + 8 - tail));
        block(pixels, constant_kernel_w, 1, mask, g, args->input + c0, iw0, kw_begin, kw_end, args->kernel_w,
              pixel_step, tap_step, args->packed_weights + (group / 2) * tile_stride + (group % 2) * VECTOR,
              args->residual ? args->residual + out_offset + c0 : NULL, args->output + out_offset + c0, channels,
              vmin, vmax);
    }
}

static ORK_TARGET_AVX2 void edge_pixel(const ork_depthwise_args *args, const ork_depthwise_row *g, size_t ow,
                                         __m256 vmin, __m256 vmax) {
    ork_depthwise_pixel_geometry p;
    ork_depthwise_pixel(args, ow, &p);
    pixels_all_tiles(1, 0, args, g, ow, p.iw0, p.kw_begin, p.kw_end, vmin, vmax);
}

// Interior pixels [begin, end): groups of MAX_PIXELS, then single pixels, with the kernel width constant.
ORK_INLINE ORK_TARGET_AVX2 void interior(const int constant_kernel_w, const ork_depthwise_args *args,
                                           const ork_depthwise_row *g, size_t begin, size_t end, __m256 vmin,
                                           __m256 vmax) {
    size_t ow = begin;
    const size_t kernel_w = args->kernel_w;
    for (; ow + MAX_PIXELS <= end; ow += MAX_PIXELS) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_tiles(MAX_PIXELS, constant_kernel_w, args, g, ow, iw0, 0, kernel_w, vmin, vmax);
    }
    for (; ow + 4 <= end; ow += 4) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_tiles(4, constant_kernel_w, args, g, ow, iw0, 0, kernel_w, vmin, vmax);
    }
    for (; ow < end; ow++) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_tiles(1, constant_kernel_w, args, g, ow, iw0, 0, kernel_w, vmin, vmax);
    }
}

ORK_TARGET_AVX2 void ork_depthwise_avx2(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    const __m256 vmin = _mm256_set1_ps(args->min), vmax = _mm256_set1_ps(args->max);
    size_t interior_begin, interior_end;
    ork_depthwise_interior_columns(args, &interior_begin, &interior_end);
    ork_depthwise_row g;
    for (size_t row = row_begin; row < row_end; row++) {
        ork_depthwise_row_geometry(args, row, &g);
        for (size_t ow = 0; ow < interior_begin; ow++) edge_pixel(args, &g, ow, vmin, vmax);
        switch (args->kernel_w) {
        case 3: interior(3, args, &g, interior_begin, interior_end, vmin, vmax); break;
        case 5: interior(5, args, &g, interior_begin, interior_end, vmin, vmax); break;
        default: interior(0, args, &g, interior_begin, interior_end, vmin, vmax); break;
        }
        for (size_t ow = interior_end; ow < args->output_w; ow++) edge_pixel(args, &g, ow, vmin, vmax);
    }
}

#endif
