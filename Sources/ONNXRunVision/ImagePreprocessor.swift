// ImagePreprocessor: resize, centre crop and normalize an RGBImage into a float32 model input Tensor.

import CImageCodecs
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

    /// The resized image's size and where the centre crop window lies in it.
    private func cropGeometry(width: Int, height: Int) -> (size: (width: Int, height: Int), left: Int, top: Int,
                                                           region: ImageResampler.Region) {
        let size = ImageResampler.sizeWithShorterSide(configuration.effectiveResizeShorterSide,
                                                      width: width, height: height,
                                                      rounding: configuration.longerSideRounding)
        let left = ImageResampler.centerCropOffset(size: size.width, crop: configuration.inputWidth)
        let top = ImageResampler.centerCropOffset(size: size.height, crop: configuration.inputHeight)
        // The part of the crop window inside the resized image (all of it unless the crop pads).
        let firstColumn = max(left, 0), lastColumn = min(left + configuration.inputWidth, size.width)
        let firstRow = max(top, 0), lastRow = min(top + configuration.inputHeight, size.height)
        let region = ImageResampler.Region(x: firstColumn, y: firstRow, width: lastColumn - firstColumn,
                                           height: lastRow - firstRow)
        return (size, left, top, region)
    }

    /// The image resized (shorter side, Pillow bilinear) and centre-cropped to the input size: the pixels the
    /// model sees, before normalization. Only the cropped part of the resized image is computed, so a very
    /// elongated photo costs no more than its crop.
    public func resizedAndCropped(_ image: RGBImage, kernels: ResamplingKernels = .best) throws -> RGBImage {
        let width = configuration.inputWidth, height = configuration.inputHeight
        let (size, left, top, region) = cropGeometry(width: image.width, height: image.height)
        // torchvision pads a crop larger than the image with black, (crop - size) // 2 before.
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let rowLength = region.width * 3
        try pixels.withUnsafeMutableBufferPointer { output in
            guard let base = output.baseAddress else { return }
            try ImageResampler.resample(image, width: size.width, height: size.height, region: region,
                                        kernels: kernels) { y, row in
                (base + ((region.y - top + y) * width + region.x - left) * 3).update(from: row, count: rowLength)
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The number of floats one image's input holds (`configuration.shape(batchSize: 1)`).
    public var elementCount: Int { configuration.inputHeight * configuration.inputWidth * 3 }

    /// The model input for one image: float32 `[1, 3, H, W]` (NCHW) or `[1, H, W, 3]` (NHWC).
    public func tensor(for image: RGBImage) throws -> Tensor {
        var tensor = Tensor(zeros: .float, shape: configuration.shape(batchSize: 1))
        try tensor.withUnsafeMutableBufferPointer(as: Float.self) { try write(image, into: $0) }
        return tensor
    }

    /// Resizes, crops and normalizes `image` straight into `output` (`elementCount` floats in the model's layout,
    /// e.g. one image's slot of a batch tensor): each resized row is converted as the last resampling pass
    /// produces it, so neither the resized nor the cropped image is stored.
    public func write(_ image: RGBImage, into output: UnsafeMutableBufferPointer<Float>,
                      kernels: ResamplingKernels = .best) throws {
        try write(image, firstColumn: 0, fullWidth: image.width, into: output, kernels: kernels)
    }

    /// `write` for an image `fullWidth` pixels wide of which `image` holds the columns from `firstColumn` on.
    private func write(_ image: RGBImage, firstColumn: Int, fullWidth: Int,
                       into output: UnsafeMutableBufferPointer<Float>, kernels: ResamplingKernels = .best) throws {
        guard output.count == elementCount, let base = output.baseAddress else {
            throw ONNXRunError(.invalidArgument, "the output holds \(output.count) floats, the input needs \(elementCount)")
        }
        let width = configuration.inputWidth, height = configuration.inputHeight
        let (size, left, top, region) = cropGeometry(width: fullWidth, height: image.height)
        try withNormalization { normalization, pixelStride in
            // Pixel (x, y) of the crop starts at output[(y * width + x) * pixelStride].
            if region.width != width || region.height != height {
                // torchvision pads a crop larger than the image with black before normalizing.
                let black = [UInt8](repeating: 0, count: width * 3)
                for y in 0..<height {
                    onnxrun_normalize_row(black, width, normalization, base + y * width * pixelStride)
                }
            }
            try ImageResampler.resample(image, firstColumn: firstColumn, fullWidth: fullWidth, width: size.width,
                                        height: size.height, region: region, kernels: kernels) { y, row in
                let pixel = (region.y - top + y) * width + region.x - left
                onnxrun_normalize_row(row, region.width, normalization, base + pixel * pixelStride)
            }
        }
    }

    /// The shorter side a reduced (`fastDecode`) JPEG decode must keep: the resize target, or the crop when larger.
    public var fastDecodeShorterSide: Int {
        max(configuration.effectiveResizeShorterSide, configuration.inputHeight, configuration.inputWidth)
    }

    /// Where the time of one `write(encoded:...)` went.
    public struct Timings: Sendable, Equatable {
        public var decodeSeconds: Double
        public var preprocessSeconds: Double
    }

    /// Decodes an encoded JPEG or PNG image (`source` names it in errors) and writes its model input into `output`
    /// (`elementCount` floats, e.g. one image's slot of a batch tensor): the one call a pipeline needs per image,
    /// with `ImageDecoder.contents(ofFile:)` to read the file. The result equals `write(_:into:)` of the decoded
    /// image, but a JPEG is decoded only in the columns the resize reads. With `fastDecode`, a JPEG at least twice
    /// as large as needed is decoded at reduced scale (see `ImageDecoder.decode(_:source:limits:minimumShorterSide:)`):
    /// faster, not bit-exact with Pillow. Returns the time spent decoding and preprocessing.
    @discardableResult
    public func write(encoded bytes: UnsafeRawBufferPointer, source: String,
                      into output: UnsafeMutableBufferPointer<Float>, limits: ImageDecodingLimits = .default,
                      fastDecode: Bool = false) throws -> Timings {
        let clock = ContinuousClock()
        let start = clock.now
        let plan = try ImageDecoder.DecodePlan(bytes, source: source, limits: limits,
                                               minimumShorterSide: fastDecode ? fastDecodeShorterSide : nil)
        // A JPEG is decoded only in the columns the resize reads (the same pixels, less work on wide photos).
        let geometry = cropGeometry(width: plan.width, height: plan.height)
        let columns = plan.format == .jpeg
            ? ImageResampler.inputColumns(imageWidth: plan.width, width: geometry.size.width, region: geometry.region)
            : 0..<plan.width
        let image = try plan.decode(bytes, columns: columns)
        let decoded = clock.now
        do {
            try write(image, firstColumn: columns.lowerBound, fullWidth: plan.width, into: output)
        } catch let error as ONNXRunError {
            throw error.adding(file: source)
        }
        let end = clock.now
        return Timings(decodeSeconds: seconds(decoded - start), preprocessSeconds: seconds(end - decoded))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    /// Normalizes an image that already has the input size (no resize or crop).
    public func tensor(forCropped image: RGBImage) throws -> Tensor {
        let height = configuration.inputHeight, width = configuration.inputWidth
        guard image.width == width, image.height == height else {
            throw ONNXRunError(.invalidArgument,
                               "image is \(image.width)x\(image.height), the input needs \(width)x\(height)")
        }
        var tensor = Tensor(zeros: .float, shape: configuration.shape(batchSize: 1))
        withNormalization { normalization, pixelStride in
            tensor.withUnsafeMutableBufferPointer(as: Float.self) { output in
                image.pixels.withUnsafeBufferPointer { pixels in
                    guard let base = output.baseAddress, let source = pixels.baseAddress else { return }
                    for y in 0..<height {
                        onnxrun_normalize_row(source + y * width * 3, width, normalization,
                                              base + y * width * pixelStride)
                    }
                }
            }
        }
        return tensor
    }

    /// The C description of this configuration's normalization and layout, and the floats between pixels.
    private func withNormalization<Result>(
        _ body: (UnsafePointer<onnxrun_normalization>, Int) throws -> Result
    ) rethrows -> Result {
        // Output channel c reads source channel sourceChannels[c] through that channel's table.
        let sourceChannels: [Int32] = configuration.channelOrder == .rgb ? [0, 1, 2] : [2, 1, 0]
        let outputTables = sourceChannels.flatMap { tables[Int($0)] }
        let planeSize = configuration.inputHeight * configuration.inputWidth
        let (channelStride, pixelStride) = configuration.layout == .nchw ? (planeSize, 1) : (1, 3)
        return try outputTables.withUnsafeBufferPointer { outputTables in
            var normalization = onnxrun_normalization(
                tables: outputTables.baseAddress,
                source_channels: (sourceChannels[0], sourceChannels[1], sourceChannels[2]),
                channel_stride: channelStride, pixel_stride: pixelStride)
            return try body(&normalization, pixelStride)
        }
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
