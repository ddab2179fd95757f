// Winograd F(2x2, 3x3) convolution NHWC for portable C (4-float vectors): winograd_driver.h compiled for this level.
#include "internal.h"

#define ORK_VECTOR_PORTABLE
#include "vector_ops.h"
#define ORK_WINOGRAD_FUNCTION ork_winograd_portable
#define ORK_WINOGRAD_GEMM ork_gemm_portable
#include "winograd_driver.h"
