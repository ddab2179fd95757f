// Kernel benchmark and quick self-check for Sources/CKernels on MobileNetV2 shapes (GFLOP/s, one thread).
// Build and run from the package root:
//   clang -O2 -ISources/CKernels/include Sources/CKernels/*.c tools/kernel-bench/bench.c -lm -o /tmp/kernel-bench
//   /tmp/kernel-bench [isa-level 0|1|2 [net|conv|gemm|dw|int8]]   ("net": only whole MobileNetV2 networks; "conv":
//   only the convolution table, GFLOP/s and the ratio to a 1x1 conv; "gemm": only the pointwise GEMMs (whole, then
//   band-sized; with hot and with cold weights) and the stem; "dw": only the fp32 depthwise table;
//   "int8": the int8 pointwise GEMM's GOP/s next to the fp32 GEMM's GFLOP/s on the same shapes, and int8 vs fp32
//   depthwise)
#include "CKernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// The variants measured: the best level, or the one named on the command line.
static const ork_kernel_table *kernels;

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

// The fastest of 15 timings of `body`, each repeated enough to take ~2 ms: on shared cores the minimum is the
// repeatable figure (interference only ever adds time).
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
        result = times[0];                                                          \
    } while (0)

static void bench_gemm(size_t m, size_t k, size_t n) {
    float *a = buffer(m * k), *w = buffer(n * k), *bias = buffer(n), *c = buffer(m * n);
    float *packed = aligned_alloc(64, ork_gemm_packed_size(k, n) * sizeof(float) + 64);
    ork_gemm_pack_nk(w, k, n, bias, packed);
    ork_gemm_args args = {.k = k, .n = n, .a = a, .a_row_stride = k, .packed_b = packed, .c = c, .c_row_stride = n,
                          .min = 0.0f, .max = 6.0f};
    // Spot check against a naive product.
    kernels->gemm(&args, 0, m);
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
    TIME(t, kernels->gemm(&args, 0, m));
    // Cold weights, as in a network pass (the other layers' weights evict these from L2): the calls rotate over
    // copies of the packed weights, 16 MB of them.
    const size_t packed_bytes = ork_gemm_packed_size(k, n) * sizeof(float);
    const size_t copies = 16000000 / packed_bytes + 2;
    float **cold = malloc(copies * sizeof(float *));
    for (size_t i = 0; i < copies; i++) {
        cold[i] = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
        memcpy(cold[i], packed, packed_bytes);
    }
    size_t next = 0;
    double t_cold;
    TIME(t_cold, (args.packed_b = cold[next], next = (next + 1) % copies, kernels->gemm(&args, 0, m)));
    printf("gemm   M=%6zu K=%4zu N=%4zu  %8.1f us  %6.1f GFLOP/s  cold weights %8.1f us %6.1f  (max err %.1e)\n",
           m, k, n, t * 1e6, 2.0 * m * n * k / t * 1e-9, t_cold * 1e6, 2.0 * m * n * k / t_cold * 1e-9, worst);
    for (size_t i = 0; i < copies; i++) free(cold[i]);
    free(cold); free(a); free(w); free(bias); free(c); free(packed);
}

// The int8 pointwise GEMM (u8 x s8, requantized store) on the same shape: GOP/s (2 ops per MAC) next to fp32.
static void bench_qgemm(size_t m, size_t k, size_t n) {
    uint8_t *a = aligned_alloc(64, m * k + 64), *c = aligned_alloc(64, m * n + 64);
    int8_t *w = malloc(k * n);
    int32_t *bias = malloc(n * sizeof(int32_t));
    float *scales = malloc(n * sizeof(float));
    for (size_t i = 0; i < m * k; i++) a[i] = (uint8_t)(rand() % 256);
    for (size_t i = 0; i < k * n; i++) w[i] = (int8_t)(rand() % 256 - 128);
    for (size_t i = 0; i < n; i++) { bias[i] = rand() % 2001 - 1000; scales[i] = 1e-4f; }
    void *packed = aligned_alloc(64, (ork_qgemm_packed_size(k, n) + 63) / 64 * 64);
    ork_qgemm_pack(w, 0, k, n, 1, k, bias, NULL, 0, scales, n, packed);
    ork_qgemm_args args = {.k = k, .n = n, .a = a, .a_row_stride = k, .a_zero_point = 128, .packed_b = packed, .c = c,
                           .c_row_stride = n, .epilogue = {.zero_point = 0, .min = 0, .max = 255}};
    double t;
    TIME(t, ork_qgemm(&args, 0, m));
    printf("qgemm  M=%6zu K=%4zu N=%4zu  %8.1f us  %6.1f GOP/s   (int8 variant %d)\n", m, k, n, t * 1e6,
           2.0 * m * n * k / t * 1e-9, ork_int8_variant());
    free(a); free(c); free(w); free(bias); free(scales); free(packed);
}

static void bench_qdepthwise(size_t h, size_t channels, size_t stride) {
    const size_t oh = (h + 2 - 3) / stride + 1;
    uint8_t *in = aligned_alloc(64, h * h * channels + 64), *out = aligned_alloc(64, oh * oh * channels + 64);
    int8_t *w = malloc(channels * 9);
    float *scales = malloc(channels * sizeof(float));
    for (size_t i = 0; i < h * h * channels; i++) in[i] = (uint8_t)(rand() % 256);
    for (size_t i = 0; i < channels * 9; i++) w[i] = (int8_t)(rand() % 256 - 128);
    for (size_t i = 0; i < channels; i++) scales[i] = 1e-3f;
    void *packed = aligned_alloc(64, (ork_qdepthwise_packed_size(channels, 3, 3) + 63) / 64 * 64);
    ork_qdepthwise_pack(w, 0, NULL, NULL, 0, scales, channels, 128, channels, 3, 3, packed);
    ork_qdepthwise_args args = {.batch = 1, .input_h = h, .input_w = h, .channels = channels, .output_h = oh,
                                .output_w = oh, .kernel_h = 3, .kernel_w = 3, .stride_h = stride, .stride_w = stride,
                                .dilation_h = 1, .dilation_w = 1, .pad_top = 1, .pad_left = 1, .x_zero_point = 128,
                                .input = in, .packed_weights = packed, .output = out,
                                .epilogue = {.zero_point = 0, .min = 0, .max = 255}};
    double t;
    TIME(t, ork_qdepthwise(&args, 0, oh));
    printf("qdw 3x3 s%zu %3zux%-3zu C=%4zu         %8.1f us  %6.1f GOP/s\n", stride, h, h, channels, t * 1e6,
           2.0 * oh * oh * channels * 9 / t * 1e-9);
    free(in); free(out); free(w); free(scales); free(packed);
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
    kernels->depthwise(&args, 0, oh);
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
    TIME(t, kernels->depthwise(&args, 0, oh));
    printf("dw %zux%zu s%zu %3zux%-3zu C=%4zu        %8.1f us  %6.1f GFLOP/s  (max err %.1e)\n", kernel, kernel, stride,
           h, h, channels, t * 1e6, 2.0 * oh * oh * channels * kernel * kernel / t * 1e-9, worst);
    free(in); free(w); free(bias); free(out); free(packed);
}

// The GEMM time of an M x K x N product (packed B), for the convolution table's ratio column.
static double gemm_time(size_t m, size_t k, size_t n) {
    float *a = buffer(m * k), *w = buffer(n * k), *c = buffer(m * n);
    float *packed = aligned_alloc(64, ork_gemm_packed_size(k, n) * sizeof(float) + 64);
    ork_gemm_pack_nk(w, k, n, NULL, packed);
    ork_gemm_args args = {.k = k, .n = n, .a = a, .a_row_stride = k, .packed_b = packed, .c = c, .c_row_stride = n,
                          .min = -INFINITY, .max = INFINITY};
    double t;
    TIME(t, kernels->gemm(&args, 0, m));
    free(a); free(w); free(c); free(packed);
    return t;
}

// A convolution NHWC (square image and kernel, symmetric pads), checked against a naive sum on a few rows, and
// timed next to a 1x1 convolution of the same image and channels (a plain GEMM) and the GEMM of the
// convolution's own M x K x N: "vs 1x1" is the bar (>= 0.8), "vs GEMM" what the windowing costs.
static void bench_convolution(const char *label, size_t h, size_t cin, size_t cout, size_t kernel, size_t stride,
                              size_t pad, size_t groups, size_t dilation) {
    const size_t extent = (kernel - 1) * dilation + 1, oh = (h + 2 * pad - extent) / stride + 1;
    const size_t cin_group = cin / groups, cout_group = cout / groups, k = kernel * kernel * cin_group;
    float *in = buffer(h * h * cin), *w = buffer(cout * k), *bias = buffer(cout), *out = buffer(oh * oh * cout);
    float *packed = aligned_alloc(64, ork_convolution_packed_size(cout, cin_group, kernel, kernel, groups) * 4 + 64);
    ork_convolution_pack(w, bias, cout, cin_group, kernel, kernel, groups, packed);
    ork_convolution_args args = {.batch = 1, .input_h = h, .input_w = h, .input_channels = cin, .output_h = oh,
                                 .output_w = oh, .output_channels = cout, .kernel_h = kernel, .kernel_w = kernel,
                                 .stride_h = stride, .stride_w = stride, .dilation_h = dilation,
                                 .dilation_w = dilation, .pad_top = pad, .pad_left = pad, .groups = groups,
                                 .input = in, .packed_weights = packed, .output = out, .min = 0.0f, .max = INFINITY};
    float *scratch = aligned_alloc(64, ork_convolution_scratch_size(&args) * sizeof(float) + 64);
    kernels->convolution(&args, 0, oh * oh, scratch);
    double worst = 0;
    for (size_t y = 0; y < oh; y += oh / 3 + 1)
        for (size_t x = 0; x < oh; x++)
            for (size_t m = 0; m < cout; m++) {
                const size_t g = m / cout_group;
                double sum = bias[m];
                for (size_t ky = 0; ky < kernel; ky++)
                    for (size_t kx = 0; kx < kernel; kx++) {
                        long iy = (long)(y * stride + ky * dilation) - (long)pad;
                        long ix = (long)(x * stride + kx * dilation) - (long)pad;
                        if (iy < 0 || ix < 0 || iy >= (long)h || ix >= (long)h) continue;
                        for (size_t c = 0; c < cin_group; c++)
                            sum += (double)in[(iy * h + ix) * cin + g * cin_group + c] *
                                   w[((m * cin_group + c) * kernel + ky) * kernel + kx];
                    }
                sum = sum < 0 ? 0 : sum;
                double e = fabs(sum - out[(y * oh + x) * cout + m]);
                if (e > worst) worst = e;
            }
    // Three interleaved rounds, the fastest of each: the ratios compare like with like on a noisy machine.
    double t = INFINITY, pointwise = INFINITY, same_gemm = INFINITY;
    for (int round = 0; round < 3; round++) {
        double x;
        TIME(x, kernels->convolution(&args, 0, oh * oh, scratch));
        t = x < t ? x : t;
        x = gemm_time(oh * oh, cin, cout);
        pointwise = x < pointwise ? x : pointwise;
        x = gemm_time(oh * oh, k, cout_group);
        same_gemm = x < same_gemm ? x : same_gemm;
    }
    const double flops = 2.0 * oh * oh * cout * k;
    const double rate = flops / t * 1e-9;
    printf("%-26s %3zux%-3zu %4zu->%-4zu k%zu s%zu g%-3zu d%zu %8.1f us %6.1f GFLOP/s  vs 1x1 %4.2f  vs GEMM %4.2f"
           "  (max err %.1e)\n", label, h, h, cin, cout, kernel, stride, groups, dilation, t * 1e6, rate,
           rate / (2.0 * oh * oh * cout * cin / pointwise * 1e-9), rate / (2.0 * oh * oh * cout_group * k / same_gemm * 1e-9),
           worst);
    free(in); free(w); free(bias); free(out); free(packed); free(scratch);
}

// ResNet-18/50, the stems, RegNet-Y 400MF's grouped 3x3 (group width 8, 16, 24) and a dilated 3x3.
static void bench_convolutions(void) {
    bench_convolution("resnet 3x3", 56, 64, 64, 3, 1, 1, 1, 1);
    bench_convolution("resnet 3x3", 28, 128, 128, 3, 1, 1, 1, 1);
    bench_convolution("resnet 3x3", 14, 256, 256, 3, 1, 1, 1, 1);
    bench_convolution("resnet 3x3", 7, 512, 512, 3, 1, 1, 1, 1);
    bench_convolution("resnet 3x3 s2", 56, 64, 128, 3, 2, 1, 1, 1);
    bench_convolution("resnet 3x3 s2", 14, 256, 512, 3, 2, 1, 1, 1);
    bench_convolution("resnet50 1x1 s2", 56, 256, 512, 1, 2, 0, 1, 1);
    bench_convolution("resnet50 1x1 s2", 14, 1024, 2048, 1, 2, 0, 1, 1);
    bench_convolution("resnet stem 7x7 s2", 224, 3, 64, 7, 2, 3, 1, 1);
    bench_convolution("mobilenet stem 3x3 s2", 224, 3, 32, 3, 2, 1, 1, 1);
    bench_convolution("regnet grouped w8", 56, 48, 48, 3, 1, 1, 6, 1);
    bench_convolution("regnet grouped w16", 28, 112, 112, 3, 1, 1, 7, 1);
    bench_convolution("regnet grouped w24", 14, 216, 216, 3, 1, 1, 9, 1);
    bench_convolution("dilated 3x3", 28, 128, 128, 3, 1, 2, 1, 2);
}

// MARK: - A whole MobileNetV2 (torchvision layout) through the kernels, one thread: the kernels' share of a run.

static size_t make_divisible(double value) {
    size_t rounded = (size_t)(value + 4) / 8 * 8;
    if (rounded < 8) rounded = 8;
    if (rounded < 0.9 * value) rounded += 8;
    return rounded;
}

// kind: 0 stem, 1 pointwise, 2 depthwise, 3 pool + fully connected.
typedef struct { int kind; size_t h, w, cin, cout, stride, residual; float *packed; } layer;

static void bench_mobilenetv2(double width, size_t resolution) {
    static const size_t settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    layer layers[80];
    size_t count = 0, h = resolution;
    size_t channels = make_divisible(32 * width);
    size_t last = width > 1.0 ? make_divisible(1280 * width) : 1280;
    layers[count++] = (layer){0, h, h, 3, channels, 2, 0, NULL};
    h = (h + 1) / 2;
    for (int b = 0; b < 7; b++) {
        size_t out = make_divisible(settings[b][1] * width);
        for (size_t i = 0; i < settings[b][2]; i++) {
            size_t stride = i == 0 ? settings[b][3] : 1, hidden = channels * settings[b][0];
            if (settings[b][0] != 1) layers[count++] = (layer){1, h, h, channels, hidden, 1, 0, NULL};
            layers[count++] = (layer){2, h, h, hidden, hidden, stride, 0, NULL};
            h = (h - 1) / stride + 1;
            layers[count++] = (layer){1, h, h, hidden, out, 1, stride == 1 && channels == out, NULL};
            channels = out;
        }
    }
    layers[count++] = (layer){1, h, h, channels, last, 1, 0, NULL};
    layers[count++] = (layer){3, 1, 1, last, 1000, 1, 0, NULL};
    size_t biggest = resolution * resolution * 3;
    double flops = 0;
    for (size_t i = 0; i < count; i++) {
        layer *l = &layers[i];
        size_t oh = (l->h - 1) / l->stride + 1;
        if (l->h * l->w * l->cin > biggest) biggest = l->h * l->w * l->cin;
        if (oh * oh * l->cout > biggest) biggest = oh * oh * l->cout;
        float *w = buffer(l->cout * l->cin * 9), *bias = buffer(l->cout);
        switch (l->kind) {
        case 0:
            l->packed = aligned_alloc(64, ork_convolution_packed_size(l->cout, 3, 3, 3, 1) * 4 + 64);
            ork_convolution_pack(w, bias, l->cout, 3, 3, 3, 1, l->packed);
            flops += 2.0 * oh * oh * l->cout * 27;
            break;
        case 1: case 3:
            l->packed = aligned_alloc(64, ork_gemm_packed_size(l->cin, l->cout) * 4 + 64);
            ork_gemm_pack_nk(w, l->cin, l->cout, bias, l->packed);
            flops += 2.0 * oh * oh * l->cout * l->cin;
            break;
        case 2:
            l->packed = aligned_alloc(64, ork_depthwise_packed_size(l->cin, 3, 3) * 4 + 64);
            ork_depthwise_pack(w, bias, l->cin, 3, 3, l->packed);
            flops += 2.0 * oh * oh * l->cout * 9;
            break;
        }
        free(w); free(bias);
    }
    float *x = buffer(biggest), *y = buffer(biggest), *z = buffer(biggest), *scratch = buffer(96 * 27);
    // Shared machine: a run is often preempted for a scheduler tick (~4 ms), so also sum each layer's best time.
    double kind_time[4] = {0}, best = 1e9, layer_time[80], best_layer_time[80], min_layer_time[80];
    for (size_t i = 0; i < count; i++) min_layer_time[i] = 1e9;
    for (int run = 0; run < 30; run++) {
        double start = now(), times[4] = {0};
        // block_input: the input of the current inverted-residual block (read again by its projection's residual).
        float *in = x, *block_input = x;
        for (size_t i = 0; i < count; i++) {
            layer *l = &layers[i];
            size_t oh = (l->h - 1) / l->stride + 1;
            if (l->kind == 1 && i + 1 < count && layers[i + 1].kind == 2) block_input = in;  // an expansion
            float *out = (x != in && x != block_input) ? x : (y != in && y != block_input) ? y : z;
            // A projection (pointwise after a depthwise) is linear; every other conv has Relu6.
            const int linear = i > 0 && layers[i - 1].kind == 2;
            double t0 = now();
            if (l->kind == 0) {
                ork_convolution_args a = {.batch = 1, .input_h = l->h, .input_w = l->w, .input_channels = 3,
                                          .output_h = oh, .output_w = oh, .output_channels = l->cout, .kernel_h = 3,
                                          .kernel_w = 3, .stride_h = 2, .stride_w = 2, .dilation_h = 1,
                                          .dilation_w = 1, .pad_top = 1, .pad_left = 1, .groups = 1, .input = in,
                                          .packed_weights = l->packed, .output = out, .min = 0, .max = 6};
                kernels->convolution(&a, 0, oh * oh, scratch);
            } else if (l->kind == 1) {
                ork_gemm_args a = {.k = l->cin, .n = l->cout, .a = in, .a_row_stride = l->cin,
                                   .packed_b = l->packed, .residual = l->residual ? block_input : NULL,
                                   .residual_row_stride = l->cout, .c = out, .c_row_stride = l->cout,
                                   .min = linear ? -INFINITY : 0, .max = linear ? INFINITY : 6};
                kernels->gemm(&a, 0, oh * oh);
            } else if (l->kind == 2) {
                ork_depthwise_args a = {.batch = 1, .input_h = l->h, .input_w = l->w, .channels = l->cin,
                                        .output_h = oh, .output_w = oh, .kernel_h = 3, .kernel_w = 3,
                                        .stride_h = l->stride, .stride_w = l->stride, .dilation_h = 1,
                                        .dilation_w = 1, .pad_top = 1, .pad_left = 1, .input = in,
                                        .packed_weights = l->packed, .output = out, .min = 0, .max = 6};
                kernels->depthwise(&a, 0, oh);
            } else {
                const size_t side = layers[i - 1].h;
                ork_pool_args pool = {.batch = 1, .input_h = side, .input_w = side, .channels = l->cin,
                                      .output_h = 1, .output_w = 1, .kernel_h = side, .kernel_w = side,
                                      .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
                                      .input = in, .output = out};
                kernels->average_pool(&pool, 0, 1);
                ork_gemm_args a = {.k = l->cin, .n = l->cout, .a = out, .a_row_stride = l->cin,
                                   .packed_b = l->packed, .c = in, .c_row_stride = l->cout,
                                   .min = -INFINITY, .max = INFINITY};
                kernels->gemm(&a, 0, 1);
            }
            times[l->kind] += now() - t0;
            layer_time[i] = now() - t0;
            in = out;
        }
        double total = now() - start;
        for (size_t i = 0; i < count; i++)
            if (layer_time[i] < min_layer_time[i]) min_layer_time[i] = layer_time[i];
        if (total < best) {
            best = total;
            memcpy(kind_time, times, sizeof times);
            memcpy(best_layer_time, layer_time, sizeof layer_time);
        }
    }
    double sum_min = 0, kind_min[4] = {0};
    for (size_t i = 0; i < count; i++) {
        sum_min += min_layer_time[i];
        kind_min[layers[i].kind] += min_layer_time[i];
    }
    printf("MobileNetV2 %.2f @%zu: %zu layers, %.1f MFLOP: best run %.3f ms; sum of per-layer bests %.3f ms "
           "(%.1f GFLOP/s) = stem %.3f + pointwise %.3f + depthwise %.3f + pool/fc %.3f ms\n",
           width, resolution, count, flops * 1e-6, best * 1e3, sum_min * 1e3, flops / sum_min * 1e-9,
           kind_min[0] * 1e3, kind_min[1] * 1e3, kind_min[2] * 1e3, kind_min[3] * 1e3);
    (void)kind_time;
    for (size_t i = 0; getenv("LAYERS") && i < count; i++) {
        const layer *l = &layers[i];
        static const char *names[4] = {"stem", "pointwise", "depthwise", "pool+fc"};
        printf("  %2zu %-9s %3zux%-3zu %4zu->%4zu s%zu%s %8.1f us\n", i, names[l->kind], l->h, l->w, l->cin, l->cout,
               l->stride, l->residual ? " +residual" : "", min_layer_time[i] * 1e6);
    }
    for (size_t i = 0; i < count; i++) free(layers[i].packed);
    free(x); free(y); free(z); free(scratch);
}

// The fp32 depthwise on MobileNetV2's (3x3) and EfficientNet's (5x5) shapes.
static void bench_depthwise_table(void) {
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
    bench_depthwise(56, 144, 5, 2);
    bench_depthwise(28, 240, 5, 1);
    bench_depthwise(14, 480, 5, 1);
    bench_depthwise(14, 672, 5, 2);
    bench_depthwise(7, 1152, 5, 1);
}

// MobileNetV2 1.0 @224's pointwise layers (one of each shape) and its classifier: M x K x N.
static const size_t pointwise_shapes[][3] = {
    {112 * 112, 32, 16}, {112 * 112, 16, 96}, {56 * 56, 24, 144}, {56 * 56, 144, 24}, {28 * 28, 192, 32},
    {28 * 28, 32, 192},  {14 * 14, 384, 64},  {14 * 14, 64, 384}, {14 * 14, 576, 96}, {7 * 7, 960, 160},
    {7 * 7, 960, 320},   {7 * 7, 320, 1280},  {1, 1280, 1000}};

// The same layers as the fused inverted bottleneck runs them: one band of rows at a time, C in L2
// (features.1's projection, features.2's expansion and projection, features.3, .4, .5, .7, .8).
static const size_t band_shapes[][3] = {
    {17 * 112, 32, 16}, {4 * 112, 16, 96}, {2 * 56, 96, 24}, {6 * 56, 24, 144}, {6 * 56, 144, 24}, {3 * 28, 144, 32},
    {9 * 28, 32, 192},  {9 * 28, 192, 32}, {4 * 14, 192, 64}, {11 * 14, 64, 384}, {9 * 14, 384, 64}};

#define SHAPE_COUNT(shapes) (sizeof shapes / sizeof shapes[0])

static void bench_gemms(const size_t (*shapes)[3], size_t count) {
    for (size_t i = 0; i < count; i++) bench_gemm(shapes[i][0], shapes[i][1], shapes[i][2]);
}

int main(int argc, char **argv) {
    kernels = ork_kernels();
    if (argc > 1 && (kernels = ork_kernel_table_for((ork_isa)atoi(argv[1]))) == NULL) {
        fprintf(stderr, "this CPU lacks ISA level %s (detected %d)\n", argv[1], ork_detected_isa());
        return 1;
    }
    printf("%s (detected level %d)\n", kernels->name, ork_detected_isa());
    if (argc > 2 && strcmp(argv[2], "int8") == 0) {  // int8 pointwise next to fp32 on MobileNetV2 shapes
        // (the int8 kernels run the best variant of the detected level whatever level is asked)
        for (size_t i = 0; i < SHAPE_COUNT(pointwise_shapes); i++) {
            bench_gemm(pointwise_shapes[i][0], pointwise_shapes[i][1], pointwise_shapes[i][2]);
            bench_qgemm(pointwise_shapes[i][0], pointwise_shapes[i][1], pointwise_shapes[i][2]);
        }
        bench_qgemm(112 * 112, 27, 32);
        bench_qgemm(112 * 112, 16, 96);
        bench_qgemm(112 * 112, 32, 16);
        bench_depthwise(112, 96, 3, 2);
        bench_qdepthwise(112, 96, 2);
        bench_depthwise(56, 144, 3, 1);
        bench_qdepthwise(56, 144, 1);
        bench_depthwise(14, 576, 3, 1);
        bench_qdepthwise(14, 576, 1);
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "dw") == 0) {  // only the fp32 depthwise table
        bench_depthwise_table();
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "conv") == 0) {
        bench_convolutions();
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "gemm") == 0) {  // only the MobileNetV2 pointwise GEMMs and the stem
        bench_gemms(pointwise_shapes, SHAPE_COUNT(pointwise_shapes));
        bench_gemms(band_shapes, SHAPE_COUNT(band_shapes));
        bench_convolution("mobilenet stem 3x3 s2", 224, 3, 32, 3, 2, 1, 1, 1);
        return 0;
    }
    if (argc > 2) {  // networks only
        bench_mobilenetv2(1.0, 224);
        bench_mobilenetv2(0.5, 224);
        bench_mobilenetv2(0.35, 96);
        return 0;
    }
    bench_gemms(pointwise_shapes, SHAPE_COUNT(pointwise_shapes));
    bench_depthwise_table();
    bench_convolutions();
    return 0;
}
