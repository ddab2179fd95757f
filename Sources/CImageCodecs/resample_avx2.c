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

TARGET_AVX2 void onnxrun_resample_horizontal_avx2(const uint8_t *input, size_t input_stride, size_t input_size,
                                                  size_t rows, const onnxrun_resample_coefficients *coefficients,
                                                  uint8_t *output, size_t output_stride) {
    // Four taps (12 bytes) per step: each pixel's R, G, B (and an unused fourth byte) become four int32 lanes.
    const __m128i spread = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
    const __m256i first_pair = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const __m256i second_pair = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
    const __m128i half = _mm_set1_epi32(RESAMPLE_HALF);
    for (size_t y = 0; y < rows; y++) {
        const uint8_t *row = input + y * input_stride;
        size_t available = input_size - y * input_stride;
        uint8_t *destination = output + y * output_stride;
        for (size_t x = 0; x < coefficients->outputs; x++) {
            size_t start = 3 * (size_t)coefficients->starts[x];
            size_t groups = ((size_t)coefficients->counts[x] + 3) / 4;
            // The last 16-byte load ends 4 bytes after the last tap of its group; near the end of the buffer
            // the scalar path reads only the taps.
            if (start + 12 * groups + 4 > available) {
                resample_pixel_scalar(row, coefficients, x, destination + 3 * x);
                continue;
            }
            const uint8_t *source = row + start;
            const int32_t *weights = coefficients->weights + x * coefficients->weight_stride;
            __m256i even = _mm256_setzero_si256(), odd = _mm256_setzero_si256();
            for (size_t group = 0; group < groups; group++) {
                __m128i pixels = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(source + 12 * group)), spread);
                __m256i four = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(weights + 4 * group)));
                // Weights past the count are zero, so the extra pixels read add nothing.
                even = _mm256_add_epi32(even, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(pixels),
                                                                 _mm256_permutevar8x32_epi32(four, first_pair)));
                odd = _mm256_add_epi32(odd, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(pixels, 8)),
                                                               _mm256_permutevar8x32_epi32(four, second_pair)));
            }
            __m256i both = _mm256_add_epi32(even, odd);
            __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(both), _mm256_extracti128_si256(both, 1));
            store_pixel(_mm_add_epi32(sums, half), destination + 3 * x);
        }
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
