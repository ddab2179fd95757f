// int8 global average pooling, QLinearAdd of two tensors and uint8 NCHW <-> NHWC transposes (memory-bound; C).
#include "quantized_internal.h"

void ork_qglobal_average_pool_nhwc(const uint8_t *input, size_t pixels, size_t channels, int32_t x_zero_point,
                                   float scale, int32_t y_zero_point, uint8_t *output, size_t image_begin,
                                   size_t image_end) {
    const ork_qepilogue store = {.zero_point = y_zero_point, .min = 0, .max = 255};
    const int32_t bias = -x_zero_point * (int32_t)pixels;
    for (size_t image = image_begin; image < image_end; image++) {
        const uint8_t *source = input + image * pixels * channels;
        for (size_t c0 = 0; c0 < channels; c0 += 256) {
            const size_t count = ORK_MIN((size_t)256, channels - c0);
            int32_t sum[256];
            for (size_t c = 0; c < count; c++) sum[c] = bias;
            for (size_t pixel = 0; pixel < pixels; pixel++)
                for (size_t c = 0; c < count; c++) sum[c] += source[pixel * channels + c0 + c];
            for (size_t c = 0; c < count; c++)
                output[image * channels + c0 + c] = (uint8_t)ork_requantize(sum[c], scale, &store);
        }
    }
}

void ork_qadd(const uint8_t *a, const uint8_t *b, uint8_t *output, float a_ratio, float b_ratio, float offset,
              int32_t min, int32_t max, size_t begin, size_t end) {
    // y = a with ratio a_ratio and the "residual" b: the same arithmetic as the fused store, A first.
    const ork_qepilogue add = {.residual_is_first = 0, .output_ratio = a_ratio, .residual_ratio = b_ratio,
                               .offset = offset, .sum_min = min, .sum_max = max};
    for (size_t i = begin; i < end; i++) output[i] = (uint8_t)ork_residual_add(a[i], b[i], &add);
}

// The planes of an image with few channels (a model's input: 1-4) interleaved pixel by pixel; `channels` is a
// constant after inlining, so each pixel is a few moves instead of a tile loop's bookkeeping.
ORK_INLINE void interleave_planes(const uint8_t *source, size_t channels, size_t pixels, uint8_t *destination) {
    for (size_t p = 0; p < pixels; p++)
        for (size_t c = 0; c < channels; c++) destination[p * channels + c] = source[c * pixels + p];
}

void ork_nchw_to_nhwc_u8(const uint8_t *input, size_t channels, size_t pixels, uint8_t *output, size_t image_begin,
                         size_t image_end) {
    for (size_t image = image_begin; image < image_end; image++) {
        const uint8_t *source = input + image * channels * pixels;
        uint8_t *destination = output + image * channels * pixels;
        switch (channels) {
        case 1: interleave_planes(source, 1, pixels, destination); continue;
        case 2: interleave_planes(source, 2, pixels, destination); continue;
        case 3: interleave_planes(source, 3, pixels, destination); continue;
        case 4: interleave_planes(source, 4, pixels, destination); continue;
        default: break;
        }
        for (size_t p0 = 0; p0 < pixels; p0 += 16) {
            const size_t p1 = ORK_MIN(pixels, p0 + 16);
            for (size_t c0 = 0; c0 < channels; c0 += 16) {
                const size_t c1 = ORK_MIN(channels, c0 + 16);
                for (size_t p = p0; p < p1; p++)
                    for (size_t c = c0; c < c1; c++) destination[p * channels + c] = source[c * pixels + p];
            }
        }
    }
}

void ork_nhwc_to_nchw_u8(const uint8_t *input, size_t channels, size_t pixels, uint8_t *output, size_t image_begin,
                         size_t image_end) {
    for (size_t image = image_begin; image < image_end; image++) {
        const uint8_t *source = input + image * channels * pixels;
        uint8_t *destination = output + image * channels * pixels;
        for (size_t c0 = 0; c0 < channels; c0 += 16) {
            const size_t c1 = ORK_MIN(channels, c0 + 16);
            for (size_t p0 = 0; p0 < pixels; p0 += 16) {
                const size_t p1 = ORK_MIN(pixels, p0 + 16);
                for (size_t c = c0; c < c1; c++)
                    for (size_t p = p0; p < p1; p++) destination[c * pixels + p] = source[p * channels + c];
            }
        }
    }
}
