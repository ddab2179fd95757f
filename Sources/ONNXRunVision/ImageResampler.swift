// Pillow-exact bilinear resize (antialiased when shrinking) and torchvision-exact centre crop of RGBImage.

import ONNXRun

/// Geometry operations that reproduce Pillow and torchvision bit for bit, so a model sees the pixels it was
/// trained on.
public enum ImageResampler {
    // MARK: - Bilinear resize (Pillow's Resample.c)

    /// Pillow's fixed-point precision for 8-bit images: `PRECISION_BITS = 32 - 8 - 2`.
    private static let precisionBits = 22

    /// A rectangle of pixels: columns `x..<x + width`, rows `y..<y + height`.
    public struct Region: Sendable, Equatable {
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int

        public init(x: Int, y: Int, width: Int, height: Int) {
            self.x = x
            self.y = y
            self.width = width
            self.height = height
        }
    }

    /// `image` resized to `width` x `height` exactly as Pillow's `Image.resize((width, height), Image.BILINEAR)`:
    /// a triangle filter whose support grows with the shrink factor (so shrinking averages, i.e. antialiases),
    /// separable, one pass per axis in Pillow 13's order, each in 22-bit fixed point rounded and clamped to 8 bits.
    public static func resizeBilinear(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        try resizeBilinear(image, width: width, height: height,
                           region: Region(x: 0, y: 0, width: width, height: height))
    }

    /// The part `region` of `image` resized to `width` x `height`: the same pixels as `resizeBilinear` followed by
    /// a crop, without computing (or allocating) the rest. Each output pixel of a pass depends only on its own
    /// coefficients and one input row or column, so restricting the passes to the region is exact.
    public static func resizeBilinear(_ image: RGBImage, width: Int, height: Int,
                                      region: Region) throws -> RGBImage {
        guard width > 0, height > 0, width <= 1 << 30, height <= 1 << 30 else {
            throw ONNXRunError(.invalidArgument, "cannot resize to \(width)x\(height)")
        }
        guard region.x >= 0, region.y >= 0, region.width > 0, region.height > 0,
              region.x + region.width <= width, region.y + region.height <= height,
              region.width.multipliedReportingOverflow(by: region.height * 3).overflow == false
        else {
            throw ONNXRunError(.invalidArgument,
                               "region \(region.width)x\(region.height) at (\(region.x), \(region.y)) is outside \(width)x\(height)")
        }
        let columns = region.x..<region.x + region.width
        let rows = region.y..<region.y + region.height
        // Pillow skips a pass whose size does not change (the identity pass would reproduce the input anyway).
        let horizontal = width != image.width
            ? Coefficients(inputSize: image.width, outputSize: width, outputs: columns) : nil
        let vertical = height != image.height
            ? Coefficients(inputSize: image.height, outputSize: height, outputs: rows) : nil
        // Only the input rows and columns the passes read.
        let inputColumns = horizontal?.inputRange ?? columns
        let inputRows = vertical?.inputRange ?? rows
        var current = try crop(image, Region(x: inputColumns.lowerBound, y: inputRows.lowerBound,
                                             width: inputColumns.count, height: inputRows.count))
        let shiftedHorizontal = horizontal?.shifted(by: inputColumns.lowerBound)
        let shiftedVertical = vertical?.shifted(by: inputRows.lowerBound)
        // The order of the passes matters by one level in a few pixels because of the 8-bit rounding between
        // them: Pillow 13 (python-pillow/Pillow#9549) runs the vertical pass first when the height shrinks by
        // more than twice as many pixels as the width does; earlier Pillows always went horizontal first.
        let verticalFirst = width != image.width && height < image.height
            && image.height - height > 2 * (image.width - width)
        if verticalFirst, let shiftedVertical {
            current = resampleVertically(current, coefficients: shiftedVertical)
        }
        if let shiftedHorizontal {
            current = resampleHorizontally(current, coefficients: shiftedHorizontal)
        }
        if !verticalFirst, let shiftedVertical {
            current = resampleVertically(current, coefficients: shiftedVertical)
        }
        return current
    }

    /// The pixels of `region`, which must lie inside `image`.
    private static func crop(_ image: RGBImage, _ region: Region) throws -> RGBImage {
        guard region.x >= 0, region.y >= 0, region.width > 0, region.height > 0,
              region.x + region.width <= image.width, region.y + region.height <= image.height
        else {
            throw ONNXRunError(.invalidArgument, "crop region outside the \(image.width)x\(image.height) image")
        }
        if region.width == image.width, region.height == image.height { return image }
        let rowLength = region.width * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: rowLength * region.height) { output, initialized in
            image.pixels.withUnsafeBufferPointer { input in
                guard let source = input.baseAddress, let destination = output.baseAddress else { return }
                for y in 0..<region.height {
                    let from = source + ((region.y + y) * image.width + region.x) * 3
                    (destination + y * rowLength).initialize(from: from, count: rowLength)
                }
            }
            initialized = rowLength * region.height
        }
        return RGBImage(checkedWidth: region.width, height: region.height, pixels: pixels)
    }

    /// Per output position in a range: the first input index, the number of taps, and `kernelSize` fixed-point
    /// weights. Mirrors Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` operation for operation (double
    /// precision, the same rounding of bounds and weights).
    struct Coefficients {
        let kernelSize: Int
        let starts: [Int]
        let counts: [Int]
        let weights: [Int32]

        /// Coefficients of `outputs` (a range of `0..<outputSize`) for resampling `inputSize` to `outputSize`.
        init(inputSize: Int, outputSize: Int, outputs: Range<Int>) {
            let scale = Double(inputSize) / Double(outputSize)
            let filterScale = max(scale, 1.0)
            let support = 1.0 * filterScale  // the bilinear (triangle) filter has support 1
            let kernelSize = Int(support.rounded(.up)) * 2 + 1
            let inverseFilterScale = 1.0 / filterScale
            var starts = [Int](repeating: 0, count: outputs.count)
            var counts = [Int](repeating: 0, count: outputs.count)
            var weights = [Int32](repeating: 0, count: outputs.count * kernelSize)
            var taps = [Double](repeating: 0, count: kernelSize)
            for (slot, output) in outputs.enumerated() {
                let center = (Double(output) + 0.5) * scale
                // C's (int) conversion truncates toward zero, as Int(_: Double) does.
                let start = max(Int(center - support + 0.5), 0)
                let end = min(Int(center + support + 0.5), inputSize)
                let count = min(max(end - start, 0), kernelSize)
                var total = 0.0
                for tap in 0..<count {
                    var distance = (Double(tap + start) - center + 0.5) * inverseFilterScale
                    if distance < 0 { distance = -distance }
                    let weight = distance < 1.0 ? 1.0 - distance : 0.0
                    taps[tap] = weight
                    total += weight
                }
                for tap in 0..<count {
                    var weight = taps[tap]
                    if total != 0 { weight /= total }
                    let fixed = weight < 0
                        ? -0.5 + weight * Double(1 << ImageResampler.precisionBits)
                        : 0.5 + weight * Double(1 << ImageResampler.precisionBits)
                    weights[slot * kernelSize + tap] = Int32(fixed)
                }
                starts[slot] = start
                counts[slot] = count
            }
            self.kernelSize = kernelSize
            self.starts = starts
            self.counts = counts
            self.weights = weights
        }

        private init(kernelSize: Int, starts: [Int], counts: [Int], weights: [Int32]) {
            self.kernelSize = kernelSize
            self.starts = starts
            self.counts = counts
            self.weights = weights
        }

        /// The input indices any tap reads.
        var inputRange: Range<Int> {
            let lower = zip(starts, counts).filter { $0.1 > 0 }.map(\.0).min() ?? 0
            let upper = zip(starts, counts).map { $0.0 + $0.1 }.max() ?? 0
            return lower..<max(upper, lower + 1)
        }

        /// The same coefficients reading an input that starts at `offset`.
        func shifted(by offset: Int) -> Coefficients {
            Coefficients(kernelSize: kernelSize, starts: starts.map { $0 - offset }, counts: counts, weights: weights)
        }
    }

    /// Pillow's `clip8`: the rounded fixed-point sum shifted back to 8 bits, clamped to 0...255.
    @inline(__always)
    private static func clip8(_ sum: Int) -> UInt8 {
        if sum >= (1 << precisionBits) << 8 { return 255 }
        if sum <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: sum >> precisionBits)
    }

    private static func resampleHorizontally(_ image: RGBImage, coefficients: Coefficients) -> RGBImage {
        let inputWidth = image.width
        let outputWidth = coefficients.starts.count
        let height = image.height
        let kernelSize = coefficients.kernelSize
        let half = 1 << (precisionBits - 1)
        let pixels = [UInt8](unsafeUninitializedCapacity: outputWidth * height * 3) { output, initialized in
            image.pixels.withUnsafeBufferPointer { input in
                coefficients.weights.withUnsafeBufferPointer { weights in
                    coefficients.starts.withUnsafeBufferPointer { starts in
                        coefficients.counts.withUnsafeBufferPointer { counts in
                            for y in 0..<height {
                                let inputRow = y * inputWidth * 3
                                let outputRow = y * outputWidth * 3
                                for x in 0..<outputWidth {
                                    let start = starts[x]
                                    let kernel = x * kernelSize
                                    var red = half, green = half, blue = half
                                    for tap in 0..<counts[x] {
                                        let weight = Int(weights[kernel + tap])
                                        let source = inputRow + (start + tap) * 3
                                        red += Int(input[source]) * weight
                                        green += Int(input[source + 1]) * weight
                                        blue += Int(input[source + 2]) * weight
                                    }
                                    output[outputRow + x * 3] = clip8(red)
                                    output[outputRow + x * 3 + 1] = clip8(green)
                                    output[outputRow + x * 3 + 2] = clip8(blue)
                                }
                            }
                        }
                    }
                }
            }
            initialized = outputWidth * height * 3
        }
        return RGBImage(checkedWidth: outputWidth, height: height, pixels: pixels)
    }

    private static func resampleVertically(_ image: RGBImage, coefficients: Coefficients) -> RGBImage {
        let width = image.width
        let outputHeight = coefficients.starts.count
        let rowLength = width * 3
        let kernelSize = coefficients.kernelSize
        let half = 1 << (precisionBits - 1)
        let pixels = [UInt8](unsafeUninitializedCapacity: rowLength * outputHeight) { output, initialized in
            image.pixels.withUnsafeBufferPointer { input in
                coefficients.weights.withUnsafeBufferPointer { weights in
                    var sums = [Int](repeating: 0, count: rowLength)
                    sums.withUnsafeMutableBufferPointer { sums in
                        for y in 0..<outputHeight {
                            let start = coefficients.starts[y]
                            let kernel = y * kernelSize
                            for index in 0..<rowLength { sums[index] = half }
                            // Row by row so the inner loop runs over contiguous bytes.
                            for tap in 0..<coefficients.counts[y] {
                                let weight = Int(weights[kernel + tap])
                                let inputRow = (start + tap) * rowLength
                                for index in 0..<rowLength {
                                    sums[index] += Int(input[inputRow + index]) * weight
                                }
                            }
                            let outputRow = y * rowLength
                            for index in 0..<rowLength {
                                output[outputRow + index] = clip8(sums[index])
                            }
                        }
                    }
                }
            }
            initialized = rowLength * outputHeight
        }
        return RGBImage(checkedWidth: width, height: outputHeight, pixels: pixels)
    }

    // MARK: - Shorter-side resize and centre crop (torchvision)

    /// How the longer side is computed when resizing the shorter side to a given length.
    public enum LongerSideRounding: String, Sendable, Equatable {
        /// `round(longer * target / shorter)` (Python's round: half to even).
        case nearest
        /// `int(longer * target / shorter)`, as torchvision's `Resize(int)` does.
        case down
    }

    /// The size (width, height) whose shorter side is `shorterSide`, keeping the aspect ratio.
    public static func sizeWithShorterSide(_ shorterSide: Int, width: Int, height: Int,
                                           rounding: LongerSideRounding) -> (width: Int, height: Int) {
        let shorter = min(width, height), longer = max(width, height)
        let exact = Double(shorterSide) * Double(longer) / Double(shorter)
        let scaled = rounding == .nearest ? exact.rounded(.toNearestOrEven) : exact.rounded(.towardZero)
        let longerSide = max(Int(scaled), 1)
        return width <= height ? (shorterSide, longerSide) : (longerSide, shorterSide)
    }

    /// Where torchvision's `CenterCrop` starts along one axis: `int(round((size - crop) / 2))` (half to even), or
    /// minus the padding before the image when the crop is larger.
    static func centerCropOffset(size: Int, crop: Int) -> Int {
        if crop > size { return -((crop - size) / 2) }
        return Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }

    /// The centre `width` x `height` region, as torchvision's `CenterCrop`: the offset is
    /// `int(round((size - crop) / 2))` (half to even); a crop larger than the image pads with black first,
    /// `(crop - size) // 2` before, the rest after.
    public static func centerCrop(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        guard width > 0, height > 0, width.multipliedReportingOverflow(by: height).overflow == false,
              (width * height).multipliedReportingOverflow(by: 3).overflow == false
        else {
            throw ONNXRunError(.invalidArgument, "cannot crop to \(width)x\(height)")
        }
        if width == image.width, height == image.height { return image }
        let left = centerCropOffset(size: image.width, crop: width)
        let top = centerCropOffset(size: image.height, crop: height)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let firstColumn = max(0, -left), lastColumn = min(width, image.width - left)  // output columns with data
        image.pixels.withUnsafeBufferPointer { input in
            pixels.withUnsafeMutableBufferPointer { output in
                guard firstColumn < lastColumn else { return }
                for y in 0..<height {
                    let sourceY = y + top
                    guard sourceY >= 0, sourceY < image.height else { continue }
                    let source = (sourceY * image.width + firstColumn + left) * 3
                    let destination = (y * width + firstColumn) * 3
                    let count = (lastColumn - firstColumn) * 3
                    for index in 0..<count {
                        output[destination + index] = input[source + index]
                    }
                }
            }
        }
        return RGBImage(checkedWidth: width, height: height, pixels: pixels)
    }
}
