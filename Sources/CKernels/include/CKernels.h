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
//   call over cores; the kernels start no threads and keep no state besides the ISA level.
// - The output never aliases an input, except that `residual` may equal `output` (read before written per
//   element block).
// - The ISA level (portable C, AVX2+FMA, AVX-512) is detected once, on first use (thread-safe);
//   ork_set_isa_level lowers it, for tests.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - ISA level

typedef enum {
    ORK_ISA_PORTABLE = 0,  // plain C (any architecture)
    ORK_ISA_AVX2 = 1,      // x86-64 AVX2 + FMA
    ORK_ISA_AVX512 = 2,    // x86-64 AVX-512 F/VL/BW/DQ + FMA
} ork_isa;

/// The best level this CPU (and OS) supports.
int ork_detected_isa_level(void);
/// The level the kernels use now.
int ork_isa_level(void);
/// Uses `level` (clamped to [PORTABLE, detected]) from now on; returns the level in effect. For tests and benchmarks.
int ork_set_isa_level(int level);

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

typedef struct {
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
} ork_gemm_args;

/// Computes rows [m_begin, m_end) of C.
void ork_gemm(const ork_gemm_args *args, size_t m_begin, size_t m_end);

/// Columns are split in units of this many (one packed panel).
#define ORK_GEMM_COLUMN_BLOCK 16
/// Computes rows [m_begin, m_end) x columns [n_begin, n_end) of C; n_begin must be a multiple of
/// ORK_GEMM_COLUMN_BLOCK and n_end a multiple of it or n. For splitting a GEMM with few rows (the classifier,
/// M = batch) over threads by columns.
void ork_gemm_columns(const ork_gemm_args *args, size_t m_begin, size_t m_end, size_t n_begin, size_t n_end);

// MARK: - Depthwise convolution (group = channels, one output channel per input channel), NHWC
//
// Weights ONNX [C, 1, KH, KW] + bias [C] are packed per tile of 16 channels: [16 bias][KH*KW taps][16], zero-padded.

size_t ork_depthwise_packed_size(size_t channels, size_t kernel_h, size_t kernel_w);
/// weights: [channels, 1, kernel_h, kernel_w]; bias: channels floats or NULL.
void ork_depthwise_pack(const float *weights, const float *bias, size_t channels, size_t kernel_h, size_t kernel_w,
                        float *packed);

typedef struct {
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
} ork_depthwise_args;

/// Computes output rows [row_begin, row_end), row = image * output_h + oh (all images in one range).
/// kernel_h <= 64.
void ork_depthwise(const ork_depthwise_args *args, size_t row_begin, size_t row_end);

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

typedef struct {
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
} ork_convolution_args;

/// Pixels the im2col scratch holds per step.
#define ORK_CONVOLUTION_PIXELS_PER_STEP 96
/// Floats of scratch one call needs (0 when the convolution is a plain 1x1 GEMM); one scratch per thread.
size_t ork_convolution_scratch_size(const ork_convolution_args *args);
/// Computes output pixels [pixel_begin, pixel_end), pixel = (image * output_h + oh) * output_w + ow.
/// scratch: ork_convolution_scratch_size(args) floats (may be NULL when that is 0).
void ork_convolution(const ork_convolution_args *args, size_t pixel_begin, size_t pixel_end, float *scratch);

// MARK: - Pooling, elementwise, layout

/// output[image][c] = mean over the pixels of input[image][pixel][c], for images [image_begin, image_end).
void ork_global_average_pool_nhwc(const float *input, size_t pixels, size_t channels, float *output,
                                  size_t image_begin, size_t image_end);
/// output[i] = clamp(a[i] + b[i], min, max) for i in [begin, end); output may alias a or b.
/// [batch, channels, pixels] -> [batch, pixels, channels], for images [image_begin, image_end).
void ork_nchw_to_nhwc(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end);
/// [batch, pixels, channels] -> [batch, channels, pixels], for images [image_begin, image_end).
void ork_nhwc_to_nchw(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end);

// MARK: - Layer normalization over the last axis

typedef struct {
    size_t size;            // elements per row (the normalized axes flattened), >= 1
    const float *input;     // row r at input + r * size
    const float *scale;     // size floats
    const float *bias;      // size floats, or NULL
    float *output;          // row r at output + r * size; may equal input
    float epsilon;
} ork_layer_norm_args;

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
