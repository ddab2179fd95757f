// Max and average pooling NHWC for AVX2 (8 channels per vector): pooling_driver.h compiled for this level.
#include "internal.h"

#if ORK_X86
#define ORK_VECTOR_AVX2
#include "vector_ops.h"
#define ORK_MAX_POOL_FUNCTION ork_max_pool_avx2
#define ORK_AVERAGE_POOL_FUNCTION ork_average_pool_avx2
#include "pooling_driver.h"
#endif
