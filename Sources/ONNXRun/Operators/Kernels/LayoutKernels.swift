// NHWC global average pooling and NCHW <-> NHWC transposes (C kernels).

import CKernels

enum LayoutKernels {
    /// `output[image][c]` = mean of `input[image][pixel][c]` over `pixelCount` pixels, for `images`.
    static func globalAveragePool(input: UnsafePointer<Float>, pixelCount: Int, channels: Int,
                                  output: UnsafeMutablePointer<Float>, images: Range<Int>) {
        precondition(pixelCount >= 0 && channels >= 0 && images.lowerBound >= 0)
        ork_global_average_pool_nhwc(input, pixelCount, channels, output, images.lowerBound, images.upperBound)
    }

    /// `[batch, channels, pixels]` -> `[batch, pixels, channels]` for `images` (output must not alias input).
    static func transposeToChannelsLast(input: UnsafePointer<Float>, channels: Int, pixelCount: Int,
                                        output: UnsafeMutablePointer<Float>, images: Range<Int>) {
        precondition(channels >= 0 && pixelCount >= 0 && images.lowerBound >= 0)
        ork_nchw_to_nhwc(input, channels, pixelCount, output, images.lowerBound, images.upperBound)
    }

    /// `[batch, pixels, channels]` -> `[batch, channels, pixels]` for `images` (output must not alias input).
    static func transposeToChannelsFirst(input: UnsafePointer<Float>, channels: Int, pixelCount: Int,
                                         output: UnsafeMutablePointer<Float>, images: Range<Int>) {
        precondition(channels >= 0 && pixelCount >= 0 && images.lowerBound >= 0)
        ork_nhwc_to_nchw(input, channels, pixelCount, output, images.lowerBound, images.upperBound)
    }
}
