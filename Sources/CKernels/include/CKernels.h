// float32 micro-kernels for onnxrun: GEMM / 1x1 convolution, depthwise and general convolution, pooling, layout.
//
// Conventions shared by every kernel:
// - Activations are NHWC (channels innermost), float32. Buffers should be 64-byte aligned (not required).
// - Weights are packed once, at load time, by the `*_pack` functions into a buffer the caller allocates
//   (`*_packed_size` floats, 64-byte aligned preferred). The packed layouts do not depend on the ISA level,
//   so one packed buffer serves every level.
// - Every kernel fuses the epilogue  out = activation(clamp(acc + bias + residual, min, max)):
//   bias is per output channel (packed with the weights), residual is optional (NULL for none, same shape as
//   the output), min/max are -INFINITY/INFINITY for no clamp, `activation` is an ork_activation (zero-initialized:
//   none). This covers Conv, Conv->Clip/Relu/Sigmoid/HardSwish/..., Conv->Add and Conv->Add->Clip (fuse an Add
//   only when nothing sits between the Conv and the Add).
// - Every kernel takes a range of work ([begin, end) of output rows or pixels) so a thread pool can split one
//   call over cores; the kernels start no threads and keep no state besides the resolved kernel table.
// - The output never aliases an input, except that `residual` may equal `output` (read before written per
//   element block).
// - Each kernel exists once per ISA level (portable C, AVX2+FMA, AVX-512) under its own name; the entries without
//   a suffix call the best level through the kernel table (below).
#pragma once

#include <stddef.h>
#include <stdint.h>

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
    void (*winograd)(const ork_convolution_args *args, size_t output_tile, size_t tile_begin, size_t tile_end,
                     size_t channel_begin, size_t channel_end, float *scratch);
    void (*max_pool)(const ork_pool_args *args, size_t row_begin, size_t row_end);
    void (*average_pool)(const ork_pool_args *args, size_t row_begin, size_t row_end);
    void (*layer_norm)(const ork_layer_norm_args *args, size_t row_begin, size_t row_end);
} ork_kernel_table;

/// The best level this CPU (and OS) supports.
ork_isa ork_detected_isa(void);

/// ONNXRUN_MAX_ISA, read once from the environment (like oneDNN's ONEDNN_MAX_CPU_ISA): the highest level the
/// dispatching entries use, to run and test on this CPU what a smaller one runs. `avx512` also leaves out the
/// AVX-512 extensions (VNNI, BF16); unset or empty: every level and extension the CPU has.
typedef enum {
    ORK_MAX_ISA_UNSET = 0,
    ORK_MAX_ISA_PORTABLE = 1,
    ORK_MAX_ISA_AVX2 = 2,
    ORK_MAX_ISA_AVX512 = 3,
    ORK_MAX_ISA_INVALID = 4,  // something else: the dispatch ignores it, sessions refuse to start (a typed error)
} ork_max_isa;
ork_max_isa ork_max_isa_setting(void);
/// Whether kernels may use the extensions above their level (AVX512-VNNI, AVX512-BF16): ONNXRUN_MAX_ISA not set.
int ork_isa_extensions_allowed(void);

/// The variants of `isa`, or NULL when this CPU (or this build's architecture) lacks it or ONNXRUN_MAX_ISA caps
/// the levels below it.
const ork_kernel_table *ork_kernel_table_for(ork_isa isa);
/// The variants of the detected level, at most ONNXRUN_MAX_ISA: what the dispatching entries call. Resolved on
/// first use (thread-safe).
const ork_kernel_table *ork_kernels(void);

// MARK: - Activations (the epilogue of every kernel, and the unary elementwise kernels)

typedef enum {
    ORK_ACTIVATION_IDENTITY = 0,    // x
    ORK_ACTIVATION_CLAMP,           // min(max(x, alpha), beta)
    ORK_ACTIVATION_SIGMOID,         // 1 / (1 + e^-x)
    ORK_ACTIVATION_HARD_SIGMOID,    // max(0, min(1, alpha * x + beta))
    ORK_ACTIVATION_HARD_SWISH,      // x * max(0, min(1, x / 6 + 1/2))
    ORK_ACTIVATION_SWISH,           // x * sigmoid(alpha * x)   (SiLU: alpha = 1)
    ORK_ACTIVATION_LEAKY_RELU,      // x >= 0 ? x : alpha * x
    ORK_ACTIVATION_GELU,            // x / 2 * (1 + erf(x / sqrt(2)))
    ORK_ACTIVATION_GELU_TANH,       // x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))
    ORK_ACTIVATION_TANH,
    ORK_ACTIVATION_EXP,
    ORK_ACTIVATION_ERF,
    ORK_ACTIVATION_NEGATE,
    ORK_ACTIVATION_ABSOLUTE,
    ORK_ACTIVATION_SQUARE_ROOT,
    ORK_ACTIVATION_RECIPROCAL,      // 1 / x
    ORK_ACTIVATION_SQUARE,          // x * x
} ork_activation_kind;

/// An elementwise function and its parameters; {0} is the identity.
typedef struct {
    int kind;                       // ork_activation_kind
    float alpha, beta;
} ork_activation;

/// output[i] = activation(input[i]) for i < count; output may equal input (in place), else must not overlap it.
/// exp/sigmoid/tanh/erf and what is built on them are polynomial approximations (a few ULP; see the tests).
void ork_activation_apply(const ork_activation *activation, const float *input, float *output, size_t count);
void ork_activation_apply_portable(const ork_activation *activation, const float *input, float *output, size_t count);
#if defined(__x86_64__)
void ork_activation_apply_avx2(const ork_activation *activation, const float *input, float *output, size_t count);
void ork_activation_apply_avx512(const ork_activation *activation, const float *input, float *output, size_t count);
#endif

// MARK: - Binary arithmetic with broadcasting
//
// The output's shape collapsed (adjacent axes merged where both operands allow, size-1 axes dropped) to at most
// ORK_BROADCAST_MAX_RANK axes; each operand has an element stride per axis, 0 where it is broadcast. The innermost
// stride is 0 or 1: same-shape, scalar, per-channel NCHW ([1, C, 1, 1]: rows of H*W with one value) and
// per-channel NHWC ([N, 1, 1, C]: rows of C) are all rows of this one loop.

typedef enum {
    ORK_BINARY_ADD = 0,
    ORK_BINARY_SUBTRACT,
    ORK_BINARY_MULTIPLY,
    ORK_BINARY_DIVIDE,
    ORK_BINARY_MAXIMUM,             // NaN from either operand propagates
    ORK_BINARY_MINIMUM,
} ork_binary_operation;

#define ORK_BROADCAST_MAX_RANK 6

typedef struct {
    size_t rank;                                // 1 ... ORK_BROADCAST_MAX_RANK
    size_t shape[ORK_BROADCAST_MAX_RANK];       // the output's (collapsed) shape
    size_t a_strides[ORK_BROADCAST_MAX_RANK];   // element strides of a, 0 on broadcast axes; innermost 0 or 1
    size_t b_strides[ORK_BROADCAST_MAX_RANK];
} ork_broadcast;

/// output[i] = a[...] operation b[...] for the output elements i in [begin, end) (row-major over geometry->shape).
/// output may equal a or b when that operand is not broadcast; otherwise it must not overlap them.
void ork_binary(int operation, const ork_broadcast *geometry, const float *a, const float *b, float *output,
                size_t begin, size_t end);
void ork_binary_portable(int operation, const ork_broadcast *geometry, const float *a, const float *b,
                         float *output, size_t begin, size_t end);
#if defined(__x86_64__)
void ork_binary_avx2(int operation, const ork_broadcast *geometry, const float *a, const float *b, float *output,
                     size_t begin, size_t end);
void ork_binary_avx512(int operation, const ork_broadcast *geometry, const float *a, const float *b, float *output,
                       size_t begin, size_t end);
#endif

// MARK: - Reductions

/// output[c] = mean over r < rows of input[r * columns + c]: an NHWC image's global average pool (rows = pixels).
void ork_mean_rows(const float *input, size_t rows, size_t columns, float *output);
void ork_mean_rows_portable(const float *input, size_t rows, size_t columns, float *output);
#if defined(__x86_64__)
void ork_mean_rows_avx2(const float *input, size_t rows, size_t columns, float *output);
void ork_mean_rows_avx512(const float *input, size_t rows, size_t columns, float *output);
#endif

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
/// `scaled` (ork_gemm_packed_size floats) = the packed k x n B with row r multiplied by scale[r], the bias as it
/// is: A diag(scale) B + bias, for an A whose columns carry a per-column scale (squeeze-excite's x * s).
void ork_gemm_packed_scale_rows(const float *packed, size_t k, size_t n, const float *scale, float *scaled);

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
    ork_activation activation;      // after the clamp
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
    ork_activation activation;
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
    ork_activation activation;
    // Floats from one output pixel to the next (0: output_channels): a wider output, e.g. a Concat's, whose pixel
    // rows hold this convolution's channels at `output`'s offset. The residual stays dense.
    size_t output_pixel_stride;
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

// MARK: - Winograd F(2x2, 3x3) and F(4x4, 3x3) convolution NHWC (3x3, stride 1, no dilation, one group, any pads)
//
// Per t x t block of output pixels (a tile; t = output_tile, 2 or 4) the (t+2)^2 input window d becomes
// V = Bt d B and the weights g become U = G g Gt ((t+2)^2 positions xi each), so the convolution is one GEMM per
// position, V[xi] (tiles x Cin) * U[xi] (Cin x Cout) (2.25x / 4x fewer multiplications than 9 taps), and the
// output Y = At M A per tile, with the epilogue in that store. F(4x4, 3x3) rounds more (~1e-6 relative per layer
// against ~2e-7) and its weights take 4x the space, F(2x2, 3x3) 16/9. Packed weights: one ork_gemm packed block
// (Cin x Cout) per position, xi = (t+2) p + q; the bias sits at p = q = 1, the position whose At column is all
// ones, so At M A adds it unchanged to every output of a tile. The args are ork_convolution_args with kernel 3x3,
// strides and dilations 1, groups 1, and packed_weights from ork_winograd_pack with the same output_tile.

size_t ork_winograd_packed_size(size_t output_tile, size_t output_channels, size_t input_channels);
/// weights: ONNX [output_channels, input_channels, 3, 3]; bias: output_channels or NULL.
void ork_winograd_pack(size_t output_tile, const float *weights, const float *bias, size_t output_channels,
                       size_t input_channels, float *packed);
/// Tiles of the output: batch * tiles_h * tiles_w (tiles_h = ceil(output_h / output_tile)), numbered
/// (image * tiles_h + th) * tiles_w + tw.
size_t ork_winograd_tile_count(size_t output_tile, const ork_convolution_args *args);
/// Floats of scratch one call needs; one scratch per thread.
size_t ork_winograd_scratch_size(size_t output_tile, const ork_convolution_args *args);
/// Computes output channels [channel_begin, channel_end) of the tiles [tile_begin, tile_end); channel_begin a
/// multiple of ORK_GEMM_COLUMN_BLOCK (a call with few tiles, ResNet's 7x7 stage, splits over threads by channels;
/// each such call transforms the tiles' inputs again).
void ork_winograd(const ork_convolution_args *args, size_t output_tile, size_t tile_begin, size_t tile_end,
                  size_t channel_begin, size_t channel_end, float *scratch);
void ork_winograd_portable(const ork_convolution_args *args, size_t output_tile, size_t tile_begin, size_t tile_end,
                           size_t channel_begin, size_t channel_end, float *scratch);
void ork_winograd_avx2(const ork_convolution_args *args, size_t output_tile, size_t tile_begin, size_t tile_end,
                       size_t channel_begin, size_t channel_end, float *scratch);
void ork_winograd_avx512(const ork_convolution_args *args, size_t output_tile, size_t tile_begin, size_t tile_end,
                         size_t channel_begin, size_t channel_end, float *scratch);

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
    size_t output_pixel_stride;         // floats from one output pixel to the next (0: channels), as convolutions'
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
    ork_activation activation;  // after the clamp
} ork_col2im_args;

/// Computes output rows [row_begin, row_end), row = image * output_h + oh:
/// activation(clamp(bias + the landing columns)).
void ork_col2im(const ork_col2im_args *args, size_t row_begin, size_t row_end);

// MARK: - Layout

/// [batch, channels, pixels] -> [batch, pixels, channels], for pixels [pixel_begin, pixel_end) of images
/// [image_begin, image_end).
void ork_nchw_to_nhwc(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end, size_t pixel_begin, size_t pixel_end);
/// [batch, pixels, channels] -> [batch, channels, pixels], for pixels [pixel_begin, pixel_end) of images
/// [image_begin, image_end).
void ork_nhwc_to_nchw(const float *input, size_t channels, size_t pixels, float *output, size_t image_begin,
                      size_t image_end, size_t pixel_begin, size_t pixel_end);

// MARK: - int8 kernels: uint8 activations x int8 weights -> int32, requantized into the store
//
// The products of QLinearConv / QLinearMatMul / QGemm / ConvInteger / MatMulInteger and their QDQ forms:
//   acc[m][n] = bias[n] + sum_k (a[m][k] - a_zero_point) * (w[k][n] - w_zero_point[n])     (exact, int32)
// expanded as sum a*w - a_zero_point * colsum(w)[n] - w_zero_point[n] * rowsum(a)[m] + k * a_zp * w_zp[n], so
// the kernels multiply raw bytes and add per-column constants (packed with the weights) at the end; the row
// sums are computed only when some weight zero point is not 0. uint8 weights are packed as int8 (w - 128, zero
// point - 128: the same differences). The store (ork_qepilogue) requantizes as onnxruntime's MLAS does:
//   y = clamp(round_half_even((float)acc * scale[n]) + zero_point, min, max)
// (min/max: the uint8 range narrowed by a fused Relu/Clip), then optionally adds a residual with
// com.microsoft QLinearAdd's arithmetic (MLAS's AVX2 kernel, the one onnxruntime runs on x86-64):
//   out = clamp(round_half_even(fma(first, first_ratio, fma(second, second_ratio, offset))), sum_min, sum_max)
// where first/second are QLinearAdd's A/B (the convolution's y and the residual in either order),
// ratio = input scale / output scale and offset = out_zp - (ratio_a * zp_a + ratio_b * zp_b).
// Or the accumulators are stored as int32 (ConvInteger / MatMulInteger: `c_int32`).
//
// Variants, each exported by name so tests can call every one the CPU has:
//   _portable    plain C, exact;
//   _avx2        vpmaddubsw on each nibble of A + vpmaddwd, exact (MLAS's U8S8 AVX2 kernel feeds whole bytes and
//                saturates the int16 pair sums on CPUs without VNNI; onnxruntime recommends reduce_range there);
//   _avx512vnni  vpdpbusd, exact (what onnxruntime runs on AVX-512 VNNI CPUs, so its results are exact there).
// The entry points without suffix use the best variant the CPU has at the detected ISA level (ork_detected_isa):
// AVX-512 level + VNNI -> _avx512vnni, AVX2 or AVX-512 level -> _avx2, else _portable.

typedef enum {
    ORK_INT8_PORTABLE = 0,
    ORK_INT8_AVX2 = 1,
    ORK_INT8_AVX512 = 2,      // AVX-512 BW (depthwise: vpmaddwd on 16 channels)
    ORK_INT8_AVX512VNNI = 3,  // AVX-512 VNNI (vpdpbusd / vpdpwssd)
} ork_int8_variant_kind;

/// 1 when this CPU (and OS) can run `variant`.
int ork_int8_variant_supported(int variant);
/// The variant the entry points use: the best this CPU has.
int ork_int8_variant(void);

typedef struct {
    int32_t zero_point;                 // output zero point
    int32_t min, max;                   // clamp of y (0, 255 for plain uint8)
    const uint8_t *residual;            // NULL, or the fused QLinearAdd's other input, [m][n]
    size_t residual_row_stride;
    int residual_is_first;             // the residual is QLinearAdd's A (y its B); else y is A
    float output_ratio, residual_ratio; // y's scale / sum scale, residual's scale / sum scale
    float offset;                       // sum zp - (ratio_a * zp_a + ratio_b * zp_b), in that float order
    int32_t sum_min, sum_max;           // clamp of the sum (0, 255, or narrowed by a Relu/Clip after the Add)
} ork_qepilogue;

// MARK: int8 GEMM (1x1 convolution over NHWC pixels, QGemm, QLinearMatMul, MatMulInteger)
//
// Packed B: panels of 16 columns; per panel a header (int32 bias[16], int32 colsum[16], int32 w_zero_point[16],
// float scale[16]) then ceil(k / 4) groups of 4 reduction steps x 16 columns x 4 bytes (the vpdpbusd layout:
// byte [q][j][t] = w[4q + t][j]), zero-padded.

/// Bytes of the packed B for a k x n matrix.
size_t ork_qgemm_packed_size(size_t k, size_t n);
/// Packs B where B[k][n] = b[k * k_stride + n * n_stride] (int8, or uint8 when `b_is_unsigned`).
/// bias: n int32 or NULL. w_zero_points: n values or one (per tensor) or NULL (0), in B's type.
/// scales: n floats or one or NULL (1; for int32 output). 64-byte aligned `packed` preferred.
void ork_qgemm_pack(const void *b, int b_is_unsigned, size_t k, size_t n, size_t k_stride, size_t n_stride,
                    const int32_t *bias, const void *w_zero_points, size_t w_zero_point_count, const float *scales,
                    size_t scale_count, void *packed);

typedef struct {
    size_t k, n;
    const uint8_t *a;                   // A[m][k] at a[m * a_row_stride + k]
    size_t a_row_stride;
    int32_t a_zero_point;
    const void *packed_b;               // from ork_qgemm_pack
    uint8_t *c;                         // requantized output C[m][n] at c[m * c_row_stride + n], or NULL
    int32_t *c_int32;                   // or the int32 accumulators (no epilogue) when c is NULL
    size_t c_row_stride;
    ork_qepilogue epilogue;
} ork_qgemm_args;

/// Computes rows [m_begin, m_end) of C.
void ork_qgemm(const ork_qgemm_args *args, size_t m_begin, size_t m_end);
void ork_qgemm_portable(const ork_qgemm_args *args, size_t m_begin, size_t m_end);
void ork_qgemm_avx2(const ork_qgemm_args *args, size_t m_begin, size_t m_end);
void ork_qgemm_avx512vnni(const ork_qgemm_args *args, size_t m_begin, size_t m_end);
/// Rows [m_begin, m_end) x columns [n_begin, n_end) (n_begin a multiple of ORK_GEMM_COLUMN_BLOCK): a GEMM with
/// few rows (a classifier) split over threads by columns.
void ork_qgemm_columns(const ork_qgemm_args *args, size_t m_begin, size_t m_end, size_t n_begin, size_t n_end);

// MARK: int8 depthwise convolution NHWC
//
// Packed per tile of 16 channels: int32 interior_bias[16] (bias - x_zp * sum of the channel's (w - w_zp)),
// int32 bias[16], float scale[16], then kernel_h * kernel_w taps x 16 int32 lanes, (w - w_zp) as int16 in the
// low half (the vector kernels multiply them with vpmaddwd).

size_t ork_qdepthwise_packed_size(size_t channels, size_t kernel_h, size_t kernel_w);
/// weights: [channels, 1, kernel_h, kernel_w] int8 (or uint8 when `weights_are_unsigned`); bias: channels int32 or
/// NULL; w_zero_points / scales: `count` values each (1 or channels; NULL = 0 / 1).
void ork_qdepthwise_pack(const void *weights, int weights_are_unsigned, const int32_t *bias,
                         const void *w_zero_points, size_t w_zero_point_count, const float *scales,
                         size_t scale_count, int32_t x_zero_point, size_t channels, size_t kernel_h, size_t kernel_w,
                         void *packed);

typedef struct {
    size_t batch, input_h, input_w, channels;
    size_t output_h, output_w;
    size_t kernel_h, kernel_w;          // kernel_h <= 64
    size_t stride_h, stride_w;
    size_t dilation_h, dilation_w;
    size_t pad_top, pad_left;
    int32_t x_zero_point;               // the one the weights were packed with
    const uint8_t *input;               // [batch, input_h, input_w, channels]
    const void *packed_weights;
    uint8_t *output;                    // [batch, output_h, output_w, channels], or NULL with output_int32
    ork_qepilogue epilogue;             // residual [batch, output_h, output_w, channels], row stride = channels
    int32_t *output_int32;              // or the int32 accumulators (ConvInteger) when output is NULL
} ork_qdepthwise_args;

/// Re-derives the packed weights' interior bias for another x_zero_point (dynamic quantization: the zero point is
/// known only at run time); `packed` holds a copy of ork_qdepthwise_pack's output for `channels` x `taps`.
void ork_qdepthwise_set_x_zero_point(void *packed, size_t channels, size_t taps, int32_t x_zero_point);
/// Output rows [row_begin, row_end), row = image * output_h + oh.
void ork_qdepthwise(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end);
void ork_qdepthwise_portable(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end);
void ork_qdepthwise_avx2(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end);
void ork_qdepthwise_avx512(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end);
void ork_qdepthwise_avx512vnni(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end);

// MARK: int8 general convolution NHWC (any kernel, stride, dilation, pads, groups): im2col (padding = x_zp) + qgemm

size_t ork_qconvolution_packed_size(size_t output_channels, size_t input_channels_per_group, size_t kernel_h,
                                    size_t kernel_w, size_t groups);
/// weights: ONNX [output_channels, input_channels_per_group, kernel_h, kernel_w]; the rest as ork_qgemm_pack
/// over all output channels.
void ork_qconvolution_pack(const void *weights, int weights_are_unsigned, const int32_t *bias,
                           const void *w_zero_points, size_t w_zero_point_count, const float *scales,
                           size_t scale_count, size_t output_channels, size_t input_channels_per_group,
                           size_t kernel_h, size_t kernel_w, size_t groups, void *packed);

typedef struct {
    size_t batch, input_h, input_w, input_channels;
    size_t output_h, output_w, output_channels;
    size_t kernel_h, kernel_w;
    size_t stride_h, stride_w;
    size_t dilation_h, dilation_w;
    size_t pad_top, pad_left;
    size_t groups;
    int32_t x_zero_point;
    const uint8_t *input;
    const void *packed_weights;
    uint8_t *output;                    // requantized, or NULL with output_int32 (ConvInteger)
    int32_t *output_int32;
    ork_qepilogue epilogue;             // residual row stride = output_channels
} ork_qconvolution_args;

/// Bytes of im2col scratch one call needs (0 for a 1x1 convolution without stride or pads).
size_t ork_qconvolution_scratch_size(const ork_qconvolution_args *args);
/// Output pixels [pixel_begin, pixel_end), pixel = (image * output_h + oh) * output_w + ow.
void ork_qconvolution(const ork_qconvolution_args *args, size_t pixel_begin, size_t pixel_end, uint8_t *scratch);

// MARK: int8 pooling, elementwise, layout

/// QLinearGlobalAveragePool NHWC as MLAS: y[c] = requantize(sum - x_zp * pixels, x_scale / (y_scale * pixels)).
void ork_qglobal_average_pool_nhwc(const uint8_t *input, size_t pixels, size_t channels, int32_t x_zero_point,
                                   float scale, int32_t y_zero_point, uint8_t *output, size_t image_begin,
                                   size_t image_end);
/// QLinearAdd of two same-shape uint8 tensors, elements [begin, end): epilogue as above with `a` the first input.
void ork_qadd(const uint8_t *a, const uint8_t *b, uint8_t *output, float a_ratio, float b_ratio, float offset,
              int32_t min, int32_t max, size_t begin, size_t end);
/// QuantizeLinear to uint8 as MLAS: y = clamp(round_half_even(x / scale) + zero_point, 0, 255), elements
/// [begin, end) (NaN -> 0, as MLAS).
void ork_quantize_linear_u8(const float *input, float scale, int32_t zero_point, uint8_t *output, size_t begin,
                            size_t end);
void ork_quantize_linear_u8_portable(const float *input, float scale, int32_t zero_point, uint8_t *output,
                                     size_t begin, size_t end);
void ork_quantize_linear_u8_avx2(const float *input, float scale, int32_t zero_point, uint8_t *output,
                                 size_t begin, size_t end);
void ork_quantize_linear_u8_avx512(const float *input, float scale, int32_t zero_point, uint8_t *output,
                                   size_t begin, size_t end);
/// Byte transposes [batch, channels, pixels] <-> [batch, pixels, channels], images [image_begin, image_end).
void ork_nchw_to_nhwc_u8(const uint8_t *input, size_t channels, size_t pixels, uint8_t *output, size_t image_begin,
                         size_t image_end);
void ork_nhwc_to_nchw_u8(const uint8_t *input, size_t channels, size_t pixels, uint8_t *output, size_t image_begin,
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

// MARK: - The float side of reduced-precision models (reduced_precision_template.h)
//
// Written without fused multiply-adds: each step rounds as the separate ONNX operators do, so onnxruntime's
// dynamic quantization chain (ConvInteger -> Cast -> Mul -> Add) and Cast to float16 come out bit for bit. One
// variant per ISA level; the Swift wrappers (ReducedPrecisionKernels) pick one.

/// The smallest and largest of input[0..count) (count >= 1; +inf / -inf when count is 0).
void ork_min_max_portable(const float *input, size_t count, float *minimum, float *maximum);
void ork_min_max_avx2(const float *input, size_t count, float *minimum, float *maximum);
void ork_min_max_avx512(const float *input, size_t count, float *minimum, float *maximum);

typedef struct {
    size_t channels;            // elements per row; rows are contiguous in every array
    const int32_t *input;       // int32 accumulators [rows][channels]
    const float *scale;         // [channels]
    const float *bias;          // [channels]
    const float *residual;      // NULL, or [rows][channels] added after the bias
    float *output;              // [rows][channels]
    float min, max;             // clamp, last
} ork_rescale_args;

/// output = clamp(((float)input * scale[c] + bias[c]) + residual, min, max), rounding after each operation.
void ork_rescale_int32_portable(const ork_rescale_args *args, size_t rows);
void ork_rescale_int32_avx2(const ork_rescale_args *args, size_t rows);
void ork_rescale_int32_avx512(const ork_rescale_args *args, size_t rows);

/// output[i] = the float16 value nearest input[i] (ties to even; overflow to infinity), as a float. May be in place.
void ork_round_to_float16_portable(const float *input, float *output, size_t count);
void ork_round_to_float16_avx2(const float *input, float *output, size_t count);
void ork_round_to_float16_avx512(const float *input, float *output, size_t count);

#ifdef __cplusplus
}
#endif

// The bfloat16 GEMM (`--precision bf16`).
#include "CKernelsBFloat16.h"
