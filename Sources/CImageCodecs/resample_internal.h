// Scalar pieces shared by every resampling variant: Pillow's clip8 and the per-pixel and per-byte fallbacks.
#pragma once

#include "CImageResample.h"

#define RESAMPLE_HALF (1 << (ONNXRUN_RESAMPLE_PRECISION_BITS - 1))

/// Pillow's clip8: the rounded fixed-point sum shifted back to 8 bits, clamped to 0...255.
static inline uint8_t resample_clip8(int32_t sum) {
    int32_t value = sum >> ONNXRUN_RESAMPLE_PRECISION_BITS;
    return (uint8_t)(value < 0 ? 0 : (value > 255 ? 255 : value));
}

/// Output pixel x of a horizontal pass over one RGB row.
static inline void resample_pixel_scalar(const uint8_t *row, const onnxrun_resample_coefficients *coefficients,
                                         size_t x, uint8_t *destination) {
    const uint8_t *source = row + 3 * (size_t)coefficients->starts[x];
    const int32_t *weights = coefficients->weights + x * coefficients->weight_stride;
    int32_t count = coefficients->counts[x];
    int32_t red = RESAMPLE_HALF, green = RESAMPLE_HALF, blue = RESAMPLE_HALF;
    for (int32_t tap = 0; tap < count; tap++) {
        red += source[3 * tap] * weights[tap];
        green += source[3 * tap + 1] * weights[tap];
        blue += source[3 * tap + 2] * weights[tap];
    }
    destination[0] = resample_clip8(red);
    destination[1] = resample_clip8(green);
    destination[2] = resample_clip8(blue);
}

/// Bytes begin ..< end of one vertical-pass output row.
static inline void resample_vertical_scalar(const uint8_t *input, size_t input_stride, const int32_t *weights,
                                            size_t count, size_t begin, size_t end, uint8_t *output) {
    for (size_t index = begin; index < end; index++) {
        int32_t sum = RESAMPLE_HALF;
        for (size_t tap = 0; tap < count; tap++) sum += input[tap * input_stride + index] * weights[tap];
        output[index] = resample_clip8(sum);
    }
}
