// Elementwise kernels for AVX-512 (16-float vectors).
#include "internal.h"

#if ORK_X86
#define ORK_WIDTH 16
#define ORK_TARGET ORK_TARGET_AVX512
#define ORK_HAS_FMA 1
#define ORK_SUFFIX(name) name##_avx512
#include "elementwise_template.h"
#endif
