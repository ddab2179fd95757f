// NCHW <-> NHWC transposes (C kernels).

import CKernels

enum LayoutKernels {
    /// `[batch, channels, pixels]` -> `[batch, pixels, channels]` for `pixels` (all when nil) of `images` (output
    /// must not alias input).
    static func transposeToChannelsLast(input: UnsafePointer<Float>, channels: Int, pixelCount: Int,
                                        output: UnsafeMutablePointer<Float>, images: Range<Int>,
                                        pixels: Range<Int>? = nil) {
        let pixels = pixels ?? 0..<pixelCount
        precondition(channels >= 0 && images.lowerBound >= 0 && pixels.lowerBound >= 0
                         && pixels.upperBound <= pixelCount)
        ork_nchw_to_nhwc(input, channels, pixelCount, output, images.lowerBound, images.upperBound,
                         pixels.lowerBound, pixels.upperBound)
    }

    /// `[batch, pixels, channels]` -> `[batch, channels, pixels]` for `pixels` (all when nil) of `images` (output
    /// must not alias input).
    static func transposeToChannelsFirst(input: UnsafePointer<Float>, channels: Int, pixelCount: Int,
                                         output: UnsafeMutablePointer<Float>, images: Range<Int>,
                                         pixels: Range<Int>? = nil) {
        let pixels = pixels ?? 0..<pixelCount
        precondition(channels >= 0 && images.lowerBound >= 0 && pixels.lowerBound >= 0
                         && pixels.upperBound <= pixelCount)
        ork_nhwc_to_nchw(input, channels, pixelCount, output, images.lowerBound, images.upperBound,
                         pixels.lowerBound, pixels.upperBound)
    }

    /// The uint8 form of `transposeToChannelsLast` (quantized tensors).
    static func transposeToChannelsLast(input: UnsafePointer<UInt8>, channels: Int, pixelCount: Int,
                                        output: UnsafeMutablePointer<UInt8>, images: Range<Int>) {
        precondition(channels >= 0 && pixelCount >= 0 && images.lowerBound >= 0)
        ork_nchw_to_nhwc_u8(input, channels, pixelCount, output, images.lowerBound, images.upperBound)
    }

    /// The uint8 form of `transposeToChannelsFirst` (quantized tensors).
    static func transposeToChannelsFirst(input: UnsafePointer<UInt8>, channels: Int, pixelCount: Int,
                                         output: UnsafeMutablePointer<UInt8>, images: Range<Int>) {
        precondition(channels >= 0 && pixelCount >= 0 && images.lowerBound >= 0)
        ork_nhwc_to_nchw_u8(input, channels, pixelCount, output, images.lowerBound, images.upperBound)
    }

    /// com.microsoft QLinearGlobalAveragePool of NHWC uint8 images: `scale` = x_scale / (y_scale * pixelCount).
    static func quantizedGlobalAveragePool(input: UnsafePointer<UInt8>, pixelCount: Int, channels: Int,
                                           inputZeroPoint: Int32, scale: Float, outputZeroPoint: Int32,
                                           output: UnsafeMutablePointer<UInt8>, images: Range<Int>) {
        precondition(pixelCount >= 0 && channels >= 0 && images.lowerBound >= 0)
        ork_qglobal_average_pool_nhwc(input, pixelCount, channels, inputZeroPoint, scale, outputZeroPoint, output,
                                      images.lowerBound, images.upperBound)
    }
}
