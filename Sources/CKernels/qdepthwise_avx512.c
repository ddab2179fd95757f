// int8 depthwise convolution NHWC for AVX-512: the AVX-512 BW variant (vpmaddwd + vpaddd) and the AVX-512 VNNI one
// (vpdpwssd), one body (qdepthwise_avx512_body.h) compiled for each.
#include "quantized_vector.h"
#include "depthwise_geometry.h"

#if ORK_X86

#define QDW_TARGET ORK_TARGET_AVX512
#define QDW_NAME(name) name##_avx512
#define QDW_ENTRY ork_qdepthwise_avx512
#define QDW_ACCUMULATE(acc, x, w) _mm512_add_epi32(acc, _mm512_madd_epi16(x, w))
#include "qdepthwise_avx512_body.h"
#undef QDW_TARGET
#undef QDW_NAME
#undef QDW_ENTRY
#undef QDW_ACCUMULATE

#define QDW_TARGET ORK_TARGET_AVX512VNNI
#define QDW_NAME(name) name##_avx512vnni
#define QDW_ENTRY ork_qdepthwise_avx512vnni
#define QDW_ACCUMULATE(acc, x, w) _mm512_dpwssd_epi32(acc, x, w)
#include "qdepthwise_avx512_body.h"

#endif
