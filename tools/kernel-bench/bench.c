// Kernel benchmark and quick self-check for Sources/CKernels on MobileNetV2 shapes (GFLOP/s, one thread).
// Build and run from the package root:
//   clang -O2 -ISources/CKernels/include Sources/CKernels/*.c tools/kernel-bench/bench.c -lm -o /tmp/kernel-bench
//   /tmp/kernel-bench [isa-level 0|1|2]
#include "CKernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

// Median of `runs` timings of fn, each repeated enough to take ~2 ms.
#define TIME(result, body)                                                          \
    do {                                                                            \
        double times[15];                                                           \
        int reps = 1;                                                               \
        double t0 = now();                                                          \
        body;                                                                       \
        double one = now() - t0;                                                    \
        reps = one > 0 ? (int)(0.002 / one) + 1 : 1;                                \
        for (int run = 0; run < 15; run++) {                                        \
            double s = now();                                                       \
            for (int rep = 0; rep < reps; rep++) { body; }                          \
            times[run] = (now() - s) / reps;                                        \
        }                                                                           \
        for (int i = 0; i < 15; i++)                                                \
            for (int j = i + 1; j < 15; j++)                                        \
                if (times[j] < times[i]) { double x = times[i]; times[i] = times[j]; times[j] = x; } \
        result = times[7];                                                          \
    } while (0)

static void bench_gemm(size_t m, size_t k, size_t n) {
    float *a = buffer(m * k), *w = buffer(n * k), *bias = buffer(n), *c = buffer(m * n);
    float *packed = aligned_alloc(64, ork_gemm_packed_size(k, n) * sizeof(float) + 64);
    ork_gemm_pack_nk(w, k, n, bias, packed);
    ork_gemm_args args = {.k = k, .n = n, .a = a, .a_row_stride = k, .packed_b = packed, .c = c, .c_row_stride = n,
                          .min = 0.0f, .max = 6.0f};
    // Spot check against a naive product.
    ork_gemm(&args, 0, m);
    double worst = 0;
    for (size_t i = 0; i < m; i += m / 7 + 1)
        for (size_t j = 0; j < n; j++) {
            double s = bias[j];
            for (size_t kk = 0; kk < k; kk++) s += (double)a[i * k + kk] * w[j * k + kk];
            s = s < 0 ? 0 : s > 6 ? 6 : s;
            double e = fabs(s - c[i * n + j]);
            if (e > worst) worst = e;
        }
    double t;
    TIME(t, ork_gemm(&args, 0, m));
    printf("gemm   M=%6zu K=%4zu N=%4zu  %8.1f us  %6.1f GFLOP/s  (max err %.1e)\n", m, k, n, t * 1e6,
           2.0 * m * n * k / t * 1e-9, worst);
    free(a); free(w); free(bias); free(c); free(packed);
}

static void bench_depthwise(size_t h, size_t channels, size_t kernel, size_t stride) {
    size_t pad = kernel / 2;
    size_t oh = (h + 2 * pad - kernel) / stride + 1;
    float *in = buffer(h * h * channels), *w = buffer(channels * kernel * kernel), *bias = buffer(channels);
    float *out = buffer(oh * oh * channels);
    float *packed = aligned_alloc(64, ork_depthwise_packed_size(channels, kernel, kernel) * sizeof(float) + 64);
    ork_depthwise_pack(w, bias, channels, kernel, kernel, packed);
    ork_depthwise_args args = {.batch = 1, .input_h = h, .input_w = h, .channels = channels, .output_h = oh,
                               .output_w = oh, .kernel_h = kernel, .kernel_w = kernel, .stride_h = stride,
                               .stride_w = stride, .dilation_h = 1, .dilation_w = 1, .pad_top = pad, .pad_left = pad,
                               .input = in, .packed_weights = packed, .output = out, .min = 0.0f, .max = 6.0f};
    ork_depthwise(&args, 0, oh);
    double worst = 0;
    for (size_t y = 0; y < oh; y += 3)
        for (size_t x = 0; x < oh; x++)
            for (size_t c = 0; c < channels; c++) {
                double s = bias[c];
                for (size_t ky = 0; ky < kernel; ky++)
                    for (size_t kx = 0; kx < kernel; kx++) {
                        long iy = (long)(y * stride + ky) - (long)pad, ix = (long)(x * stride + kx) - (long)pad;
                        if (iy < 0 || ix < 0 || iy >= (long)h || ix >= (long)h) continue;
                        s += (double)in[(iy * h + ix) * channels + c] * w[c * kernel * kernel + ky * kernel + kx];
                    }
                s = s < 0 ? 0 : s > 6 ? 6 : s;
                double e = fabs(s - out[(y * oh + x) * channels + c]);
                if (e > worst) worst = e;
            }
    double t;
    TIME(t, ork_depthwise(&args, 0, oh));
    printf("dw %zux%zu s%zu %3zux%-3zu C=%4zu        %8.1f us  %6.1f GFLOP/s  (max err %.1e)\n", kernel, kernel, stride,
           h, h, channels, t * 1e6, 2.0 * oh * oh * channels * kernel * kernel / t * 1e-9, worst);
    free(in); free(w); free(bias); free(out); free(packed);
}

static void bench_stem(size_t h, size_t cin, size_t cout) {
    size_t oh = (h + 1 - 3) / 2 + 1;
    float *in = buffer(h * h * cin), *w = buffer(cout * cin * 9), *bias = buffer(cout), *out = buffer(oh * oh * cout);
    float *packed = aligned_alloc(64, ork_convolution_packed_size(cout, cin, 3, 3, 1) * sizeof(float) + 64);
    ork_convolution_pack(w, bias, cout, cin, 3, 3, 1, packed);
    ork_convolution_args args = {.batch = 1, .input_h = h, .input_w = h, .input_channels = cin, .output_h = oh,
                                 .output_w = oh, .output_channels = cout, .kernel_h = 3, .kernel_w = 3, .stride_h = 2,
                                 .stride_w = 2, .dilation_h = 1, .dilation_w = 1, .pad_top = 0, .pad_left = 0,
                                 .groups = 1, .input = in, .packed_weights = packed, .output = out,
                                 .min = 0.0f, .max = 6.0f};
    args.pad_top = args.pad_left = 1;  // torch: pads 1,1,1,1 -> 112 outputs
    oh = (h + 2 - 3) / 2 + 1;
    args.output_h = args.output_w = oh;
    float *scratch = aligned_alloc(64, ork_convolution_scratch_size(&args) * sizeof(float) + 64);
    double t;
    TIME(t, ork_convolution(&args, 0, oh * oh, scratch));
    printf("stem 3x3 s2 %zux%zu %zu->%zu           %8.1f us  %6.1f GFLOP/s\n", h, h, cin, cout, t * 1e6,
           2.0 * oh * oh * cout * cin * 9 / t * 1e-9);
    free(in); free(w); free(bias); free(out); free(packed); free(scratch);
}

int main(int argc, char **argv) {
    if (argc > 1) ork_set_isa_level(atoi(argv[1]));
    printf("ISA level %d (detected %d)\n", ork_isa_level(), ork_detected_isa_level());
    bench_gemm(112 * 112, 32, 16);
    bench_gemm(112 * 112, 16, 96);
    bench_gemm(56 * 56, 24, 144);
    bench_gemm(56 * 56, 144, 24);
    bench_gemm(28 * 28, 192, 32);
    bench_gemm(28 * 28, 32, 192);
    bench_gemm(14 * 14, 384, 64);
    bench_gemm(14 * 14, 64, 384);
    bench_gemm(14 * 14, 576, 96);
    bench_gemm(7 * 7, 960, 160);
    bench_gemm(7 * 7, 960, 320);
    bench_gemm(7 * 7, 320, 1280);
    bench_gemm(1, 1280, 1000);
    bench_depthwise(112, 32, 3, 1);
    bench_depthwise(112, 96, 3, 2);
    bench_depthwise(56, 144, 3, 1);
    bench_depthwise(56, 144, 3, 2);
    bench_depthwise(28, 192, 3, 1);
    bench_depthwise(28, 192, 3, 2);
    bench_depthwise(14, 384, 3, 1);
    bench_depthwise(14, 576, 3, 1);
    bench_depthwise(14, 576, 3, 2);
    bench_depthwise(7, 960, 3, 1);
    bench_depthwise(28, 240, 5, 1);
    bench_depthwise(14, 480, 5, 1);
    bench_depthwise(7, 1152, 5, 1);
    bench_stem(224, 3, 32);
    return 0;
}
