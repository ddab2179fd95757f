// Depthwise convolution NHWC for AVX-512 (16 channels per vector): depthwise_driver.h compiled for this level.
#include "internal.h"

#if ORK_X86
#define ORK_VECTOR_AVX512
#include "vector_ops.h"
#define ORK_DEPTHWISE_FUNCTION ork_depthwise_avx512
#include "depthwise_driver.h"
#endif
