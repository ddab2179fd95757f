// int8 depthwise convolution NHWC for AVX2: 8 channels as int32 lanes, (x - x_zp) by vpmaddwd with the packed
// int16 weights, one pixel at a time over the taps inside the input.
#include "quantized_vector.h"
#include "depthwise_geometry.h"

#if ORK_X86

// Eight (or the last `count`) bytes widened to int32 minus the zero point; never reads past `count` bytes.
ORK_INLINE ORK_TARGET_AVX2 __m256i load_widened(const uint8_t *x, size_t count, __m256i zero_point) {
    uint64_t bytes = 0;
    if (count >= 8) memcpy(&bytes, x, 8);
    else memcpy(&bytes, x, count);
    return _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)bytes)), zero_point);
}

ORK_TARGET_AVX2 void ork_qdepthwise_avx2(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end) {
    const ork_depthwise_args geometry = ork_qdepthwise_geometry(args);
    const size_t channels = args->channels, tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    const size_t tile_words = ork_qdepthwise_tile_words(args->kernel_h * args->kernel_w);
    const __m256i zero_point = _mm256_set1_epi32(args->x_zero_point);
    const ork_qepilogue *e = &args->epilogue;
    ork_depthwise_row g;
    for (size_t row = row_begin; row < row_end; row++) {
        ork_depthwise_row_geometry(&geometry, row, &g);
        for (size_t ow = 0; ow < args->output_w; ow++) {
            ork_depthwise_pixel_geometry pixel;
            ork_depthwise_pixel(&geometry, ow, &pixel);
            const size_t out_offset = (g.output_row + ow) * channels;
            for (size_t tile = 0; tile < tiles; tile++) {
                const int32_t *words = (const int32_t *)args->packed_weights + tile * tile_words;
                const size_t channel0 = tile * ORK_TILE, count = ORK_MIN((size_t)ORK_TILE, channels - channel0);
                const size_t count1 = count > 8 ? count - 8 : 0;
                __m256i acc0 = _mm256_loadu_si256((const __m256i *)(words + ORK_TILE));
                __m256i acc1 = _mm256_loadu_si256((const __m256i *)(words + ORK_TILE + 8));
                for (size_t kh = g.kh_begin; kh < g.kh_end; kh++) {
                    const uint8_t *in_row = args->input + g.input_rows[kh - g.kh_begin] + channel0;
                    const int32_t *wk = words + ORK_QDEPTHWISE_HEADER + kh * args->kernel_w * ORK_TILE;
                    for (size_t kw = pixel.kw_begin; kw < pixel.kw_end; kw++) {
                        const uint8_t *x =
                            in_row + (size_t)(pixel.iw0 + (ptrdiff_t)(kw * args->dilation_w)) * channels;
                        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(wk + kw * ORK_TILE));
                        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(load_widened(x, count, zero_point), w0));
                        if (count1) {
                            const __m256i w1 = _mm256_loadu_si256((const __m256i *)(wk + kw * ORK_TILE + 8));
                            acc1 = _mm256_add_epi32(acc1,
                                                    _mm256_madd_epi16(load_widened(x + 8, count1, zero_point), w1));
                        }
                    }
                }
                const float *scale = (const float *)(words + 2 * ORK_TILE);
                const size_t offset = out_offset + channel0;
                if (args->output_int32) {
                    int32_t lanes[ORK_TILE];
                    _mm256_storeu_si256((__m256i *)lanes, acc0);
                    _mm256_storeu_si256((__m256i *)(lanes + 8), acc1);
                    memcpy(args->output_int32 + offset, lanes, count * sizeof(int32_t));
                    continue;
                }
                ork_qstore8(acc0, scale, e, e->residual ? e->residual + offset : NULL, args->output + offset,
                            ORK_MIN(count, (size_t)8));
                if (count1)
                    ork_qstore8(acc1, scale + 8, e, e->residual ? e->residual + offset + 8 : NULL,
                                args->output + offset + 8, count1);
            }
        }
    }
}

#endif
