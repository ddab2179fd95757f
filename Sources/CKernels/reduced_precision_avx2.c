// The reduced-precision float kernels (reduced_precision_template.h) for AVX2 + FMA (8-float vectors).
#include "internal.h"
#if ORK_X86
#define ORK_WIDTH 8
#define ORK_TARGET ORK_TARGET_AVX2
#define ORK_SUFFIX(name) name##_avx2
#include "reduced_precision_template.h"
#endif
