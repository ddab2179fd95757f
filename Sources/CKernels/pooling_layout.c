// Global average pooling, elementwise add + clamp, and NCHW <-> NHWC transposes (memory-bound; plain C).
#include "internal.h"

void ork_global_average_pool_nhwc(const float *input, size_t pixels, size_t channels, float *output,
                                  size_t image_begin, size_t image_end) {
    const float scale = pixels ? 1.0f / (float)pixels : 0.0f;
    for (size_t image = image_begin; image < image_end; image++) {
        float *sum = output + image * channels;
        const float *source = input + image * pixels * channels;
        for (size_t c = 0; c < channels; c++) sum[c] = 0.0f;
        for (size_t pixel = 0; pixel < pixels; pixel++, source += channels) {
            for (size_t c = 0; c < channels; c++) sum[c] += source[c];
        }
        for (size_t c = 0; c < channels; c++) sum[c] *= scale;
    }
}

void ork_add_clamp(const float *a, const float *b, float *output, float min, float max, size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) output[i] = ork_clamp(a[i] + b[i], min, max);
}

// Blocks of 8 x 8 keep both sides' cache lines in use.
void ork_nchw_to_nhwc(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end) {
    for (size_t image = image_begin; image < image_end; image++) {
        const float *source = input + image * channels * pixels;
        float *destination = output + image * channels * pixels;
        for (size_t p0 = 0; p0 < pixels; p0 += 8) {
            const size_t p1 = ORK_MIN(pixels, p0 + 8);
            for (size_t c0 = 0; c0 < channels; c0 += 8) {
                const size_t c1 = ORK_MIN(channels, c0 + 8);
                for (size_t p = p0; p < p1; p++)
                    for (size_t c = c0; c < c1; c++) destination[p * channels + c] = source[c * pixels + p];
            }
        }
    }
}

void ork_nhwc_to_nchw(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end) {
    for (size_t image = image_begin; image < image_end; image++) {
        const float *source = input + image * channels * pixels;
        float *destination = output + image * channels * pixels;
        for (size_t c0 = 0; c0 < channels; c0 += 8) {
            const size_t c1 = ORK_MIN(channels, c0 + 8);
            for (size_t p0 = 0; p0 < pixels; p0 += 8) {
                const size_t p1 = ORK_MIN(pixels, p0 + 8);
                for (size_t c = c0; c < c1; c++)
                    for (size_t p = p0; p < p1; p++) destination[c * pixels + p] = source[p * channels + c];
            }
        }
    }
}
