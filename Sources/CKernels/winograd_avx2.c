// Winograd F(2x2, 3x3) convolution NHWC for AVX2 (8 channels per vector): winograd_driver.h compiled for this level.
#include "internal.h"

#if ORK_X86
#define ORK_VECTOR_AVX2
#include "vector_ops.h"
#define ORK_WINOGRAD_FUNCTION ork_winograd_avx2
#define ORK_WINOGRAD_GEMM ork_gemm_avx2
#include "winograd_driver.h"
#endif
