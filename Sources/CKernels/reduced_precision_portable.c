// The reduced-precision float kernels (reduced_precision_template.h) at the portable level, and the dispatching
// entry points.
#include "internal.h"

#define ORK_WIDTH 4
#define ORK_TARGET
#define ORK_SUFFIX(name) name##_portable
#include "reduced_precision_template.h"

void ork_min_max(const float *input, size_t count, float *minimum, float *maximum) {
    switch (ork_kernels()->isa) {
#if ORK_X86
    case ORK_ISA_AVX512: ork_min_max_avx512(input, count, minimum, maximum); return;
    case ORK_ISA_AVX2: ork_min_max_avx2(input, count, minimum, maximum); return;
#endif
    default: ork_min_max_portable(input, count, minimum, maximum); return;
    }
}

void ork_rescale_int32(const ork_rescale_args *args, size_t rows) {
    switch (ork_kernels()->isa) {
#if ORK_X86
    case ORK_ISA_AVX512: ork_rescale_int32_avx512(args, rows); return;
    case ORK_ISA_AVX2: ork_rescale_int32_avx2(args, rows); return;
#endif
    default: ork_rescale_int32_portable(args, rows); return;
    }
}

void ork_round_to_float16(const float *input, float *output, size_t count) {
    switch (ork_kernels()->isa) {
#if ORK_X86
    case ORK_ISA_AVX512: ork_round_to_float16_avx512(input, output, count); return;
    case ORK_ISA_AVX2: ork_round_to_float16_avx2(input, output, count); return;
#endif
    default: ork_round_to_float16_portable(input, output, count); return;
    }
}
