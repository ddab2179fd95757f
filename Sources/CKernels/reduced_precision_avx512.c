// The reduced-precision float kernels (reduced_precision_template.h) for AVX-512 (16-float vectors).
#include "internal.h"
#if ORK_X86
#define ORK_WIDTH 16
#define ORK_TARGET ORK_TARGET_AVX512
#define ORK_SUFFIX(name) name##_avx512
#include "reduced_precision_template.h"
#endif
