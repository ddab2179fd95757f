// NCHW <-> NHWC transposes (C kernels).

import CKernels

enum LayoutKernels {
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
