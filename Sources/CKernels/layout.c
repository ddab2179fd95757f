// NCHW <-> NHWC transposes (memory-bound; plain C).
#include "internal.h"

// Few channels (an image's 3): pixel by pixel between `channels` sequential streams (planes of `pixels` floats) and
// one interleaved stream, pixels [begin, end); a constant count lets the compiler (de)interleave in vector registers.
static inline void interleave(const float *source, size_t channels, size_t pixels, size_t begin, size_t end,
                              float *destination) {
    for (size_t p = begin; p < end; p++)
        for (size_t c = 0; c < channels; c++) destination[p * channels + c] = source[c * pixels + p];
}

static inline void deinterleave(const float *source, size_t channels, size_t pixels, size_t begin, size_t end,
                                float *destination) {
    for (size_t p = begin; p < end; p++)
        for (size_t c = 0; c < channels; c++) destination[c * pixels + p] = source[p * channels + c];
}

// Blocks of 8 x 8 keep both sides' cache lines in use.
void ork_nchw_to_nhwc(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end, size_t pixel_begin, size_t pixel_end) {
    for (size_t image = image_begin; image < image_end; image++) {
        const float *source = input + image * channels * pixels;
        float *destination = output + image * channels * pixels;
        if (channels == 3) {
            interleave(source, 3, pixels, pixel_begin, pixel_end, destination);
            continue;
        }
        if (channels == 1) {
            interleave(source, 1, pixels, pixel_begin, pixel_end, destination);
            continue;
        }
        for (size_t p0 = pixel_begin; p0 < pixel_end; p0 += 8) {
            const size_t p1 = ORK_MIN(pixel_end, p0 + 8);
            for (size_t c0 = 0; c0 < channels; c0 += 8) {
                const size_t c1 = ORK_MIN(channels, c0 + 8);
                for (size_t p = p0; p < p1; p++)
                    for (size_t c = c0; c < c1; c++) destination[p * channels + c] = source[c * pixels + p];
            }
        }
    }
}

void ork_nhwc_to_nchw(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end, size_t pixel_begin, size_t pixel_end) {
    for (size_t image = image_begin; image < image_end; image++) {
        const float *source = input + image * channels * pixels;
        float *destination = output + image * channels * pixels;
        if (channels == 3) {
            deinterleave(source, 3, pixels, pixel_begin, pixel_end, destination);
            continue;
        }
        if (channels == 1) {
            deinterleave(source, 1, pixels, pixel_begin, pixel_end, destination);
            continue;
        }
        for (size_t c0 = 0; c0 < channels; c0 += 8) {
            const size_t c1 = ORK_MIN(channels, c0 + 8);
            for (size_t p0 = pixel_begin; p0 < pixel_end; p0 += 8) {
                const size_t p1 = ORK_MIN(pixel_end, p0 + 8);
                for (size_t c = c0; c < c1; c++)
                    for (size_t p = p0; p < p1; p++) destination[c * pixels + p] = source[p * channels + c];
            }
        }
    }
}
