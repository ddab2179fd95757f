// Portable Pillow-exact resampling passes, the row normalization, and the dispatch to the vector variants.

#include "CImageResample.h"
#include "resample_internal.h"

// MARK: - Dispatch

// -1 until first use; racing first calls store the same value, so relaxed atomics suffice.
static int detected_level = -1;

int onnxrun_resample_isa_level(void) {
    int level = __atomic_load_n(&detected_level, __ATOMIC_RELAXED);
    if (level >= 0) return level;
    level = 0;
#if defined(__x86_64__)
    // __builtin_cpu_supports also checks that the OS saves the vector state.
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw")) {
        level = 2;
    } else if (__builtin_cpu_supports("avx2")) {
        level = 1;
    }
#endif
    __atomic_store_n(&detected_level, level, __ATOMIC_RELAXED);
    return level;
}

void onnxrun_resample_horizontal(const uint8_t *input, size_t input_stride, size_t input_size, size_t rows,
                                 const onnxrun_resample_coefficients *coefficients, uint8_t *output,
                                 size_t output_stride) {
#if defined(__x86_64__)
    switch (onnxrun_resample_isa_level()) {
    case 2:
        onnxrun_resample_horizontal_avx512(input, input_stride, input_size, rows, coefficients, output,
                                           output_stride);
        return;
    case 1:
        onnxrun_resample_horizontal_avx2(input, input_stride, input_size, rows, coefficients, output,
                                         output_stride);
        return;
    default:
        break;
    }
#endif
    onnxrun_resample_horizontal_portable(input, input_stride, input_size, rows, coefficients, output,
                                         output_stride);
}

void onnxrun_resample_vertical_row(const uint8_t *input, size_t input_stride, const int32_t *weights, size_t count,
                                   size_t row_bytes, uint8_t *output) {
#if defined(__x86_64__)
    switch (onnxrun_resample_isa_level()) {
    case 2:
        onnxrun_resample_vertical_row_avx512(input, input_stride, weights, count, row_bytes, output);
        return;
    case 1:
        onnxrun_resample_vertical_row_avx2(input, input_stride, weights, count, row_bytes, output);
        return;
    default:
        break;
    }
#endif
    onnxrun_resample_vertical_row_portable(input, input_stride, weights, count, row_bytes, output);
}

// MARK: - Portable passes

void onnxrun_resample_horizontal_portable(const uint8_t *input, size_t input_stride, size_t input_size,
                                          size_t rows, const onnxrun_resample_coefficients *coefficients,
                                          uint8_t *output, size_t output_stride) {
    (void)input_size;  // reads only the taps
    for (size_t y = 0; y < rows; y++) {
        const uint8_t *row = input + y * input_stride;
        uint8_t *destination = output + y * output_stride;
        for (size_t x = 0; x < coefficients->outputs; x++) {
            resample_pixel_scalar(row, coefficients, x, destination + 3 * x);
        }
    }
}

void onnxrun_resample_vertical_row_portable(const uint8_t *input, size_t input_stride, const int32_t *weights,
                                            size_t count, size_t row_bytes, uint8_t *output) {
    resample_vertical_scalar(input, input_stride, weights, count, 0, row_bytes, output);
}

// MARK: - Normalization

void onnxrun_normalize_row(const uint8_t *row, size_t width, const onnxrun_normalization *normalization,
                           float *output) {
    // A table lookup per value: the tables hold torchvision's float results bit for bit, whatever the formula.
    for (size_t channel = 0; channel < 3; channel++) {
        const float *table = normalization->tables + 256 * channel;
        const uint8_t *source = row + normalization->source_channels[channel];
        float *destination = output + channel * normalization->channel_stride;
        size_t stride = normalization->pixel_stride;
        for (size_t x = 0; x < width; x++) {
            destination[x * stride] = table[source[3 * x]];
        }
    }
}
