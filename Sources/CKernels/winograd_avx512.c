// Winograd F(2x2, 3x3) convolution NHWC for AVX-512 (16 channels per vector): winograd_driver.h compiled for this level.
#include "internal.h"

#if ORK_X86
#define ORK_VECTOR_AVX512
#include "vector_ops.h"
#define ORK_WINOGRAD_FUNCTION ork_winograd_avx512
#define ORK_WINOGRAD_GEMM ork_gemm_avx512
#include "winograd_driver.h"
#endif
