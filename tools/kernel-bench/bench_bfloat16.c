// bfloat16 GEMM against float32 on MobileNetV2 1.0 @224's 1x1 convolution shapes: GFLOP/s and the ratio, one thread,
// the two kernels interleaved (A B A B ...) and each shape's minimum kept, so a busy machine hits both alike.
// Build and run from the package root (a CPU with AVX512-BF16):
//   clang -O2 -ISources/CKernels/include Sources/CKernels/*.c tools/kernel-bench/bench_bfloat16.c -lm -o /tmp/bench-bf16
//   /tmp/bench-bf16
#include "CKernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *buffer(size_t count) {
    float *p = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64 + 64);
    for (size_t i = 0; i < count; i++) p[i] = (float)((rand() % 2001) - 1000) / 1000.0f;
    return p;
}

// Seconds of one call, repeated to take ~1 ms.
static double time_once(void (*kernel)(const ork_gemm_args *, size_t, size_t), const ork_gemm_args *args, size_t m,
                        int reps) {
    double start = now();
    for (int rep = 0; rep < reps; rep++) kernel(args, 0, m);
    return (now() - start) / reps;
}

int main(void) {
    if (ork_bfloat16_detected_isa() != ORK_BFLOAT16_AVX512BF16) {
        printf("this CPU lacks AVX512-BF16: nothing to compare\n");
        return 0;
    }
    // (M, K, N): pixels x input channels x output channels of each distinct 1x1 conv, and the classifier.
    static const size_t shapes[][3] = {
        {12544, 32, 32}, {12544, 32, 16}, {12544, 16, 96}, {3136, 24, 144}, {3136, 144, 24}, {784, 32, 192},
        {784, 192, 32}, {196, 64, 384}, {196, 384, 64}, {196, 96, 576}, {196, 576, 96}, {49, 160, 960},
        {49, 960, 160}, {49, 960, 320}, {49, 320, 1280}, {1, 1280, 1000}};
    double total_float = 0, total_bfloat = 0;
    printf("    M     K     N   fp32 GFLOP/s   bf16 GFLOP/s   bf16/fp32 speed   max |bf16 - fp32|\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const size_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        float *a = buffer(m * k), *w = buffer(n * k), *bias = buffer(n), *c = buffer(m * n), *d = buffer(m * n);
        float *packed = aligned_alloc(64, ork_gemm_packed_size(k, n) * sizeof(float) + 64);
        uint32_t *packed16 = aligned_alloc(64, ork_gemm_bfloat16_packed_size(k, n) * 4 + 64);
        ork_gemm_pack_nk(w, k, n, bias, packed);
        ork_gemm_bfloat16_pack(packed, k, n, packed16);
        ork_gemm_args args = {.k = k, .n = n, .a = a, .a_row_stride = k, .packed_b = packed, .c = c,
                              .c_row_stride = n, .min = -INFINITY, .max = INFINITY};
        ork_gemm_args args16 = args;
        args16.packed_b = (const float *)(const void *)packed16;
        args16.c = d;
        ork_gemm(&args, 0, m);
        ork_gemm_bfloat16_avx512bf16(&args16, 0, m);
        double worst = 0;
        for (size_t i = 0; i < m * n; i++) worst = fmax(worst, fabs((double)c[i] - d[i]));
        const double flop = 2.0 * m * n * k;
        const int reps = (int)(2e-4 / (flop / 100e9)) + 1;
        double best_float = 1e9, best_bfloat = 1e9;
        for (int round = 0; round < 31; round++) {
            best_float = fmin(best_float, time_once(ork_gemm, &args, m, reps));
            best_bfloat = fmin(best_bfloat, time_once(ork_gemm_bfloat16_avx512bf16, &args16, m, reps));
        }
        total_float += best_float;
        total_bfloat += best_bfloat;
        printf("%5zu %5zu %5zu   %12.1f   %12.1f   %15.2fx   %.3g\n", m, k, n, flop / best_float * 1e-9,
               flop / best_bfloat * 1e-9, best_float / best_bfloat, worst);
        free(a); free(w); free(bias); free(c); free(d); free(packed); free(packed16);
    }
    printf("all shapes once: fp32 %.1f us, bf16 %.1f us: %.2fx\n", total_float * 1e6, total_bfloat * 1e6,
           total_float / total_bfloat);
    return 0;
}
