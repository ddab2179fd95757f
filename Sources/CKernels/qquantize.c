// QuantizeLinear of float32 to uint8 per tensor, as MLAS computes it: y = clamp(round_half_even(x / scale) +
// zero_point, 0, 255), NaN -> 0 (the clamp is max(value, low) first, which returns low for NaN); portable, AVX2 and
// AVX-512 variants and the dispatching entry point.
#include "quantized_internal.h"

#if ORK_X86
#include <immintrin.h>
#endif

ORK_INLINE uint8_t quantize_one(float input, float scale, int32_t zero_point) {
    const float low = (float)(0 - zero_point), high = (float)(255 - zero_point);
    float value = input / scale;
    value = !(value >= low) ? low : value;
    value = value > high ? high : value;
    return (uint8_t)((int32_t)ork_round_half_even(value) + zero_point);
}

void ork_quantize_linear_u8_portable(const float *input, float scale, int32_t zero_point, uint8_t *output,
                                     size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) output[i] = quantize_one(input[i], scale, zero_point);
}

#if ORK_X86
ORK_TARGET_AVX2 void ork_quantize_linear_u8_avx2(const float *input, float scale, int32_t zero_point,
                                                 uint8_t *output, size_t begin, size_t end) {
    const __m256 divisor = _mm256_set1_ps(scale);
    const __m256 low = _mm256_set1_ps((float)(0 - zero_point)), high = _mm256_set1_ps((float)(255 - zero_point));
    const __m256i zero = _mm256_set1_epi32(zero_point);
    size_t i = begin;
    for (; i + 8 <= end; i += 8) {
        // max(value, low) returns its second operand, low, for NaN.
        const __m256 value = _mm256_min_ps(_mm256_max_ps(_mm256_div_ps(_mm256_loadu_ps(input + i), divisor), low), high);
        const __m256i y = _mm256_add_epi32(_mm256_cvtps_epi32(value), zero);
        const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
        _mm_storel_epi64((__m128i *)(output + i), _mm_packus_epi16(words, words));
    }
    for (; i < end; i++) output[i] = quantize_one(input[i], scale, zero_point);
}

ORK_TARGET_AVX512 void ork_quantize_linear_u8_avx512(const float *input, float scale, int32_t zero_point,
                                                     uint8_t *output, size_t begin, size_t end) {
    const __m512 divisor = _mm512_set1_ps(scale);
    const __m512 low = _mm512_set1_ps((float)(0 - zero_point)), high = _mm512_set1_ps((float)(255 - zero_point));
    const __m512i zero = _mm512_set1_epi32(zero_point);
    for (size_t i = begin; i < end; i += 16) {
        const __mmask16 mask = end - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (end - i)) - 1u);
        const __m512 x = _mm512_maskz_loadu_ps(mask, input + i);
        const __m512 value = _mm512_min_ps(_mm512_max_ps(_mm512_div_ps(x, divisor), low), high);
        const __m128i bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(value), zero));
        if (mask == 0xFFFF) _mm_storeu_si128((__m128i *)(output + i), bytes);
        else _mm_mask_storeu_epi8(output + i, mask, bytes);
    }
}
#endif

void ork_quantize_linear_u8(const float *input, float scale, int32_t zero_point, uint8_t *output, size_t begin,
                            size_t end) {
    switch (ork_kernels()->isa) {
#if ORK_X86
    case ORK_ISA_AVX512: ork_quantize_linear_u8_avx512(input, scale, zero_point, output, begin, end); return;
    case ORK_ISA_AVX2: ork_quantize_linear_u8_avx2(input, scale, zero_point, output, begin, end); return;
#endif
    default: ork_quantize_linear_u8_portable(input, scale, zero_point, output, begin, end); return;
    }
}
