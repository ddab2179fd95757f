// Pillow-exact bilinear resize (antialiased when shrinking) and torchvision-exact centre crop of RGBImage.

import CImageCodecs
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
    public static func resizeBilinear(_ image: RGBImage, width: Int, height: Int,
                                      kernels: ResamplingKernels = .best) throws -> RGBImage {
        try resizeBilinear(image, width: width, height: height,
                           region: Region(x: 0, y: 0, width: width, height: height), kernels: kernels)
    }

    /// The part `region` of `image` resized to `width` x `height`: the same pixels as `resizeBilinear` followed by
    /// a crop, without computing (or allocating) the rest.
    public static func resizeBilinear(_ image: RGBImage, width: Int, height: Int, region: Region,
                                      kernels: ResamplingKernels = .best) throws -> RGBImage {
        let rowLength = region.width * 3
        var pixels = [UInt8](repeating: 0, count: max(region.width * region.height * 3, 0))
        try pixels.withUnsafeMutableBufferPointer { output in
            guard let destination = output.baseAddress else { return }
            try resample(image, width: width, height: height, region: region, kernels: kernels) { y, row in
                (destination + y * rowLength).update(from: row, count: rowLength)
            }
        }
        return RGBImage(checkedWidth: region.width, height: region.height, pixels: pixels)
    }

    /// Resizes `image` to `width` x `height` like `resizeBilinear` and hands each row of `region` (RGB,
    /// `region.width * 3` bytes, valid during the call) to `row` with its index in the region, top to bottom:
    /// the place to convert rows into a tensor without storing the resized image. Each output pixel of a pass
    /// depends only on its own coefficients and one input row or column, so restricting the passes to the
    /// region is exact.
    public static func resample(_ image: RGBImage, width: Int, height: Int, region: Region,
                                kernels: ResamplingKernels = .best,
                                row: (Int, UnsafePointer<UInt8>) throws -> Void) throws {
        try resample(image, firstColumn: 0, fullWidth: image.width, width: width, height: height, region: region,
                     kernels: kernels, row: row)
    }

    /// The input columns resizing an image `imageWidth` pixels wide to `width` reads for the columns of `region`
    /// (what a decoder must provide, see `resample(_:firstColumn:fullWidth:...)`).
    static func inputColumns(imageWidth: Int, width: Int, region: Region) -> Range<Int> {
        let columns = region.x..<region.x + region.width
        guard width != imageWidth else { return columns }
        return Coefficients(inputSize: imageWidth, outputSize: width, outputs: columns).inputRange
    }

    /// `resample` of an image `fullWidth` pixels wide of which `image` holds the columns
    /// `firstColumn ..< firstColumn + image.width` (all rows), which must include the `inputColumns` of the resize.
    static func resample(_ image: RGBImage, firstColumn: Int, fullWidth: Int, width: Int, height: Int,
                         region: Region, kernels: ResamplingKernels = .best,
                         row: (Int, UnsafePointer<UInt8>) throws -> Void) throws {
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
        guard kernels.isSupported else {
            throw ONNXRunError(.unsupported, "the \(kernels.rawValue) resampling kernels need a CPU this one is not")
        }
        let columns = region.x..<region.x + region.width
        let rows = region.y..<region.y + region.height
        // Pillow skips a pass whose size does not change (the identity pass would reproduce the input anyway).
        let horizontal = width != fullWidth
            ? Coefficients(inputSize: fullWidth, outputSize: width, outputs: columns) : nil
        let vertical = height != image.height
            ? Coefficients(inputSize: image.height, outputSize: height, outputs: rows) : nil
        // Only the input rows and columns the passes read; the coefficients count from the first of them.
        let inputColumns = horizontal?.inputRange ?? columns
        let inputRows = vertical?.inputRange ?? rows
        guard inputColumns.lowerBound >= firstColumn, inputColumns.upperBound <= firstColumn + image.width else {
            throw ONNXRunError(.invalidArgument, "the resize reads columns \(inputColumns) but the image holds "
                               + "\(firstColumn)..<\(firstColumn + image.width)")
        }
        horizontal?.shift(by: inputColumns.lowerBound)
        vertical?.shift(by: inputRows.lowerBound)
        // The order of the passes matters by one level in a few pixels because of the 8-bit rounding between
        // them: Pillow 13 (python-pillow/Pillow#9549) runs the vertical pass first when the height shrinks by
        // more than twice as many pixels as the width does; earlier Pillows always went horizontal first.
        let verticalFirst = width != fullWidth && height < image.height
            && image.height - height > 2 * (fullWidth - width)
        let rowLength = region.width * 3
        let inputStride = image.width * 3
        try image.pixels.withUnsafeBufferPointer { pixels in
            guard let base = pixels.baseAddress else { return }
            let originOffset = inputRows.lowerBound * inputStride + (inputColumns.lowerBound - firstColumn) * 3
            let origin = base + originOffset
            let originSize = pixels.count - originOffset
            var scratch = [UInt8](repeating: 0, count: rowLength)
            try scratch.withUnsafeMutableBufferPointer { scratch in
                guard let output = scratch.baseAddress else { return }
                switch (horizontal, vertical) {
                case (nil, nil):
                    for y in 0..<region.height { try row(y, origin + y * inputStride) }
                case (let horizontal?, nil):
                    for y in 0..<region.height {
                        kernels.horizontal(origin + y * inputStride, inputStride, originSize - y * inputStride, 1,
                                           horizontal, output, rowLength)
                        try row(y, output)
                    }
                case (nil, let vertical?):
                    for y in 0..<region.height {
                        vertical.row(y, from: origin, stride: inputStride, bytes: rowLength, into: output,
                                     kernels: kernels)
                        try row(y, output)
                    }
                case (let horizontal?, let vertical?) where verticalFirst:
                    // Per output row: the vertical pass over the input columns, then the horizontal one.
                    let wideLength = inputColumns.count * 3
                    var wide = [UInt8](repeating: 0, count: wideLength)
                    try wide.withUnsafeMutableBufferPointer { wide in
                        guard let wideRow = wide.baseAddress else { return }
                        for y in 0..<region.height {
                            vertical.row(y, from: origin, stride: inputStride, bytes: wideLength, into: wideRow,
                                         kernels: kernels)
                            kernels.horizontal(wideRow, wideLength, wideLength, 1, horizontal, output, rowLength)
                            try row(y, output)
                        }
                    }
                case (let horizontal?, let vertical?):
                    // The horizontal pass over every input row the vertical pass reads, then one row at a time.
                    let intermediateRows = inputRows.count
                    // Not zeroed first: the horizontal pass writes every byte before the vertical one reads.
                    let intermediate = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: intermediateRows * rowLength)
                    defer { intermediate.deallocate() }
                    guard let resized = intermediate.baseAddress else { return }
                    kernels.horizontal(origin, inputStride, originSize, intermediateRows, horizontal, resized,
                                       rowLength)
                    for y in 0..<region.height {
                        vertical.row(y, from: resized, stride: rowLength, bytes: rowLength, into: output,
                                     kernels: kernels)
                        try row(y, output)
                    }
                }
            }
        }
    }

    /// Per output position in a range: the first input index, the number of taps, and `weightStride` fixed-point
    /// weights (zero past the count). Mirrors Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` operation
    /// for operation (double precision, the same rounding of bounds and weights). A class so the C kernels can
    /// borrow its storage for as long as it lives.
    final class Coefficients {
        let outputs: Int
        let weightStride: Int
        private let starts: UnsafeMutableBufferPointer<Int32>
        private let counts: UnsafeMutableBufferPointer<Int32>
        private let weights: UnsafeMutableBufferPointer<Int32>

        /// Coefficients of `outputs` (a range of `0..<outputSize`) for resampling `inputSize` to `outputSize`.
        init(inputSize: Int, outputSize: Int, outputs: Range<Int>) {
            let scale = Double(inputSize) / Double(outputSize)
            let filterScale = max(scale, 1.0)
            let support = 1.0 * filterScale  // the bilinear (triangle) filter has support 1
            let kernelSize = Int(support.rounded(.up)) * 2 + 1
            // The vector kernels read weights in groups of ONNXRUN_RESAMPLE_WEIGHT_ALIGNMENT.
            let alignment = Int(ONNXRUN_RESAMPLE_WEIGHT_ALIGNMENT)
            let weightStride = (kernelSize + alignment - 1) / alignment * alignment
            let inverseFilterScale = 1.0 / filterScale
            self.outputs = outputs.count
            self.weightStride = weightStride
            starts = .allocate(capacity: outputs.count)
            counts = .allocate(capacity: outputs.count)
            weights = .allocate(capacity: outputs.count * weightStride)
            weights.initialize(repeating: 0)
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
                    weights[slot * weightStride + tap] = Int32(fixed)
                }
                starts[slot] = Int32(start)
                counts[slot] = Int32(count)
            }
        }

        deinit {
            starts.deallocate()
            counts.deallocate()
            weights.deallocate()
        }

        /// The input indices any tap reads.
        var inputRange: Range<Int> {
            var lower = Int.max, upper = 0
            for slot in 0..<outputs {
                if counts[slot] > 0 { lower = min(lower, Int(starts[slot])) }
                upper = max(upper, Int(starts[slot] + counts[slot]))
            }
            if lower == Int.max { lower = 0 }
            return lower..<max(upper, lower + 1)
        }

        /// Makes the coefficients read an input that starts at `offset`.
        func shift(by offset: Int) {
            for slot in 0..<outputs { starts[slot] -= Int32(offset) }
        }

        /// The C kernels' view; valid while `self` lives.
        var view: onnxrun_resample_coefficients {
            onnxrun_resample_coefficients(starts: starts.baseAddress, counts: counts.baseAddress,
                                          weights: weights.baseAddress, outputs: outputs,
                                          weight_stride: weightStride)
        }

        /// Output row `slot` of a vertical pass over `input` (rows `stride` bytes apart), `bytes` bytes long.
        func row(_ slot: Int, from input: UnsafePointer<UInt8>, stride: Int, bytes: Int,
                 into output: UnsafeMutablePointer<UInt8>, kernels: ResamplingKernels) {
            guard let weightBase = weights.baseAddress else { return }
            kernels.verticalRow(input + Int(starts[slot]) * stride, stride, weightBase + slot * weightStride,
                                Int(counts[slot]), bytes, output)
        }

        // MARK: Swift reference passes (the oracle of the C kernels)

        /// The horizontal pass as plain Swift loops, with the C kernels' signature.
        static func referenceHorizontal(_ input: UnsafePointer<UInt8>, _ inputStride: Int, _ rows: Int,
                                        _ coefficients: onnxrun_resample_coefficients,
                                        _ output: UnsafeMutablePointer<UInt8>, _ outputStride: Int) {
            let half = 1 << (precisionBits - 1)
            for y in 0..<rows {
                let inputRow = input + y * inputStride
                let outputRow = output + y * outputStride
                for x in 0..<coefficients.outputs {
                    let start = Int(coefficients.starts[x])
                    let kernel = coefficients.weights + x * coefficients.weight_stride
                    var red = half, green = half, blue = half
                    for tap in 0..<Int(coefficients.counts[x]) {
                        let weight = Int(kernel[tap])
                        let source = (start + tap) * 3
                        red += Int(inputRow[source]) * weight
                        green += Int(inputRow[source + 1]) * weight
                        blue += Int(inputRow[source + 2]) * weight
                    }
                    outputRow[x * 3] = clip8(red)
                    outputRow[x * 3 + 1] = clip8(green)
                    outputRow[x * 3 + 2] = clip8(blue)
                }
            }
        }

        /// One row of the vertical pass as plain Swift loops, with the C kernels' signature.
        static func referenceVerticalRow(_ input: UnsafePointer<UInt8>, _ inputStride: Int,
                                         _ weights: UnsafePointer<Int32>, _ count: Int, _ rowBytes: Int,
                                         _ output: UnsafeMutablePointer<UInt8>) {
            let half = 1 << (precisionBits - 1)
            for index in 0..<rowBytes {
                var sum = half
                for tap in 0..<count { sum += Int(input[tap * inputStride + index]) * Int(weights[tap]) }
                output[index] = clip8(sum)
            }
        }
    }

    /// Pillow's `clip8`: the rounded fixed-point sum shifted back to 8 bits, clamped to 0...255.
    @inline(__always)
    private static func clip8(_ sum: Int) -> UInt8 {
        if sum >= (1 << precisionBits) << 8 { return 255 }
        if sum <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: sum >> precisionBits)
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
