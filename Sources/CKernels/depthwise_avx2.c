// Depthwise convolution NHWC for AVX2 + FMA (8 channels per vector): depthwise_driver.h compiled for this level.
#include "internal.h"

#if ORK_X86
#define ORK_VECTOR_AVX2
#include "vector_ops.h"
#define ORK_DEPTHWISE_FUNCTION ork_depthwise_avx2
#include "depthwise_driver.h"
#endif
