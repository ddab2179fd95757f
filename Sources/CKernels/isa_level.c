// Run-time choice of the ISA level the kernels use: detected once, lowered by tests.
#include "internal.h"

// -1 until first use. Racing first calls all store the same detected value, so relaxed atomics suffice.
static int selected_level = -1;

int ork_detected_isa_level(void) {
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

int ork_current_isa_level(void) {
    int level = __atomic_load_n(&selected_level, __ATOMIC_RELAXED);
    if (level < 0) {
        level = ork_detected_isa_level();
        __atomic_store_n(&selected_level, level, __ATOMIC_RELAXED);
    }
    return level;
}

int ork_isa_level(void) { return ork_current_isa_level(); }

int ork_set_isa_level(int level) {
    int detected = ork_detected_isa_level();
    if (level > detected) level = detected;
    if (level < ORK_ISA_PORTABLE) level = ORK_ISA_PORTABLE;
    __atomic_store_n(&selected_level, level, __ATOMIC_RELAXED);
    return level;
}
