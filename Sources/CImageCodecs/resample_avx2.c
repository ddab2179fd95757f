// AVX2 Pillow-exact resampling passes: 32-bit products of widened pixels and the full 22-bit weights.

#include "resample_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TARGET_AVX2 __attribute__((target("avx2")))

/// clip8 of the R, G, B sums in lanes 0...2 (rounding offset included), stored as 3 bytes.
TARGET_AVX2 static inline void store_pixel(__m128i sums, uint8_t *destination) {
    __m128i shifted = _mm_srai_epi32(sums, ONNXRUN_RESAMPLE_PRECISION_BITS);
    // Saturating packs clamp to 0...255 as clip8 does.
    __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(shifted, shifted), _mm_setzero_si128());
    uint32_t value = (uint32_t)_mm_cvtsi128_si32(bytes);
    memcpy(destination, &value, 3);
}

/// One output pixel of `rows` (1 or 2, a constant after inlining) rows `input_stride` apart, which share the
/// weights and their broadcasts. Four taps (12 bytes) per step: each pixel's R, G, B (and an unused fourth byte)
/// become four int32 lanes; the 16-byte loads end 4 bytes after a group's last tap (the caller checks that they
/// stay in the buffer), and weights past the count are zero, so the extra pixels read add nothing.
TARGET_AVX2 static inline __attribute__((always_inline)) void horizontal_pixel(
    const uint8_t *source, size_t input_stride, int rows, const int32_t *weights, size_t groups,
    uint8_t *destination, size_t output_stride) {
    const __m128i spread = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
    const __m256i first_pair = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const __m256i second_pair = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
    __m256i even[2], odd[2];
    for (int row = 0; row < rows; row++) even[row] = odd[row] = _mm256_setzero_si256();
    for (size_t group = 0; group < groups; group++) {
        __m256i four = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(weights + 4 * group)));
        __m256i first = _mm256_permutevar8x32_epi32(four, first_pair);
        __m256i second = _mm256_permutevar8x32_epi32(four, second_pair);
        for (int row = 0; row < rows; row++) {
            const uint8_t *bytes = source + row * input_stride + 12 * group;
            __m128i pixels = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)bytes), spread);
            even[row] = _mm256_add_epi32(even[row], _mm256_mullo_epi32(_mm256_cvtepu8_epi32(pixels), first));
            odd[row] = _mm256_add_epi32(odd[row],
                                        _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(pixels, 8)), second));
        }
    }
    for (int row = 0; row < rows; row++) {
        __m256i both = _mm256_add_epi32(even[row], odd[row]);
        __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(both), _mm256_extracti128_si256(both, 1));
        store_pixel(_mm_add_epi32(sums, _mm_set1_epi32(RESAMPLE_HALF)), destination + row * output_stride);
    }
}

TARGET_AVX2 void onnxrun_resample_horizontal_avx2(const uint8_t *input, size_t input_stride, size_t input_size,
                                                  size_t rows, const onnxrun_resample_coefficients *coefficients,
                                                  uint8_t *output, size_t output_stride) {
    // Rows in pairs, so the weights are loaded and broadcast once for two rows.
    for (size_t y = 0; y < rows;) {
        size_t step = rows - y >= 2 ? 2 : 1;
        const uint8_t *row = input + y * input_stride;
        // Bytes readable from the last row of the step.
        size_t available = input_size - (y + step - 1) * input_stride;
        uint8_t *destination = output + y * output_stride;
        for (size_t x = 0; x < coefficients->outputs; x++) {
            size_t start = 3 * (size_t)coefficients->starts[x];
            size_t groups = ((size_t)coefficients->counts[x] + 3) / 4;
            const int32_t *weights = coefficients->weights + x * coefficients->weight_stride;
            if (start + 12 * groups + 4 > available) {
                // Near the end of the buffer: the scalar path reads only the taps.
                for (size_t row_index = 0; row_index < step; row_index++) {
                    resample_pixel_scalar(row + row_index * input_stride, coefficients, x,
                                          destination + row_index * output_stride + 3 * x);
                }
            } else if (step == 2) {
                horizontal_pixel(row + start, input_stride, 2, weights, groups, destination + 3 * x, output_stride);
            } else {
                horizontal_pixel(row + start, input_stride, 1, weights, groups, destination + 3 * x, output_stride);
            }
        }
        y += step;
    }
}

/// clip8 of eight int32 sums, as 8 bytes.
TARGET_AVX2 static inline __m128i pack_eight(__m256i sums) {
    __m256i shifted = _mm256_srai_epi32(sums, ONNXRUN_RESAMPLE_PRECISION_BITS);
    __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(shifted), _mm256_extracti128_si256(shifted, 1));
    return _mm_packus_epi16(words, words);
}

TARGET_AVX2 static inline __m256i widen_eight(const uint8_t *source) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)source));
}

TARGET_AVX2 void onnxrun_resample_vertical_row_avx2(const uint8_t *input, size_t input_stride,
                                                    const int32_t *weights, size_t count, size_t row_bytes,
                                                    uint8_t *output) {
    const __m256i half = _mm256_set1_epi32(RESAMPLE_HALF);
    size_t index = 0;
    for (; index + 32 <= row_bytes; index += 32) {
        __m256i sums0 = half, sums1 = half, sums2 = half, sums3 = half;
        for (size_t tap = 0; tap < count; tap++) {
            const uint8_t *source = input + tap * input_stride + index;
            __m256i weight = _mm256_set1_epi32(weights[tap]);
            sums0 = _mm256_add_epi32(sums0, _mm256_mullo_epi32(widen_eight(source), weight));
            sums1 = _mm256_add_epi32(sums1, _mm256_mullo_epi32(widen_eight(source + 8), weight));
            sums2 = _mm256_add_epi32(sums2, _mm256_mullo_epi32(widen_eight(source + 16), weight));
            sums3 = _mm256_add_epi32(sums3, _mm256_mullo_epi32(widen_eight(source + 24), weight));
        }
        _mm_storel_epi64((__m128i *)(output + index), pack_eight(sums0));
        _mm_storel_epi64((__m128i *)(output + index + 8), pack_eight(sums1));
        _mm_storel_epi64((__m128i *)(output + index + 16), pack_eight(sums2));
        _mm_storel_epi64((__m128i *)(output + index + 24), pack_eight(sums3));
    }
    for (; index + 8 <= row_bytes; index += 8) {
        __m256i sums = half;
        for (size_t tap = 0; tap < count; tap++) {
            sums = _mm256_add_epi32(sums, _mm256_mullo_epi32(widen_eight(input + tap * input_stride + index),
                                                             _mm256_set1_epi32(weights[tap])));
        }
        _mm_storel_epi64((__m128i *)(output + index), pack_eight(sums));
    }
    resample_vertical_scalar(input, input_stride, weights, count, index, row_bytes, output);
}

#endif
