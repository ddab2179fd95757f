// Max and average pooling NHWC for AVX-512 (16 channels per vector): pooling_driver.h compiled for this level.
#include "internal.h"

#if ORK_X86
#define ORK_VECTOR_AVX512
#include "vector_ops.h"
#define ORK_MAX_POOL_FUNCTION ork_max_pool_avx512
#define ORK_AVERAGE_POOL_FUNCTION ork_average_pool_avx512
#include "pooling_driver.h"
#endif
