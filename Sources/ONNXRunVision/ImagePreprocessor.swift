// ImagePreprocessor: resize, centre crop and normalize an RGBImage into a float32 model input Tensor.

import ONNXRun

/// Applies a `PreprocessingConfiguration` to decoded images. Build one per model and reuse it (it holds the
/// normalization lookup tables).
public struct ImagePreprocessor: Sendable {
    public let configuration: PreprocessingConfiguration
    /// Tensor value per pixel value, for each source channel (R, G, B).
    private let tables: [[Float]]
    /// Largest model input (height x width) accepted, so metadata cannot ask for a huge tensor.
    public static let maxInputPixelCount = 64 << 20

    /// Throws when the configuration is unusable (non-positive sizes, zero std, wrong mean/std counts).
    public init(configuration: PreprocessingConfiguration) throws {
        guard configuration.inputHeight > 0, configuration.inputWidth > 0,
              configuration.inputHeight <= 1 << 16, configuration.inputWidth <= 1 << 16,
              configuration.inputHeight * configuration.inputWidth <= Self.maxInputPixelCount,
              configuration.effectiveResizeShorterSide > 0, configuration.effectiveResizeShorterSide <= 1 << 16
        else {
            let sizes = "input \(configuration.inputHeight)x\(configuration.inputWidth), "
                + "resize \(configuration.effectiveResizeShorterSide)"
            throw ONNXRunError(.invalidArgument, "preprocessing sizes must be 1...65536 (input at most "
                               + "\(Self.maxInputPixelCount) pixels): \(sizes)")
        }
        self.configuration = configuration
        tables = try configuration.normalization.lookupTables()
    }

    /// The image resized (shorter side, Pillow bilinear) and centre-cropped to the input size: the pixels the
    /// model sees, before normalization. Only the cropped part of the resized image is computed, so a very
    /// elongated photo costs no more than its crop.
    public func resizedAndCropped(_ image: RGBImage) throws -> RGBImage {
        let size = ImageResampler.sizeWithShorterSide(configuration.effectiveResizeShorterSide,
                                                      width: image.width, height: image.height,
                                                      rounding: configuration.longerSideRounding)
        let cropWidth = configuration.inputWidth, cropHeight = configuration.inputHeight
        let left = ImageResampler.centerCropOffset(size: size.width, crop: cropWidth)
        let top = ImageResampler.centerCropOffset(size: size.height, crop: cropHeight)
        // The part of the crop window inside the resized image (all of it unless the crop pads).
        let firstColumn = max(left, 0), lastColumn = min(left + cropWidth, size.width)
        let firstRow = max(top, 0), lastRow = min(top + cropHeight, size.height)
        let region = ImageResampler.Region(x: firstColumn, y: firstRow, width: lastColumn - firstColumn,
                                           height: lastRow - firstRow)
        let inside = try ImageResampler.resizeBilinear(image, width: size.width, height: size.height, region: region)
        if region.width == cropWidth, region.height == cropHeight { return inside }
        // torchvision pads a crop larger than the image with black, (crop - size) // 2 before.
        var pixels = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        let rowLength = region.width * 3
        for y in 0..<region.height {
            let destination = ((firstRow - top + y) * cropWidth + (firstColumn - left)) * 3
            pixels.replaceSubrange(destination..<destination + rowLength,
                                   with: inside.pixels[y * rowLength..<(y + 1) * rowLength])
        }
        return try RGBImage(width: cropWidth, height: cropHeight, pixels: pixels)
    }

    /// The model input for one image: float32 `[1, 3, H, W]` (NCHW) or `[1, H, W, 3]` (NHWC).
    public func tensor(for image: RGBImage) throws -> Tensor {
        try tensor(forCropped: resizedAndCropped(image))
    }

    /// Normalizes an image that already has the input size (no resize or crop).
    public func tensor(forCropped image: RGBImage) throws -> Tensor {
        let height = configuration.inputHeight, width = configuration.inputWidth
        guard image.width == width, image.height == height else {
            throw ONNXRunError(.invalidArgument,
                               "image is \(image.width)x\(image.height), the input needs \(width)x\(height)")
        }
        // Output channel c reads source channel sourceChannel[c].
        let sourceChannel = configuration.channelOrder == .rgb ? [0, 1, 2] : [2, 1, 0]
        var tensor = Tensor(zeros: .float, shape: configuration.shape(batchSize: 1))
        let planeSize = height * width
        let layout = configuration.layout
        tensor.withUnsafeMutableBufferPointer(as: Float.self) { output in
            image.pixels.withUnsafeBufferPointer { pixels in
                for channel in 0..<3 {
                    let source = sourceChannel[channel]
                    tables[source].withUnsafeBufferPointer { table in
                        switch layout {
                        case .nchw:
                            let plane = channel * planeSize
                            for index in 0..<planeSize {
                                output[plane + index] = table[Int(pixels[index * 3 + source])]
                            }
                        case .nhwc:
                            for index in 0..<planeSize {
                                output[index * 3 + channel] = table[Int(pixels[index * 3 + source])]
                            }
                        }
                    }
                }
            }
        }
        return tensor
    }

    /// Stacks single-image tensors (`[1, ...]`, all the same shape) into one batch `[N, ...]`.
    public static func batch(_ tensors: [Tensor]) throws -> Tensor {
        guard let first = tensors.first else {
            throw ONNXRunError(.invalidArgument, "cannot batch zero images")
        }
        guard first.elementType == .float, first.rank >= 1, first.shape[0] == 1 else {
            throw ONNXRunError(.invalidArgument, "batching needs float tensors of batch 1, got \(first)")
        }
        if tensors.count == 1 { return first }
        for tensor in tensors where tensor.shape != first.shape || tensor.elementType != first.elementType {
            throw ONNXRunError(.invalidArgument, "cannot batch \(tensor) with \(first): shapes differ")
        }
        var shape = first.shape
        shape[0] = tensors.count
        var result = Tensor(zeros: .float, shape: shape)
        let stride = first.elementCount
        result.withUnsafeMutableBufferPointer(as: Float.self) { output in
            for (index, tensor) in tensors.enumerated() {
                tensor.withUnsafeBufferPointer(as: Float.self) { input in
                    guard let source = input.baseAddress, let destination = output.baseAddress else { return }
                    (destination + index * stride).update(from: source, count: stride)
                }
            }
        }
        return result
    }
}
