// float32 micro-kernels for onnxrun: GEMM / 1x1 convolution, depthwise and general convolution, pooling, layout.
//
// Conventions shared by every kernel:
// - Activations are NHWC (channels innermost), float32. Buffers should be 64-byte aligned (not required).
// - Weights are packed once, at load time, by the `*_pack` functions into a buffer the caller allocates
//   (`*_packed_size` floats, 64-byte aligned preferred). The packed layouts do not depend on the ISA level,
//   so one packed buffer serves every level.
// - Every kernel fuses the epilogue  out = clamp(acc + bias + residual, min, max):
//   bias is per output channel (packed with the weights), residual is optional (NULL for none, same shape as
//   the output), min/max are -INFINITY/INFINITY for no clamp. This covers Conv, Conv->Clip/Relu, Conv->Add and
//   Conv->Add->Clip (fuse an Add only when nothing sits between the Conv and the Add).
// - Every kernel takes a range of work ([begin, end) of output rows or pixels) so a thread pool can split one
//   call over cores; the kernels start no threads and keep no state besides the resolved kernel table.
// - The output never aliases an input, except that `residual` may equal `output` (read before written per
//   element block).
// - Each kernel exists once per ISA level (portable C, AVX2+FMA, AVX-512) under its own name; the entries without
//   a suffix call the best level through the kernel table (below).
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - ISA levels and the kernel table
//
// Every kernel family has one exported function per ISA level, named with the level's suffix (`ork_gemm_avx2`,
// `ork_max_pool_portable`, ...) so tests and benchmarks can call each variant the CPU has by name, and one
// dispatching entry without a suffix (`ork_gemm`) that calls the best variant through a table resolved once.
// Calling a variant the CPU lacks (`ork_kernel_table_for` returns NULL for its level) is undefined.

typedef enum {
    ORK_ISA_PORTABLE = 0,  // plain C with 4-float vectors (any architecture)
    ORK_ISA_AVX2 = 1,      // x86-64 AVX2 + FMA
    ORK_ISA_AVX512 = 2,    // x86-64 AVX-512 F/VL/BW/DQ + FMA
} ork_isa;

typedef struct ork_gemm_args ork_gemm_args;
typedef struct ork_depthwise_args ork_depthwise_args;
typedef struct ork_convolution_args ork_convolution_args;
typedef struct ork_pool_args ork_pool_args;
typedef struct ork_layer_norm_args ork_layer_norm_args;

/// One ISA level's variant of every kernel family (XNNPACK's gemm-config, for all families at once).
typedef struct {
    ork_isa isa;
    const char *name;  // "portable C", "AVX2+FMA", "AVX-512"
    void (*gemm)(const ork_gemm_args *args, size_t m_begin, size_t m_end);
    void (*depthwise)(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
    void (*convolution)(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch);
    void (*max_pool)(const ork_pool_args *args, size_t row_begin, size_t row_end);
    void (*average_pool)(const ork_pool_args *args, size_t row_begin, size_t row_end);
    void (*layer_norm)(const ork_layer_norm_args *args, size_t row_begin, size_t row_end);
} ork_kernel_table;

/// The best level this CPU (and OS) supports.
ork_isa ork_detected_isa(void);
/// The variants of `isa`, or NULL when this CPU (or this build's architecture) lacks it.
const ork_kernel_table *ork_kernel_table_for(ork_isa isa);
/// The variants of the detected level: what the dispatching entries call. Resolved on first use (thread-safe).
const ork_kernel_table *ork_kernels(void);

// MARK: - GEMM (1x1 convolution, fully connected)
//
// C[m][n] = clamp(sum_k A[m][k] * B[k][n] + bias[n] + residual[m][n], min, max) for m in [m_begin, m_end).
// B and bias are packed into panels of 16 columns: per panel [16 bias][k][16 weights], zero-padded.
// A 1x1 convolution NHWC is A = input viewed as (N*H*W) x Cin, B = weights [Cout, Cin, 1, 1] (n-major).

/// Floats in the packed B for a k x n matrix.
size_t ork_gemm_packed_size(size_t k, size_t n);
/// Packs B where B[k][n] = b[k * k_stride + n * n_stride]; bias has n floats or is NULL (zeros).
void ork_gemm_pack(const float *b, size_t k, size_t n, size_t k_stride, size_t n_stride, const float *bias,
                   float *packed);
/// B given row-major as [K, N] (ONNX Gemm, transB = 0).
void ork_gemm_pack_kn(const float *b, size_t k, size_t n, const float *bias, float *packed);
/// B given as [N, K] (ONNX Gemm with transB = 1; Conv weights [Cout, Cin, 1, 1]).
void ork_gemm_pack_nk(const float *b, size_t k, size_t n, const float *bias, float *packed);
/// Adds n bias values to the bias of a packed k x n B.
void ork_gemm_packed_add_bias(float *packed, size_t k, size_t n, const float *bias);

struct ork_gemm_args {
    size_t k;                       // reduction length
    size_t n;                       // output columns
    const float *a;                 // A[m][k] at a[m * a_row_stride + k]
    size_t a_row_stride;            // >= k
    const float *packed_b;          // from ork_gemm_pack*
    const float *residual;          // NULL, or residual[m][n] at residual[m * residual_row_stride + n]
    size_t residual_row_stride;
    float *c;                       // C[m][n] at c[m * c_row_stride + n]
    size_t c_row_stride;            // >= n
    float min, max;                 // clamp bounds (-INFINITY, INFINITY for none)
};

/// Computes rows [m_begin, m_end) of C.
void ork_gemm(const ork_gemm_args *args, size_t m_begin, size_t m_end);
void ork_gemm_portable(const ork_gemm_args *args, size_t m_begin, size_t m_end);
void ork_gemm_avx2(const ork_gemm_args *args, size_t m_begin, size_t m_end);
void ork_gemm_avx512(const ork_gemm_args *args, size_t m_begin, size_t m_end);

/// Columns are split in units of this many (one packed panel).
#define ORK_GEMM_COLUMN_BLOCK 16
/// The same GEMM restricted to columns [n_begin, n_end) (n_begin a multiple of ORK_GEMM_COLUMN_BLOCK, n_end a
/// multiple of it or n), for splitting a GEMM with few rows (the classifier, M = batch) over threads by columns;
/// any gemm variant runs the slice. Returns 0 (and leaves `slice` alone) when the range is empty or misaligned.
int ork_gemm_column_slice(const ork_gemm_args *args, size_t n_begin, size_t n_end, ork_gemm_args *slice);

// MARK: - Depthwise convolution (group = channels, one output channel per input channel), NHWC
//
// Weights ONNX [C, 1, KH, KW] + bias [C] are packed per tile of 16 channels: [16 bias][KH*KW taps][16], zero-padded.

size_t ork_depthwise_packed_size(size_t channels, size_t kernel_h, size_t kernel_w);
/// weights: [channels, 1, kernel_h, kernel_w]; bias: channels floats or NULL.
void ork_depthwise_pack(const float *weights, const float *bias, size_t channels, size_t kernel_h, size_t kernel_w,
                        float *packed);

struct ork_depthwise_args {
    size_t batch, input_h, input_w, channels;
    size_t output_h, output_w;
    size_t kernel_h, kernel_w;
    size_t stride_h, stride_w;          // >= 1
    size_t dilation_h, dilation_w;      // >= 1
    size_t pad_top, pad_left;           // begin pads; the end pads are implied by output_h/output_w
    const float *input;                 // [batch, input_h, input_w, channels]
    const float *packed_weights;        // from ork_depthwise_pack
    const float *residual;              // NULL or [batch, output_h, output_w, channels]
    float *output;                      // [batch, output_h, output_w, channels]
    float min, max;
};

/// Computes output rows [row_begin, row_end), row = image * output_h + oh (all images in one range).
/// kernel_h <= 64.
void ork_depthwise(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
void ork_depthwise_portable(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
void ork_depthwise_avx2(const ork_depthwise_args *args, size_t row_begin, size_t row_end);
void ork_depthwise_avx512(const ork_depthwise_args *args, size_t row_begin, size_t row_end);

// MARK: - General convolution (any kernel, strides, dilations, pads, groups), NHWC, on the packed GEMM
//
// Per group g the GEMM's K axis is (kh, kw, ci) over the group's input channels and N is the group's outputs.
// Packed weights: per group one ork_gemm packed block, groups one after another.
// With one group and dilation_w = 1 (the dense stem), pixels whose window lies inside the input are read in place
// (a kernel row is contiguous in NHWC); the other pixels, and grouped/dilated convolutions, go through an im2col
// of at most ORK_CONVOLUTION_PIXELS_PER_STEP pixels in the caller's scratch. A 1x1 convolution without stride or
// padding is a plain GEMM per group (no scratch).

size_t ork_convolution_packed_size(size_t output_channels, size_t input_channels_per_group, size_t kernel_h,
                                   size_t kernel_w, size_t groups);
/// weights: ONNX [output_channels, input_channels_per_group, kernel_h, kernel_w]; bias: output_channels or NULL.
void ork_convolution_pack(const float *weights, const float *bias, size_t output_channels,
                          size_t input_channels_per_group, size_t kernel_h, size_t kernel_w, size_t groups,
                          float *packed);

struct ork_convolution_args {
    size_t batch, input_h, input_w, input_channels;   // input_channels = groups * input_channels_per_group
    size_t output_h, output_w, output_channels;       // output_channels divisible by groups
    size_t kernel_h, kernel_w;
    size_t stride_h, stride_w;
    size_t dilation_h, dilation_w;
    size_t pad_top, pad_left;
    size_t groups;
    const float *input;                 // [batch, input_h, input_w, input_channels]
    const float *packed_weights;        // from ork_convolution_pack
    const float *residual;              // NULL or [batch, output_h, output_w, output_channels]
    float *output;                      // [batch, output_h, output_w, output_channels]
    float min, max;
};

/// Pixels the im2col scratch holds per step, at most (fewer for long windows).
#define ORK_CONVOLUTION_PIXELS_PER_STEP 96
/// Floats of scratch one call needs (0 when the convolution is a plain 1x1 GEMM); one scratch per thread.
size_t ork_convolution_scratch_size(const ork_convolution_args *args);
/// Computes output pixels [pixel_begin, pixel_end), pixel = (image * output_h + oh) * output_w + ow.
/// scratch: ork_convolution_scratch_size(args) floats (may be NULL when that is 0).
void ork_convolution(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch);
void ork_convolution_portable(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch);
void ork_convolution_avx2(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch);
void ork_convolution_avx512(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch);

// MARK: - Pooling NHWC (MaxPool, AveragePool, and the global pools as a window over the whole image)

struct ork_pool_args {
    size_t batch, input_h, input_w, channels;
    size_t output_h, output_w;
    size_t kernel_h, kernel_w;
    size_t stride_h, stride_w;          // >= 1
    size_t dilation_h, dilation_w;      // >= 1
    size_t pad_top, pad_left;           // begin pads
    size_t pad_bottom, pad_right;       // end pads: taps in them count for count_include_pad, taps beyond do not
    int count_include_pad;              // average: divide by the taps inside input + pads, else inside the input
    const float *input;                 // [batch, input_h, input_w, channels]
    float *output;                      // [batch, output_h, output_w, channels]
};

/// Computes output rows [row_begin, row_end), row = image * output_h + oh: the maximum over the window's taps
/// inside the input (-INFINITY when none is).
void ork_max_pool(const ork_pool_args *args, size_t row_begin, size_t row_end);
void ork_max_pool_portable(const ork_pool_args *args, size_t row_begin, size_t row_end);
void ork_max_pool_avx2(const ork_pool_args *args, size_t row_begin, size_t row_end);
void ork_max_pool_avx512(const ork_pool_args *args, size_t row_begin, size_t row_end);
/// The same rows, the mean over the window's taps (0 when the divisor is 0).
void ork_average_pool(const ork_pool_args *args, size_t row_begin, size_t row_end);
void ork_average_pool_portable(const ork_pool_args *args, size_t row_begin, size_t row_end);
void ork_average_pool_avx2(const ork_pool_args *args, size_t row_begin, size_t row_end);
void ork_average_pool_avx512(const ork_pool_args *args, size_t row_begin, size_t row_end);

// MARK: - Transposed convolution NHWC: a GEMM per group into columns, then col2im
//
// Per group g, the GEMM of the input pixels' group channels (K = input channels per group) by the weights
// [ci][tap][co] (N = kernel_h * kernel_w * channels per group) writes each pixel's columns at
// columns[pixel][g][tap][co]; ork_col2im sums them into the output.

/// Kernel sizes up to this many per axis.
#define ORK_COL2IM_MAX_KERNEL 64

typedef struct {
    size_t batch, input_h, input_w;
    size_t output_h, output_w, channels, groups;  // channels: output channels, divisible by groups
    size_t kernel_h, kernel_w;                     // <= ORK_COL2IM_MAX_KERNEL
    size_t stride_h, stride_w, dilation_h, dilation_w;
    ptrdiff_t pad_top, pad_left;                   // output = input * stride - pad + tap * dilation (may be < 0)
    const float *columns;  // [batch, input_h, input_w, groups, kernel_h * kernel_w, channels / groups]
    const float *bias;     // channels floats, or NULL
    float *output;         // [batch, output_h, output_w, channels]
    float min, max;        // clamp bounds (-INFINITY, INFINITY for none)
} ork_col2im_args;

/// Computes output rows [row_begin, row_end), row = image * output_h + oh: clamp(bias + the landing columns).
void ork_col2im(const ork_col2im_args *args, size_t row_begin, size_t row_end);

// MARK: - Layout

/// [batch, channels, pixels] -> [batch, pixels, channels], for images [image_begin, image_end).
void ork_nchw_to_nhwc(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end);
/// [batch, pixels, channels] -> [batch, channels, pixels], for images [image_begin, image_end).
void ork_nhwc_to_nchw(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end);

// MARK: - Layer normalization over the last axis

struct ork_layer_norm_args {
    size_t size;            // elements per row (the normalized axes flattened), >= 1
    const float *input;     // row r at input + r * size
    const float *scale;     // size floats
    const float *bias;      // size floats, or NULL
    float *output;          // row r at output + r * size; may equal input
    float epsilon;
};

/// output = (x - mean) / sqrt(variance + epsilon) * scale + bias per row, for rows [row_begin, row_end).
void ork_layer_norm(const ork_layer_norm_args *args, size_t row_begin, size_t row_end);
void ork_layer_norm_portable(const ork_layer_norm_args *args, size_t row_begin, size_t row_end);
void ork_layer_norm_avx2(const ork_layer_norm_args *args, size_t row_begin, size_t row_end);
void ork_layer_norm_avx512(const ork_layer_norm_args *args, size_t row_begin, size_t row_end);

#ifdef __cplusplus
}
#endif

// The bfloat16 GEMM (`--precision bf16`).
#include "CKernelsBFloat16.h"
