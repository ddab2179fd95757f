// The vector vocabulary the kernel drivers are written in, defined once per ISA level: a driver header
// (`*_driver.h`) is included by one file per level after that level's `ORK_VECTOR_*` choice, so each kernel's
// logic exists once and is compiled per ISA (as XNNPACK generates its variants from one template).
//
// Include this after defining exactly one of ORK_VECTOR_AVX512, ORK_VECTOR_AVX2, ORK_VECTOR_PORTABLE. It defines:
//   ORK_V_TARGET            the function attribute of the level
//   ork_v, ork_v_mask       a vector of ORK_V_LANES floats and a lane mask
//   ork_v_load / ork_v_store / ork_v_load_masked / ork_v_store_masked / ork_v_set1 / ork_v_fma (a * b + c)
//   ork_v_add / ork_v_sub / ork_v_mul / ork_v_min / ork_v_max, ork_v_mask_first(count), ork_v_mask_all()
//   ORK_V_ACTIVATION        the level's ork_activation_apply variant (for the epilogue's activation)
// min/max keep the first operand's NaN behaviour of the x86 instructions: max(a, b) returns b when either is NaN.
#pragma once

#include "internal.h"

#if defined(ORK_VECTOR_AVX512)
#include <immintrin.h>
#define ORK_V_TARGET ORK_TARGET_AVX512
#define ORK_V_ACTIVATION ork_activation_apply_avx512
#define ORK_V_LANES 16
typedef __m512 ork_v;
typedef __mmask16 ork_v_mask;
ORK_INLINE ORK_V_TARGET ork_v ork_v_load(const float *p) { return _mm512_loadu_ps(p); }
ORK_INLINE ORK_V_TARGET void ork_v_store(float *p, ork_v v) { _mm512_storeu_ps(p, v); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_load_masked(ork_v_mask m, const float *p) { return _mm512_maskz_loadu_ps(m, p); }
ORK_INLINE ORK_V_TARGET void ork_v_store_masked(float *p, ork_v_mask m, ork_v v) { _mm512_mask_storeu_ps(p, m, v); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_set1(float x) { return _mm512_set1_ps(x); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_fma(ork_v a, ork_v b, ork_v c) { return _mm512_fmadd_ps(a, b, c); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_add(ork_v a, ork_v b) { return _mm512_add_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_sub(ork_v a, ork_v b) { return _mm512_sub_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_mul(ork_v a, ork_v b) { return _mm512_mul_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_min(ork_v a, ork_v b) { return _mm512_min_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_max(ork_v a, ork_v b) { return _mm512_max_ps(a, b); }
ORK_INLINE ork_v_mask ork_v_mask_first(size_t count) {
    return count >= 16 ? (ork_v_mask)0xFFFF : (ork_v_mask)((1u << count) - 1u);
}
ORK_INLINE ork_v_mask ork_v_mask_all(void) { return (ork_v_mask)0xFFFF; }

#elif defined(ORK_VECTOR_AVX2)
#include <immintrin.h>
#define ORK_V_TARGET ORK_TARGET_AVX2
#define ORK_V_ACTIVATION ork_activation_apply_avx2
#define ORK_V_LANES 8
typedef __m256 ork_v;
typedef __m256i ork_v_mask;
static const int32_t ork_v_mask_source[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
ORK_INLINE ORK_V_TARGET ork_v ork_v_load(const float *p) { return _mm256_loadu_ps(p); }
ORK_INLINE ORK_V_TARGET void ork_v_store(float *p, ork_v v) { _mm256_storeu_ps(p, v); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_load_masked(ork_v_mask m, const float *p) { return _mm256_maskload_ps(p, m); }
ORK_INLINE ORK_V_TARGET void ork_v_store_masked(float *p, ork_v_mask m, ork_v v) { _mm256_maskstore_ps(p, m, v); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_set1(float x) { return _mm256_set1_ps(x); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_fma(ork_v a, ork_v b, ork_v c) { return _mm256_fmadd_ps(a, b, c); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_add(ork_v a, ork_v b) { return _mm256_add_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_sub(ork_v a, ork_v b) { return _mm256_sub_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_mul(ork_v a, ork_v b) { return _mm256_mul_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_min(ork_v a, ork_v b) { return _mm256_min_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v ork_v_max(ork_v a, ork_v b) { return _mm256_max_ps(a, b); }
ORK_INLINE ORK_V_TARGET ork_v_mask ork_v_mask_first(size_t count) {
    return _mm256_loadu_si256((const __m256i *)(ork_v_mask_source + 8 - (count > 8 ? 8 : count)));
}
ORK_INLINE ORK_V_TARGET ork_v_mask ork_v_mask_all(void) { return _mm256_set1_epi32(-1); }

#elif defined(ORK_VECTOR_PORTABLE)
// Four floats in a GCC/Clang vector: SSE2 or NEON registers, with no target attribute needed.
#define ORK_V_TARGET
#define ORK_V_ACTIVATION ork_activation_apply_portable
#define ORK_V_LANES 4
typedef float ork_v __attribute__((vector_size(16)));
typedef size_t ork_v_mask;  // the number of leading lanes in use
ORK_INLINE ork_v ork_v_load(const float *p) {
    ork_v v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
ORK_INLINE void ork_v_store(float *p, ork_v v) { __builtin_memcpy(p, &v, sizeof v); }
ORK_INLINE ork_v ork_v_load_masked(ork_v_mask m, const float *p) {
    ork_v v = {0, 0, 0, 0};
    for (size_t i = 0; i < m; i++) v[i] = p[i];
    return v;
}
ORK_INLINE void ork_v_store_masked(float *p, ork_v_mask m, ork_v v) {
    for (size_t i = 0; i < m; i++) p[i] = v[i];
}
ORK_INLINE ork_v ork_v_set1(float x) { return (ork_v){x, x, x, x}; }
ORK_INLINE ork_v ork_v_fma(ork_v a, ork_v b, ork_v c) { return a * b + c; }
ORK_INLINE ork_v ork_v_add(ork_v a, ork_v b) { return a + b; }
ORK_INLINE ork_v ork_v_sub(ork_v a, ork_v b) { return a - b; }
ORK_INLINE ork_v ork_v_mul(ork_v a, ork_v b) { return a * b; }
typedef int32_t ork_v_bits __attribute__((vector_size(16)));
// As the x86 instructions: the second operand when the comparison is false (NaN included). C has no vector
// `?:`, so the comparison's all-ones lanes select by bits.
ORK_INLINE ork_v ork_v_select(ork_v_bits take_a, ork_v a, ork_v b) {
    return (ork_v)(((ork_v_bits)a & take_a) | ((ork_v_bits)b & ~take_a));
}
ORK_INLINE ork_v ork_v_min(ork_v a, ork_v b) { return ork_v_select(a < b, a, b); }
ORK_INLINE ork_v ork_v_max(ork_v a, ork_v b) { return ork_v_select(a > b, a, b); }
ORK_INLINE ork_v_mask ork_v_mask_first(size_t count) { return count > 4 ? 4 : count; }
ORK_INLINE ork_v_mask ork_v_mask_all(void) { return 4; }

#else
#error "define ORK_VECTOR_AVX512, ORK_VECTOR_AVX2 or ORK_VECTOR_PORTABLE before including vector_ops.h"
#endif
