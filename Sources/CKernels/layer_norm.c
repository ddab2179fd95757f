// Layer normalization over rows (LayerNormalization, and the ReduceMean/Sub/Pow/Sqrt/Div chain exporters write):
// one function per ISA level, each three passes over a row that stays in L1 (sum, squared deviations, store).
#include "internal.h"

#include <math.h>

#if ORK_X86
#include <immintrin.h>
#endif

// MARK: - Dispatch

void ork_layer_norm(const ork_layer_norm_args *args, size_t row_begin, size_t row_end) {
    ork_kernels()->layer_norm(args, row_begin, row_end);
}

// MARK: - Portable C

// Eight independent partial sums, so the compiler may vectorize without reassociating one chain.
void ork_layer_norm_portable(const ork_layer_norm_args *args, size_t row_begin, size_t row_end) {
    const size_t size = args->size;
    for (size_t row = row_begin; row < row_end; row++) {
        const float *x = args->input + row * size;
        float *y = args->output + row * size;
        float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t i = 0;
        for (; i + 8 <= size; i += 8)
            for (size_t lane = 0; lane < 8; lane++) partial[lane] += x[i + lane];
        float sum = 0;
        for (size_t lane = 0; lane < 8; lane++) sum += partial[lane];
        for (; i < size; i++) sum += x[i];
        const float mean = sum / (float)size;

        float squares[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (i = 0; i + 8 <= size; i += 8)
            for (size_t lane = 0; lane < 8; lane++) {
                float deviation = x[i + lane] - mean;
                squares[lane] += deviation * deviation;
            }
        float variance = 0;
        for (size_t lane = 0; lane < 8; lane++) variance += squares[lane];
        for (; i < size; i++) variance += (x[i] - mean) * (x[i] - mean);
        const float inverse = 1.0f / sqrtf(variance / (float)size + args->epsilon);

        for (i = 0; i < size; i++) {
            float value = (x[i] - mean) * inverse * args->scale[i];
            y[i] = args->bias ? value + args->bias[i] : value;
        }
    }
}

#if ORK_X86

// MARK: - AVX2

ORK_INLINE ORK_TARGET_AVX2 float horizontal_sum_avx2(__m256 v) {
    __m128 quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    quad = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    quad = _mm_add_ss(quad, _mm_movehdup_ps(quad));
    return _mm_cvtss_f32(quad);
}

static const int32_t mask_source[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

ORK_TARGET_AVX2 void ork_layer_norm_avx2(const ork_layer_norm_args *args, size_t row_begin, size_t row_end) {
    const size_t size = args->size, full = size / 8 * 8, rest = size - full;
    const __m256i mask = _mm256_loadu_si256((const __m256i *)(mask_source + 8 - rest));
    for (size_t row = row_begin; row < row_end; row++) {
        const float *x = args->input + row * size;
        float *y = args->output + row * size;
        __m256 sum = _mm256_setzero_ps();
        for (size_t i = 0; i < full; i += 8) sum = _mm256_add_ps(sum, _mm256_loadu_ps(x + i));
        if (rest) sum = _mm256_add_ps(sum, _mm256_maskload_ps(x + full, mask));
        const float mean = horizontal_sum_avx2(sum) / (float)size;
        const __m256 vmean = _mm256_set1_ps(mean);

        __m256 squares = _mm256_setzero_ps();
        for (size_t i = 0; i < full; i += 8) {
            __m256 deviation = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmean);
            squares = _mm256_fmadd_ps(deviation, deviation, squares);
        }
        if (rest) {
            // Masked lanes load 0, whose deviation -mean must not count: mask it again.
            __m256 deviation = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + full, mask), vmean),
                                             _mm256_castsi256_ps(mask));
            squares = _mm256_fmadd_ps(deviation, deviation, squares);
        }
        const float inverse = 1.0f / sqrtf(horizontal_sum_avx2(squares) / (float)size + args->epsilon);
        const __m256 vinverse = _mm256_set1_ps(inverse);

        for (size_t i = 0; i < full; i += 8) {
            __m256 value = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmean), vinverse),
                                         _mm256_loadu_ps(args->scale + i));
            if (args->bias) value = _mm256_add_ps(value, _mm256_loadu_ps(args->bias + i));
            _mm256_storeu_ps(y + i, value);
        }
        if (rest) {
            __m256 value = _mm256_mul_ps(
                _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + full, mask), vmean), vinverse),
                _mm256_maskload_ps(args->scale + full, mask));
            if (args->bias) value = _mm256_add_ps(value, _mm256_maskload_ps(args->bias + full, mask));
            _mm256_maskstore_ps(y + full, mask, value);
        }
    }
}

// MARK: - AVX-512

ORK_TARGET_AVX512 void ork_layer_norm_avx512(const ork_layer_norm_args *args, size_t row_begin, size_t row_end) {
    const size_t size = args->size, full = size / 16 * 16, rest = size - full;
    const __mmask16 mask = (__mmask16)((1u << rest) - 1);
    for (size_t row = row_begin; row < row_end; row++) {
        const float *x = args->input + row * size;
        float *y = args->output + row * size;
        __m512 sum = _mm512_setzero_ps();
        for (size_t i = 0; i < full; i += 16) sum = _mm512_add_ps(sum, _mm512_loadu_ps(x + i));
        if (rest) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(mask, x + full));
        const float mean = _mm512_reduce_add_ps(sum) / (float)size;
        const __m512 vmean = _mm512_set1_ps(mean);

        __m512 squares = _mm512_setzero_ps();
        for (size_t i = 0; i < full; i += 16) {
            __m512 deviation = _mm512_sub_ps(_mm512_loadu_ps(x + i), vmean);
            squares = _mm512_fmadd_ps(deviation, deviation, squares);
        }
        if (rest) {
            __m512 deviation = _mm512_maskz_sub_ps(mask, _mm512_maskz_loadu_ps(mask, x + full), vmean);
            squares = _mm512_fmadd_ps(deviation, deviation, squares);
        }
        const float inverse = 1.0f / sqrtf(_mm512_reduce_add_ps(squares) / (float)size + args->epsilon);
        const __m512 vinverse = _mm512_set1_ps(inverse);

        for (size_t i = 0; i < full; i += 16) {
            __m512 value = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmean), vinverse),
                                         _mm512_loadu_ps(args->scale + i));
            if (args->bias) value = _mm512_add_ps(value, _mm512_loadu_ps(args->bias + i));
            _mm512_storeu_ps(y + i, value);
        }
        if (rest) {
            __m512 value = _mm512_mul_ps(
                _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + full), vmean), vinverse),
                _mm512_maskz_loadu_ps(mask, args->scale + full));
            if (args->bias) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, args->bias + full));
            _mm512_mask_storeu_ps(y + full, mask, value);
        }
    }
}

#else

// Not x86: the vector levels are the portable code (tests call every level by name).
void ork_layer_norm_avx2(const ork_layer_norm_args *args, size_t row_begin, size_t row_end) {
    ork_layer_norm_portable(args, row_begin, row_end);
}
void ork_layer_norm_avx512(const ork_layer_norm_args *args, size_t row_begin, size_t row_end) {
    ork_layer_norm_portable(args, row_begin, row_end);
}

#endif
