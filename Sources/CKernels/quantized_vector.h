// The requantizing store (+ fused QLinearAdd) of 16 (AVX-512) or 8 (AVX2) int32 accumulators, shared by the
// int8 GEMM and depthwise kernels; the same arithmetic as ork_qstore in quantized_internal.h.
#pragma once

#include "quantized_internal.h"

#if ORK_X86
#include <immintrin.h>
#include <string.h>

/// Stores the `mask` lanes of acc to output[0..16) as bytes; residual: NULL or 16 bytes at the same positions.
ORK_INLINE ORK_TARGET_AVX512 void ork_qstore16(__m512i acc, const float *scale, const ork_qepilogue *e,
                                               const uint8_t *residual, uint8_t *output, __mmask16 mask) {
    __m512 value = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(scale));
    value = _mm512_max_ps(value, _mm512_set1_ps((float)(e->min - e->zero_point)));
    value = _mm512_min_ps(value, _mm512_set1_ps((float)(e->max - e->zero_point)));
    __m512i y = _mm512_add_epi32(_mm512_cvtps_epi32(value), _mm512_set1_epi32(e->zero_point));
    if (residual) {
        const __m512 other = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, residual)));
        const __m512 output_value = _mm512_cvtepi32_ps(y);
        const __m512 first = e->residual_is_first ? other : output_value;
        const __m512 second = e->residual_is_first ? output_value : other;
        const float first_ratio = e->residual_is_first ? e->residual_ratio : e->output_ratio;
        const float second_ratio = e->residual_is_first ? e->output_ratio : e->residual_ratio;
        __m512 sum = _mm512_fmadd_ps(second, _mm512_set1_ps(second_ratio), _mm512_set1_ps(e->offset));
        sum = _mm512_fmadd_ps(first, _mm512_set1_ps(first_ratio), sum);
        sum = _mm512_max_ps(sum, _mm512_set1_ps((float)e->sum_min));
        sum = _mm512_min_ps(sum, _mm512_set1_ps((float)e->sum_max));
        y = _mm512_cvtps_epi32(sum);
    }
    // Narrowed in a register, then stored: vpmovdb straight to memory is slow on Zen 4.
    const __m128i bytes = _mm512_cvtepi32_epi8(y);
    if (mask == 0xFFFF) _mm_storeu_si128((__m128i *)output, bytes);
    else _mm_mask_storeu_epi8(output, mask, bytes);
}

/// acc * scale rounded half to even, clamped above at max - zero_point in float first (as MLAS; it also keeps the
/// conversion clear of int32 overflow). The lower clamp happens on the bytes in ork_qstore64.
ORK_INLINE ORK_TARGET_AVX512 __m512i ork_qscale16(__m512i acc, const float *scale, __m512 high) {
    return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(scale)), high));
}

/// Stores the `mask` bytes of 64 columns from four ork_qscale16 results (columns 0-15, 16-31, 32-47, 48-63) with the
/// zero point added and min applied: saturating packs to int16 and uint8, then one permute and one store, instead of
/// four narrowing stores. Equal to ork_qstore16's clamp in float (a value below min - zero_point rounds to at most
/// that integer, and the saturations are monotone, so clamping the bytes gives the same result).
ORK_INLINE ORK_TARGET_AVX512 void ork_qstore64(__m512i y0, __m512i y1, __m512i y2, __m512i y3,
                                               const ork_qepilogue *e, uint8_t *output, __mmask64 mask) {
    const __m512i zero_point = _mm512_set1_epi16((short)e->zero_point);
    const __m512i low = _mm512_adds_epi16(_mm512_packs_epi32(y0, y1), zero_point);
    const __m512i high = _mm512_adds_epi16(_mm512_packs_epi32(y2, y3), zero_point);
    // Per 128-bit lane i the packs leave dwords (y0, y1, y2, y3) of columns 4i..4i+3: gather each y's dwords.
    __m512i bytes = _mm512_permutexvar_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), _mm512_packus_epi16(low, high));
    bytes = _mm512_max_epu8(bytes, _mm512_set1_epi8((char)e->min));
    if (mask == ~(__mmask64)0) _mm512_storeu_si512(output, bytes);
    else _mm512_mask_storeu_epi8(output, mask, bytes);
}

/// Stores the first `count` (<= 8) lanes of acc to output as bytes; residual: NULL or `count` bytes.
ORK_INLINE ORK_TARGET_AVX2 void ork_qstore8(__m256i acc, const float *scale, const ork_qepilogue *e,
                                            const uint8_t *residual, uint8_t *output, size_t count) {
    __m256 value = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(scale));
    value = _mm256_max_ps(value, _mm256_set1_ps((float)(e->min - e->zero_point)));
    value = _mm256_min_ps(value, _mm256_set1_ps((float)(e->max - e->zero_point)));
    __m256i y = _mm256_add_epi32(_mm256_cvtps_epi32(value), _mm256_set1_epi32(e->zero_point));
    if (residual) {
        uint64_t bytes = 0;
        memcpy(&bytes, residual, count);
        const __m256 other = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)bytes)));
        const __m256 output_value = _mm256_cvtepi32_ps(y);
        const __m256 first = e->residual_is_first ? other : output_value;
        const __m256 second = e->residual_is_first ? output_value : other;
        const float first_ratio = e->residual_is_first ? e->residual_ratio : e->output_ratio;
        const float second_ratio = e->residual_is_first ? e->output_ratio : e->residual_ratio;
        __m256 sum = _mm256_fmadd_ps(second, _mm256_set1_ps(second_ratio), _mm256_set1_ps(e->offset));
        sum = _mm256_fmadd_ps(first, _mm256_set1_ps(first_ratio), sum);
        sum = _mm256_max_ps(sum, _mm256_set1_ps((float)e->sum_min));
        sum = _mm256_min_ps(sum, _mm256_set1_ps((float)e->sum_max));
        y = _mm256_cvtps_epi32(sum);
    }
    // Values are in [0, 255]: byte 0 of each lane, both 128-bit halves joined.
    const __m256i picked = _mm256_shuffle_epi8(y, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                                                    -1, -1, -1, 0, 4, 8, 12, -1, -1, -1, -1, -1, -1,
                                                                    -1, -1, -1, -1, -1, -1));
    const __m256i joined = _mm256_permutevar8x32_epi32(picked, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
    const uint64_t bytes = (uint64_t)_mm_cvtsi128_si64(_mm256_castsi256_si128(joined));
    memcpy(output, &bytes, count);
}
#endif
