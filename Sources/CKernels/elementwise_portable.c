// Elementwise kernels, portable C level (4-float vectors: SSE2 on x86-64, NEON on arm64), and their dispatch.
#define ORK_WIDTH 4
#define ORK_TARGET
#define ORK_HAS_FMA 0
#define ORK_SUFFIX(name) name##_portable
#include "elementwise_template.h"

void ork_activation_apply(const ork_activation *activation, const float *input, float *output, size_t count) {
    switch (ork_kernels()->isa) {
#if ORK_X86
    case ORK_ISA_AVX512: ork_activation_apply_avx512(activation, input, output, count); return;
    case ORK_ISA_AVX2: ork_activation_apply_avx2(activation, input, output, count); return;
#endif
    default: ork_activation_apply_portable(activation, input, output, count); return;
    }
}

void ork_binary(int operation, const ork_broadcast *geometry, const float *a, const float *b, float *output,
                size_t begin, size_t end) {
    switch (ork_kernels()->isa) {
#if ORK_X86
    case ORK_ISA_AVX512: ork_binary_avx512(operation, geometry, a, b, output, begin, end); return;
    case ORK_ISA_AVX2: ork_binary_avx2(operation, geometry, a, b, output, begin, end); return;
#endif
    default: ork_binary_portable(operation, geometry, a, b, output, begin, end); return;
    }
}

void ork_mean_rows(const float *input, size_t rows, size_t columns, float *output) {
    switch (ork_kernels()->isa) {
#if ORK_X86
    case ORK_ISA_AVX512: ork_mean_rows_avx512(input, rows, columns, output); return;
    case ORK_ISA_AVX2: ork_mean_rows_avx2(input, rows, columns, output); return;
#endif
    default: ork_mean_rows_portable(input, rows, columns, output); return;
    }
}
