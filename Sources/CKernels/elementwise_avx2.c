// Elementwise kernels for AVX2 + FMA (8-float vectors).
#include "internal.h"

#if ORK_X86
#define ORK_WIDTH 8
#define ORK_TARGET ORK_TARGET_AVX2
#define ORK_HAS_FMA 1
#define ORK_SUFFIX(name) name##_avx2
#include "elementwise_template.h"
#endif
