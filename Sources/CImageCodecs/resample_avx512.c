// AVX-512 Pillow-exact resampling passes: 32-bit products of widened pixels and the full 22-bit weights, with
// masked loads and stores at the ends of rows.

#include "resample_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw")))

/// One output pixel of `rows` (1 or 2, a constant after inlining) rows `input_stride` apart, which share the
/// weights and masks. Four taps (12 bytes) per step: each pixel's R, G, B (and an unused fourth byte) become four
/// int32 lanes. Only the taps are loaded (the mask suppresses faults past the buffer); weights past the count
/// are zero.
TARGET_AVX512 static inline __attribute__((always_inline)) void horizontal_pixel(
    const uint8_t *source, size_t input_stride, int rows, const int32_t *weights, size_t count,
    uint8_t *destination, size_t output_stride) {
    const __m128i spread = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
    const __m512i repeat = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512i sums[2];
    for (int row = 0; row < rows; row++) sums[row] = _mm512_setzero_si512();
    for (size_t group = 0; 4 * group < count; group++) {
        size_t taps = count - 4 * group < 4 ? count - 4 * group : 4;
        __mmask16 mask = (__mmask16)((1u << (3 * taps)) - 1);
        __m512i four = _mm512_permutexvar_epi32(
            repeat, _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(weights + 4 * group))));
        for (int row = 0; row < rows; row++) {
            __m128i bytes = _mm_maskz_loadu_epi8(mask, source + row * input_stride + 12 * group);
            __m512i pixels = _mm512_cvtepu8_epi32(_mm_shuffle_epi8(bytes, spread));
            sums[row] = _mm512_add_epi32(sums[row], _mm512_mullo_epi32(pixels, four));
        }
    }
    for (int row = 0; row < rows; row++) {
        __m256i halves =
            _mm256_add_epi32(_mm512_castsi512_si256(sums[row]), _mm512_extracti64x4_epi64(sums[row], 1));
        __m128i total = _mm_add_epi32(_mm256_castsi256_si128(halves), _mm256_extracti128_si256(halves, 1));
        __m128i shifted =
            _mm_srai_epi32(_mm_add_epi32(total, _mm_set1_epi32(RESAMPLE_HALF)), ONNXRUN_RESAMPLE_PRECISION_BITS);
        __m128i clamped = _mm_max_epi32(shifted, _mm_setzero_si128());
        _mm_mask_storeu_epi8(destination + row * output_stride, 0x7, _mm_cvtusepi32_epi8(clamped));
    }
}

TARGET_AVX512 void onnxrun_resample_horizontal_avx512(const uint8_t *input, size_t input_stride,
                                                      size_t input_size, size_t rows,
                                                      const onnxrun_resample_coefficients *coefficients,
                                                      uint8_t *output, size_t output_stride) {
    (void)input_size;  // the masked loads read only the taps
    // Rows in pairs, so the weights are loaded and broadcast once for two rows.
    for (size_t y = 0; y < rows;) {
        size_t step = rows - y >= 2 ? 2 : 1;
        const uint8_t *row = input + y * input_stride;
        uint8_t *destination = output + y * output_stride;
        for (size_t x = 0; x < coefficients->outputs; x++) {
            const uint8_t *source = row + 3 * (size_t)coefficients->starts[x];
            const int32_t *weights = coefficients->weights + x * coefficients->weight_stride;
            size_t count = (size_t)coefficients->counts[x];
            if (step == 2) {
                horizontal_pixel(source, input_stride, 2, weights, count, destination + 3 * x, output_stride);
            } else {
                horizontal_pixel(source, input_stride, 1, weights, count, destination + 3 * x, output_stride);
            }
        }
        y += step;
    }
}

/// clip8 of sixteen int32 sums, as 16 bytes.
TARGET_AVX512 static inline __m128i pack_sixteen(__m512i sums) {
    __m512i shifted = _mm512_srai_epi32(sums, ONNXRUN_RESAMPLE_PRECISION_BITS);
    return _mm512_cvtusepi32_epi8(_mm512_max_epi32(shifted, _mm512_setzero_si512()));
}

TARGET_AVX512 static inline __m512i widen_sixteen(const uint8_t *source, __mmask16 mask) {
    return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, source));
}

TARGET_AVX512 void onnxrun_resample_vertical_row_avx512(const uint8_t *input, size_t input_stride,
                                                        const int32_t *weights, size_t count, size_t row_bytes,
                                                        uint8_t *output) {
    const __m512i half = _mm512_set1_epi32(RESAMPLE_HALF);
    const __mmask16 all = 0xFFFF;
    size_t index = 0;
    for (; index + 64 <= row_bytes; index += 64) {
        __m512i sums0 = half, sums1 = half, sums2 = half, sums3 = half;
        for (size_t tap = 0; tap < count; tap++) {
            const uint8_t *source = input + tap * input_stride + index;
            __m512i weight = _mm512_set1_epi32(weights[tap]);
            sums0 = _mm512_add_epi32(sums0, _mm512_mullo_epi32(widen_sixteen(source, all), weight));
            sums1 = _mm512_add_epi32(sums1, _mm512_mullo_epi32(widen_sixteen(source + 16, all), weight));
            sums2 = _mm512_add_epi32(sums2, _mm512_mullo_epi32(widen_sixteen(source + 32, all), weight));
            sums3 = _mm512_add_epi32(sums3, _mm512_mullo_epi32(widen_sixteen(source + 48, all), weight));
        }
        _mm_storeu_si128((__m128i *)(output + index), pack_sixteen(sums0));
        _mm_storeu_si128((__m128i *)(output + index + 16), pack_sixteen(sums1));
        _mm_storeu_si128((__m128i *)(output + index + 32), pack_sixteen(sums2));
        _mm_storeu_si128((__m128i *)(output + index + 48), pack_sixteen(sums3));
    }
    for (; index < row_bytes; index += 16) {
        size_t left = row_bytes - index;
        __mmask16 mask = left >= 16 ? all : (__mmask16)((1u << left) - 1);
        __m512i sums = half;
        for (size_t tap = 0; tap < count; tap++) {
            sums = _mm512_add_epi32(sums, _mm512_mullo_epi32(widen_sixteen(input + tap * input_stride + index, mask),
                                                             _mm512_set1_epi32(weights[tap])));
        }
        _mm_mask_storeu_epi8(output + index, mask, pack_sixteen(sums));
    }
}

#endif
