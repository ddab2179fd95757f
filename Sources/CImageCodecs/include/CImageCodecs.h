// JPEG/PNG decoding shims for onnxrun: libjpeg-turbo and libpng errors become return codes, never exit() or a
// longjmp through Swift frames.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "CImageResample.h"  // the resampling kernels (this header is the module's umbrella)

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of the shims.
typedef enum {
    ONNXRUN_IMAGE_OK = 0,
    /// The data is corrupt, truncated or uses a feature the library refuses; the message says which.
    ONNXRUN_IMAGE_CORRUPT = 1,
    /// The declared size exceeds the caller's pixel limit (nothing large was allocated).
    ONNXRUN_IMAGE_TOO_LARGE = 2,
    /// The caller's buffer does not match the header (a programming error on the Swift side).
    ONNXRUN_IMAGE_BAD_ARGUMENT = 3,
} onnxrun_image_status;

/// What a header says about an image.
typedef struct {
    uint32_t width;
    uint32_t height;
    /// Components in the file: 1 gray, 2 gray+alpha, 3 RGB/YCbCr, 4 RGBA or CMYK/YCCK.
    int32_t components;
    /// Bits per component in the file (8 for JPEG; 1, 2, 4, 8 or 16 for PNG).
    int32_t bit_depth;
    /// 1 for progressive JPEG or interlaced (Adam7) PNG.
    int32_t progressive;
    /// JPEG: 1 when the file stores CMYK or YCCK. PNG: 1 when it is palette-based.
    int32_t special_color;
} onnxrun_image_info;

/// Reads a JPEG header. Fails with ONNXRUN_IMAGE_TOO_LARGE when width * height > max_pixels.
/// `message` (capacity bytes, NUL-terminated) receives the reason on failure.
int onnxrun_jpeg_read_info(const uint8_t *data, size_t size, uint64_t max_pixels, onnxrun_image_info *info,
                           char *message, size_t message_capacity);

/// Decodes the columns first_column ..< first_column + column_count of a JPEG into `output` as 8-bit RGB
/// interleaved, `output_size` = column_count * height * 3, where width and height are the header's divided by
/// `scale_denominator` (1, 2, 4 or 8), rounded up: libjpeg-turbo's DCT scaling, faster for large images but not
/// the same pixels as a full decode; 1 decodes exactly as Pillow does. The window's pixels are those of a full
/// decode (only the columns around it are inverse-transformed, upsampled and converted). Gray is replicated;
/// CMYK/YCCK are converted as Pillow's convert("RGB") does (Adobe-inverted storage). Premature end of data is
/// an error, not a grey image.
int onnxrun_jpeg_decode_rgb(const uint8_t *data, size_t size, uint64_t max_pixels, int scale_denominator,
                            uint32_t first_column, uint32_t column_count, uint8_t *output, size_t output_size,
                            char *message, size_t message_capacity);

/// Reads a PNG header (signature, IHDR and the chunks before the first IDAT).
int onnxrun_png_read_info(const uint8_t *data, size_t size, uint64_t max_pixels, onnxrun_image_info *info,
                          char *message, size_t message_capacity);

/// Decodes a PNG into 8-bit RGB interleaved: palette expanded, gray replicated, alpha dropped (not composited),
/// 16-bit scaled with rounding (png_set_scale_16), Adam7 de-interlaced. No gamma or colour management.
int onnxrun_png_decode_rgb(const uint8_t *data, size_t size, uint64_t max_pixels, uint8_t *output,
                           size_t output_size, char *message, size_t message_capacity);

#ifdef __cplusplus
}
#endif
