// A whole int8 MobileNetV2 (torchvision layout, uint8 activations, random int8 weights) through the int8 kernels, one
// thread: the sum of each layer's best time over the runs, per kernel kind (the scheduler noise of a shared machine
// mostly stays out of a per-layer minimum). Build and run from the package root:
//   clang -O2 -ISources/CKernels/include Sources/CKernels/*.c tools/kernel-bench/int8_network.c -lm -o /tmp/int8-net
//   /tmp/int8-net [width [resolution [runs]]]       (LAYERS=1: per-layer times; the detected level's variants)
#include "CKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double best[80];
static size_t make_divisible(double value) { size_t r = (size_t)(value + 4) / 8 * 8; if (r < 8) r = 8; if (r < 0.9 * value) r += 8; return r; }
typedef struct { int kind; size_t h, cin, cout, stride; int residual; void *packed; } layer;
static void *packed_gemm(size_t k, size_t n) {
    int8_t *w = malloc(k * n); float *s = malloc(n * 4); for (size_t i = 0; i < k * n; i++) w[i] = rand() % 256 - 128; for (size_t i = 0; i < n; i++) s[i] = 1e-3f;
    void *p = aligned_alloc(64, (ork_qgemm_packed_size(k, n) + 63) / 64 * 64); ork_qgemm_pack(w, 0, k, n, 1, k, NULL, NULL, 0, s, n, p); free(w); free(s); return p; }
__attribute__((noinline)) void stem(ork_qconvolution_args *a, size_t n, uint8_t *scratch) { ork_qconvolution(a, 0, n, scratch); }
__attribute__((noinline)) void pointwise(ork_qgemm_args *a, size_t m) { ork_qgemm(a, 0, m); }
__attribute__((noinline)) void depthwise(ork_qdepthwise_args *a, size_t rows) { ork_qdepthwise(a, 0, rows); }
int main(int argc, char **argv) {
    double width = argc > 1 ? atof(argv[1]) : 1.0; size_t res = argc > 2 ? atoi(argv[2]) : 224; int runs = argc > 3 ? atoi(argv[3]) : 1;
    static const size_t settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    layer L[80]; size_t count = 0, h = res, ch = make_divisible(32 * width), last = width > 1.0 ? make_divisible(1280 * width) : 1280;
    L[count++] = (layer){0, h, 3, ch, 2, 0, NULL}; h = (h + 1) / 2;
    for (int b = 0; b < 7; b++) { size_t out = make_divisible(settings[b][1] * width);
        for (size_t i = 0; i < settings[b][2]; i++) { size_t s = i == 0 ? settings[b][3] : 1, hid = ch * settings[b][0];
            if (settings[b][0] != 1) L[count++] = (layer){1, h, ch, hid, 1, 0, NULL};
            L[count++] = (layer){2, h, hid, hid, s, 0, NULL}; h = (h - 1) / s + 1;
            L[count++] = (layer){1, h, hid, out, 1, s == 1 && ch == out, NULL}; ch = out; } }
    L[count++] = (layer){1, h, ch, last, 1, 0, NULL};
    size_t big = res * res * 32;
    for (size_t i = 0; i < count; i++) { layer *l = &L[i];
        if (l->kind == 0) { int8_t *w = malloc(l->cout * 27); float *s = malloc(l->cout * 4); for (size_t j = 0; j < l->cout * 27; j++) w[j] = rand() % 256 - 128; for (size_t j = 0; j < l->cout; j++) s[j] = 1e-3f;
            l->packed = aligned_alloc(64, (ork_qconvolution_packed_size(l->cout, 3, 3, 3, 1) + 63) / 64 * 64); ork_qconvolution_pack(w, 0, NULL, NULL, 0, s, l->cout, l->cout, 3, 3, 3, 1, l->packed); }
        else if (l->kind == 1) l->packed = packed_gemm(l->cin, l->cout);
        else { int8_t *w = malloc(l->cin * 9); float *s = malloc(l->cin * 4); for (size_t j = 0; j < l->cin * 9; j++) w[j] = rand() % 256 - 128; for (size_t j = 0; j < l->cin; j++) s[j] = 1e-3f;
            l->packed = aligned_alloc(64, (ork_qdepthwise_packed_size(l->cin, 3, 3) + 63) / 64 * 64); ork_qdepthwise_pack(w, 0, NULL, NULL, 0, s, l->cin, 128, l->cin, 3, 3, l->packed); } }
    uint8_t *x = aligned_alloc(64, big), *y = aligned_alloc(64, big), *z = aligned_alloc(64, big), *scratch = aligned_alloc(64, 96 * 27 + 64);
    for (size_t i = 0; i < big; i++) { x[i] = rand(); y[i] = rand(); z[i] = rand(); }
    ork_qepilogue plain = {.zero_point = 0, .min = 0, .max = 255};
    for (int run = 0; run < runs; run++) {
        uint8_t *in = x, *block_input = x;
        for (size_t i = 0; i < count; i++) { layer *l = &L[i]; size_t oh = (l->h - 1) / l->stride + 1;
            if (l->kind == 1 && i + 1 < count && L[i + 1].kind == 2) block_input = in;
            double t0 = now();
            uint8_t *out = (x != in && x != block_input) ? x : (y != in && y != block_input) ? y : z;
            if (l->kind == 0) { ork_qconvolution_args a = {.batch = 1, .input_h = l->h, .input_w = l->h, .input_channels = 3, .output_h = oh, .output_w = oh, .output_channels = l->cout,
                    .kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .dilation_h = 1, .dilation_w = 1, .pad_top = 1, .pad_left = 1, .groups = 1, .x_zero_point = 114,
                    .input = in, .packed_weights = l->packed, .output = out, .epilogue = plain}; stem(&a, oh * oh, scratch); }
            else if (l->kind == 1) { ork_qgemm_args a = {.k = l->cin, .n = l->cout, .a = in, .a_row_stride = l->cin, .a_zero_point = 128, .packed_b = l->packed, .c = out, .c_row_stride = l->cout, .epilogue = plain};
                if (l->residual) { a.epilogue.residual = block_input; a.epilogue.residual_row_stride = l->cout; a.epilogue.output_ratio = 0.7f; a.epilogue.residual_ratio = 0.4f; a.epilogue.sum_max = 255; }
                pointwise(&a, oh * oh); }
            else { ork_qdepthwise_args a = {.batch = 1, .input_h = l->h, .input_w = l->h, .channels = l->cin, .output_h = oh, .output_w = oh, .kernel_h = 3, .kernel_w = 3, .stride_h = l->stride, .stride_w = l->stride,
                    .dilation_h = 1, .dilation_w = 1, .pad_top = 1, .pad_left = 1, .x_zero_point = 128, .input = in, .packed_weights = l->packed, .output = out, .epilogue = plain}; depthwise(&a, oh); }
            double dt = now() - t0; if (run == 0 || dt < best[i]) best[i] = dt;
            in = out; } }
    double kind[3] = {0}; for (size_t i = 0; i < count; i++) kind[L[i].kind] += best[i];
    printf("sum of per-layer bests: stem %.3f pointwise %.3f depthwise %.3f total %.3f ms\n", kind[0]*1e3, kind[1]*1e3, kind[2]*1e3, (kind[0]+kind[1]+kind[2])*1e3);
    for (size_t i = 0; getenv("LAYERS") && i < count; i++) printf("  %2zu kind %d %3zu %4zu->%4zu s%zu %8.1f us\n", i, L[i].kind, L[i].h, L[i].cin, L[i].cout, L[i].stride, best[i]*1e6);
    printf("%zu layers\n", count);
    return 0;
}
