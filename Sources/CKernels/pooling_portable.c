// Max and average pooling NHWC in portable C (4-float vectors): pooling_driver.h compiled for this level.
#include "internal.h"

#define ORK_VECTOR_PORTABLE
#include "vector_ops.h"
#define ORK_MAX_POOL_FUNCTION ork_max_pool_portable
#define ORK_AVERAGE_POOL_FUNCTION ork_average_pool_portable
#include "pooling_driver.h"
