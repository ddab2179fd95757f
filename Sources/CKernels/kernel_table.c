// The kernel table: every family's variant per ISA level, the best one resolved once from __builtin_cpu_supports
// and lowered to the ONNXRUN_MAX_ISA cap when the environment sets one.
#include "internal.h"

#include <stdlib.h>
#include <strings.h>

static const ork_kernel_table portable = {
    .isa = ORK_ISA_PORTABLE,
    .name = "portable C",
    .gemm = ork_gemm_portable,
    .depthwise = ork_depthwise_portable,
    .convolution = ork_convolution_portable,
    .winograd = ork_winograd_portable,
    .max_pool = ork_max_pool_portable,
    .average_pool = ork_average_pool_portable,
    .layer_norm = ork_layer_norm_portable,
};

#if ORK_X86
static const ork_kernel_table avx2 = {
    .isa = ORK_ISA_AVX2,
    .name = "AVX2+FMA",
    .gemm = ork_gemm_avx2,
    .depthwise = ork_depthwise_avx2,
    .convolution = ork_convolution_avx2,
    .winograd = ork_winograd_avx2,
    .max_pool = ork_max_pool_avx2,
    .average_pool = ork_average_pool_avx2,
    .layer_norm = ork_layer_norm_avx2,
};

static const ork_kernel_table avx512 = {
    .isa = ORK_ISA_AVX512,
    .name = "AVX-512",
    .gemm = ork_gemm_avx512,
    .depthwise = ork_depthwise_avx512,
    .convolution = ork_convolution_avx512,
    .winograd = ork_winograd_avx512,
    .max_pool = ork_max_pool_avx512,
    .average_pool = ork_average_pool_avx512,
    .layer_norm = ork_layer_norm_avx512,
};
#endif

ork_isa ork_detected_isa(void) {
#if ORK_X86
    // __builtin_cpu_supports also checks that the OS saves the vector state (XCR0).
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma")) {
        return ORK_ISA_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return ORK_ISA_AVX2;
    }
#endif
    return ORK_ISA_PORTABLE;
}

// The table of a level this build has (the x86 levels only on x86).
static const ork_kernel_table *table_of(ork_isa isa) {
    switch (isa) {
#if ORK_X86
    case ORK_ISA_AVX512: return &avx512;
    case ORK_ISA_AVX2: return &avx2;
#endif
    default: return &portable;
    }
}

// NULL until first use. Racing first calls all store the same table, so relaxed atomics suffice.
static const ork_kernel_table *best = NULL;

ork_max_isa ork_max_isa_setting(void) {
    // Racing first calls store the same value.
    static int setting = -1;
    int value = __atomic_load_n(&setting, __ATOMIC_RELAXED);
    if (value < 0) {
        const char *text = getenv("ONNXRUN_MAX_ISA");
        value = text == NULL || text[0] == 0         ? ORK_MAX_ISA_UNSET
                : strcasecmp(text, "portable") == 0 ? ORK_MAX_ISA_PORTABLE
                : strcasecmp(text, "avx2") == 0     ? ORK_MAX_ISA_AVX2
                : strcasecmp(text, "avx512") == 0   ? ORK_MAX_ISA_AVX512
                                                    : ORK_MAX_ISA_INVALID;
        __atomic_store_n(&setting, value, __ATOMIC_RELAXED);
    }
    return (ork_max_isa)value;
}

int ork_isa_extensions_allowed(void) {
    const ork_max_isa setting = ork_max_isa_setting();
    return setting == ORK_MAX_ISA_UNSET || setting == ORK_MAX_ISA_INVALID;
}

// The detected level, lowered to ONNXRUN_MAX_ISA.
static ork_isa allowed_isa(void) {
    const ork_isa detected = ork_detected_isa();
    switch (ork_max_isa_setting()) {
    case ORK_MAX_ISA_PORTABLE: return ORK_ISA_PORTABLE;
    case ORK_MAX_ISA_AVX2: return detected < ORK_ISA_AVX2 ? detected : ORK_ISA_AVX2;
    default: return detected;
    }
}

const ork_kernel_table *ork_kernels(void) {
    const ork_kernel_table *table = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (table == NULL) {
        table = table_of(allowed_isa());
        __atomic_store_n(&best, table, __ATOMIC_RELAXED);
    }
    return table;
}

const ork_kernel_table *ork_kernel_table_for(ork_isa isa) {
    if (isa < ORK_ISA_PORTABLE || isa > ork_kernels()->isa) return NULL;
    return table_of(isa);
}
