// Pillow-exact bilinear resampling passes (22-bit fixed point, 8-bit between passes) and the normalization of
// resized rows into float tensors, with one function per ISA level so tests can call each by name.
//
// The arithmetic is Pillow's Resample.c (ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc):
//   out = clip8((1 << 21) + sum over taps of pixel * weight)   with clip8(s) = clamp(s >> 22, 0, 255)
// in 32-bit integers (the sums cannot overflow: bilinear weights are non-negative and add up to about 1 << 22).
// Pillow-SIMD multiplies 16-bit weights, which is faster but not the same pixels; these kernels multiply the
// full 22-bit weights (vpmulld), so every variant returns exactly Pillow's bytes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Fixed-point fraction bits of the weights (Pillow's PRECISION_BITS for 8-bit images).
#define ONNXRUN_RESAMPLE_PRECISION_BITS 22
/// `weight_stride` must be a multiple of this: the vector variants read taps in groups of up to 4.
#define ONNXRUN_RESAMPLE_WEIGHT_ALIGNMENT 4

/// One axis's coefficients: output i reads input pixels starts[i] ..< starts[i] + counts[i] with the weights
/// weights[i * weight_stride ..< i * weight_stride + counts[i]]; the weights from counts[i] up to weight_stride
/// are zero.
typedef struct {
    const int32_t *starts;
    const int32_t *counts;
    const int32_t *weights;
    size_t outputs;
    size_t weight_stride;
} onnxrun_resample_coefficients;

/// The best variant this CPU supports: 0 portable, 1 AVX2, 2 AVX-512 (F, VL, BW). Detected once.
int onnxrun_resample_isa_level(void);

/// Horizontal pass over `rows` RGB rows: row r starts at input + r * input_stride, output row r (outputs RGB
/// pixels) at output + r * output_stride. `input_size` is the number of bytes readable from `input`; the vector
/// variants read a few bytes past a pixel's last tap only while that stays inside it.
void onnxrun_resample_horizontal(const uint8_t *input, size_t input_stride, size_t input_size, size_t rows,
                                 const onnxrun_resample_coefficients *coefficients, uint8_t *output,
                                 size_t output_stride);
void onnxrun_resample_horizontal_portable(const uint8_t *input, size_t input_stride, size_t input_size,
                                          size_t rows, const onnxrun_resample_coefficients *coefficients,
                                          uint8_t *output, size_t output_stride);
#if defined(__x86_64__)
void onnxrun_resample_horizontal_avx2(const uint8_t *input, size_t input_stride, size_t input_size, size_t rows,
                                      const onnxrun_resample_coefficients *coefficients, uint8_t *output,
                                      size_t output_stride);
void onnxrun_resample_horizontal_avx512(const uint8_t *input, size_t input_stride, size_t input_size,
                                        size_t rows, const onnxrun_resample_coefficients *coefficients,
                                        uint8_t *output, size_t output_stride);
#endif

/// One output row of the vertical pass: output[i] = clip8(half + sum over t < count of
/// input[t * input_stride + i] * weights[t]) for i < row_bytes (`input` points at the first tap's row).
void onnxrun_resample_vertical_row(const uint8_t *input, size_t input_stride, const int32_t *weights, size_t count,
                                   size_t row_bytes, uint8_t *output);
void onnxrun_resample_vertical_row_portable(const uint8_t *input, size_t input_stride, const int32_t *weights,
                                            size_t count, size_t row_bytes, uint8_t *output);
#if defined(__x86_64__)
void onnxrun_resample_vertical_row_avx2(const uint8_t *input, size_t input_stride, const int32_t *weights,
                                        size_t count, size_t row_bytes, uint8_t *output);
void onnxrun_resample_vertical_row_avx512(const uint8_t *input, size_t input_stride, const int32_t *weights,
                                          size_t count, size_t row_bytes, uint8_t *output);
#endif

/// How an RGB row becomes tensor values: output channel c of pixel x is
/// tables[c * 256 + row[3 * x + source_channels[c]]], stored at output[c * channel_stride + x * pixel_stride]
/// (NCHW: channel_stride = H * W, pixel_stride = 1; NHWC: channel_stride = 1, pixel_stride = 3).
typedef struct {
    const float *tables;
    int32_t source_channels[3];
    size_t channel_stride;
    size_t pixel_stride;
} onnxrun_normalization;

/// Writes `width` pixels of the RGB row `row` as tensor values starting at `output`.
void onnxrun_normalize_row(const uint8_t *row, size_t width, const onnxrun_normalization *normalization,
                           float *output);

#ifdef __cplusplus
}
#endif
