// ImagePreprocessor: resize, centre crop and normalize an RGBImage into a float32 model input Tensor.

import ONNXRun

/// Applies a `PreprocessingConfiguration` to decoded images. Build one per model and reuse it (it holds the
/// normalization lookup tables).
public struct ImagePreprocessor: Sendable {
    public let configuration: PreprocessingConfiguration
    /// Tensor value per pixel value, for each source channel (R, G, B).
    private let tables: [[Float]]

    /// Throws when the configuration is unusable (non-positive sizes, zero std, wrong mean/std counts).
    public init(configuration: PreprocessingConfiguration) throws {
        guard configuration.inputHeight > 0, configuration.inputWidth > 0,
              configuration.inputHeight <= 1 << 16, configuration.inputWidth <= 1 << 16,
              configuration.effectiveResizeShorterSide > 0, configuration.effectiveResizeShorterSide <= 1 << 16
        else {
            throw ONNXRunError(.invalidArgument,
                               "preprocessing sizes must be 1...65536: input \(configuration.inputHeight)x\(configuration.inputWidth), resize \(configuration.effectiveResizeShorterSide)")
        }
        self.configuration = configuration
        tables = try configuration.normalization.lookupTables()
    }

    /// The image resized (shorter side, Pillow bilinear) and centre-cropped to the input size: the pixels the
    /// model sees, before normalization.
    public func resizedAndCropped(_ image: RGBImage) throws -> RGBImage {
        let size = ImageResampler.sizeWithShorterSide(configuration.effectiveResizeShorterSide,
                                                      width: image.width, height: image.height,
                                                      rounding: configuration.longerSideRounding)
        let resized = try ImageResampler.resizeBilinear(image, width: size.width, height: size.height)
        return try ImageResampler.centerCrop(resized, width: configuration.inputWidth,
                                             height: configuration.inputHeight)
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
