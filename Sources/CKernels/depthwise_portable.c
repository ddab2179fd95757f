// Depthwise convolution NHWC in portable C (4-float vectors: SSE2, NEON): depthwise_driver.h
// compiled for this level.
#include "internal.h"

#define ORK_VECTOR_PORTABLE
#include "vector_ops.h"
#define ORK_DEPTHWISE_FUNCTION ork_depthwise_portable
#include "depthwise_driver.h"
