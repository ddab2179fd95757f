// Decodes JPEG and PNG files into RGBImage through the CImageCodecs shims, with size limits checked on the header.

import CImageCodecs
import Foundation
import ONNXRun

// MARK: - Limits

/// Bounds checked before anything large is allocated.
public struct ImageDecodingLimits: Sendable, Equatable {
    /// Largest `width * height` accepted, read from the header before decoding (default 100 megapixels).
    public var maxPixelCount: Int
    /// Largest file read (default 1 GiB).
    public var maxFileBytes: Int

    public init(maxPixelCount: Int = 100_000_000, maxFileBytes: Int = 1 << 30) {
        self.maxPixelCount = maxPixelCount
        self.maxFileBytes = maxFileBytes
    }

    public static let `default` = ImageDecodingLimits()
}

// MARK: - Formats

/// The formats onnxrun decodes, recognised by their first bytes (never by the file name).
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg = "JPEG"
    case png = "PNG"

    /// The format whose signature starts `bytes`, or nil.
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= 8, pngSignature.indices.allSatisfy({ bytes[$0] == pngSignature[$0] }) { return .png }
        return nil
    }

    /// Names formats we recognise but do not decode, for a helpful error.
    static func describeUnsupported(_ bytes: UnsafeRawBufferPointer) -> String? {
        func starts(with prefix: String, at offset: Int = 0) -> Bool {
            let prefixBytes = Array(prefix.utf8)
            guard bytes.count >= offset + prefixBytes.count else { return false }
            return prefixBytes.indices.allSatisfy { bytes[offset + $0] == prefixBytes[$0] }
        }
        if starts(with: "GIF8") { return "a GIF image" }
        if starts(with: "BM") { return "a BMP image" }
        if starts(with: "RIFF"), starts(with: "WEBP", at: 8) { return "a WebP image" }
        if starts(with: "II*\u{0}") || starts(with: "MM\u{0}*") { return "a TIFF image" }
        if starts(with: "ftyp", at: 4) { return "an ISO media file (HEIC/AVIF/MP4)" }
        return nil
    }
}

/// What a header declares, without decoding the pixels.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// Components stored in the file (1 gray, 2 gray+alpha, 3 colour, 4 RGBA or CMYK).
    public var components: Int
    /// Bits per component in the file.
    public var bitDepth: Int
    /// Progressive JPEG or interlaced PNG.
    public var isProgressive: Bool
}

// MARK: - Decoder

/// Decodes JPEG (baseline, progressive; gray, YCbCr/RGB, CMYK/YCCK) and PNG (every colour type and bit depth,
/// interlaced or not) into 8-bit RGB, the way Pillow's `Image.open(path).convert("RGB")` does, since that is what
/// torchvision training pipelines feed their models:
///
/// - Gray is replicated to three channels; a PNG palette is looked up.
/// - Alpha (an alpha channel or a tRNS chunk) is dropped, not composited, as `convert("RGB")` drops it.
/// - CMYK/YCCK JPEGs are converted with Pillow's formula, reading the channels as Adobe-inverted as Pillow does.
/// - 16-bit PNG samples are scaled with rounding, `(v * 255 + 32767) / 65535` (libpng's `png_set_scale_16`).
///   Here Pillow differs: it keeps the high byte for RGB and clips 16-bit gray to 255, which is a defect we do not
///   copy; for samples of the form `v * 257` (8-bit data widened) both agree.
/// - EXIF orientation is ignored: `Image.open` ignores it unless `ImageOps.exif_transpose` is called, so models
///   were trained on unrotated pixels. ICC profiles and PNG gamma are ignored too (Pillow ignores them).
///
/// Errors are `ONNXRunError(.image, ...)` (or `.io` when the file cannot be read) naming the file and the problem;
/// truncated data is an error, never a partly grey image.
public enum ImageDecoder {
    /// Decodes the image file at `path`. With `minimumShorterSide`, a JPEG whose shorter side is at least twice
    /// that is decoded at 1/2, 1/4 or 1/8 scale (libjpeg-turbo's DCT scaling, the largest reduction that keeps
    /// the shorter side >= `minimumShorterSide`, as Pillow's `Image.draft` picks it): about 1.6x faster on 2 MP
    /// photos (entropy decoding, which scaling cannot skip, is then most of the cost), but not the same pixels as
    /// a full decode. PNG is always decoded in full.
    public static func decode(contentsOf path: String, limits: ImageDecodingLimits = .default,
                              minimumShorterSide: Int? = nil) throws -> RGBImage {
        let data = try contents(ofFile: path, limits: limits)
        return try data.withUnsafeBytes {
            try decode($0, source: path, limits: limits, minimumShorterSide: minimumShorterSide)
        }
    }

    /// Decodes an image held in memory; `source` names it in errors. `minimumShorterSide` as in
    /// `decode(contentsOf:limits:minimumShorterSide:)`.
    public static func decode(bytes: [UInt8], source: String = "<memory>", limits: ImageDecodingLimits = .default,
                              minimumShorterSide: Int? = nil) throws -> RGBImage {
        try bytes.withUnsafeBytes {
            try decode($0, source: source, limits: limits, minimumShorterSide: minimumShorterSide)
        }
    }

    /// Decodes encoded bytes (JPEG or PNG) without copying them; `source` names the image in errors.
    public static func decode(_ bytes: UnsafeRawBufferPointer, source: String, limits: ImageDecodingLimits = .default,
                              minimumShorterSide: Int? = nil) throws -> RGBImage {
        // The header is parsed twice (here and by the decoder): cheap, and it lets Swift own the pixel buffer.
        let plan = try DecodePlan(bytes, source: source, limits: limits, minimumShorterSide: minimumShorterSide)
        return try plan.decode(bytes, columns: 0..<plan.width)
    }

    /// What a decode will produce: the format, the decoded size (after any JPEG reduction) and the reduction.
    struct DecodePlan {
        let format: ImageFormat
        let width: Int
        let height: Int
        let denominator: Int
        let source: String
        let limits: ImageDecodingLimits

        init(_ bytes: UnsafeRawBufferPointer, source: String, limits: ImageDecodingLimits,
             minimumShorterSide: Int?) throws {
            let header = try ImageDecoder.info(bytes, source: source, limits: limits)
            format = header.format
            denominator = format == .jpeg
                ? ImageDecoder.scaleDenominator(width: header.width, height: header.height, minimumShorterSide: minimumShorterSide)
                : 1
            width = (header.width + denominator - 1) / denominator
            height = (header.height + denominator - 1) / denominator
            self.source = source
            self.limits = limits
        }

        /// The image's columns `columns` (all rows), the same pixels as those columns of a full decode. A JPEG
        /// skips the inverse DCT, upsampling and colour conversion of the other columns; a PNG needs all of them.
        func decode(_ bytes: UnsafeRawBufferPointer, columns: Range<Int>) throws -> RGBImage {
            guard columns.lowerBound >= 0, columns.upperBound <= width, !columns.isEmpty,
                  format == .jpeg || columns.count == width
            else {
                throw ONNXRunError(.invalidArgument, "columns \(columns) cannot be decoded from a \(width)-pixel-wide \(format.rawValue)",
                                   file: source)
            }
            let byteCount = columns.count * height * 3
            var message = [CChar](repeating: 0, count: ImageDecoder.messageCapacity)
            let base = bytes.bindMemory(to: UInt8.self).baseAddress
            let maxPixels = UInt64(max(limits.maxPixelCount, 0))
            var status: Int32 = 0
            let pixels = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initializedCount in
                status = message.withUnsafeMutableBufferPointer { text in
                    switch format {
                    case .jpeg:
                        onnxrun_jpeg_decode_rgb(base, bytes.count, maxPixels, Int32(denominator),
                                                UInt32(columns.lowerBound), UInt32(columns.count), buffer.baseAddress,
                                                byteCount, text.baseAddress, text.count)
                    case .png:
                        onnxrun_png_decode_rgb(base, bytes.count, maxPixels, buffer.baseAddress, byteCount,
                                               text.baseAddress, text.count)
                    }
                }
                if status == ONNXRUN_IMAGE_OK.rawValue {
                    initializedCount = byteCount
                } else {
                    // Partly written bytes are discarded; UInt8 needs no deinitialisation.
                    initializedCount = 0
                }
            }
            try ImageDecoder.check(status, message: message, format: format, source: source)
            return RGBImage(checkedWidth: columns.count, height: height, pixels: pixels)
        }
    }

    /// The JPEG DCT scaling denominator (1, 2, 4 or 8) for `minimumShorterSide`: the largest that keeps the
    /// shorter side at least that long (Pillow's `draft`: `min(width // side, height // side)` rounded down to a
    /// power of two).
    static func scaleDenominator(width: Int, height: Int, minimumShorterSide: Int?) -> Int {
        guard let minimumShorterSide, minimumShorterSide > 0 else { return 1 }
        let scale = min(width, height) / minimumShorterSide
        return [8, 4, 2].first { scale >= $0 } ?? 1
    }

    /// The bytes of the file at `path`, read with one `read` call into a buffer of the file's size (after
    /// `fstat`), so a folder of photos costs one open, stat and read each. Refuses files over the limit and
    /// directories; a small file that is not an image fails later, in `decode`, naming its first bytes.
    public static func contents(ofFile path: String, limits: ImageDecodingLimits = .default) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ONNXRunError(.io, "cannot read the image: \(String(cString: strerror(errno)))", file: path)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ONNXRunError(.io, "cannot read the image: \(String(cString: strerror(errno)))", file: path)
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw ONNXRunError(.io, "is a directory, not an image file", file: path)
        }
        let size = Int(status.st_size)
        if size > limits.maxFileBytes {
            throw ONNXRunError(.image, "the file has \(size) bytes, more than the limit of \(limits.maxFileBytes)",
                               file: path)
        }
        if size > 1 << 20 {
            // Look at the signature first, so a large file that is not an image is refused without reading it all.
            var head = [UInt8](repeating: 0, count: 16)
            let count = head.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
            try head.prefix(max(count, 0)).withUnsafeBytes { _ = try detectFormat($0, source: path) }
        }
        // One byte more than the size, so a file that grew since fstat is noticed (and read on) rather than cut.
        var bytes = [UInt8](repeating: 0, count: size + 1)
        var filled = 0
        while true {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress.map { $0 + filled }, buffer.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw ONNXRunError(.io, "cannot read the image: \(String(cString: strerror(errno)))", file: path)
            }
            if count == 0 { break }
            filled += count
            if filled == bytes.count {
                guard bytes.count <= limits.maxFileBytes else {
                    throw ONNXRunError(.image, "the file has more than the limit of \(limits.maxFileBytes) bytes",
                                       file: path)
                }
                bytes += [UInt8](repeating: 0, count: max(bytes.count, 4096))
            }
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// Reads only the header of the image file at `path`.
    public static func info(contentsOf path: String, limits: ImageDecodingLimits = .default) throws -> ImageInfo {
        let data = try contents(ofFile: path, limits: limits)
        return try data.withUnsafeBytes { try info($0, source: path, limits: limits) }
    }

    /// Reads only the header of an image held in memory.
    public static func info(bytes: [UInt8], source: String = "<memory>",
                            limits: ImageDecodingLimits = .default) throws -> ImageInfo {
        try bytes.withUnsafeBytes { try info($0, source: source, limits: limits) }
    }

    // MARK: Implementation

    private static let messageCapacity = 512

    private static func detectFormat(_ bytes: UnsafeRawBufferPointer, source: String) throws -> ImageFormat {
        if bytes.isEmpty { throw ONNXRunError(.image, "the file is empty", file: source) }
        if let format = ImageFormat.detect(bytes) { return format }
        if let other = ImageFormat.describeUnsupported(bytes) {
            throw ONNXRunError(.image, "\(other); only JPEG and PNG are supported", file: source)
        }
        let head = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw ONNXRunError(.image, "not a JPEG or PNG image (starts with \(head))", file: source)
    }

    static func info(_ bytes: UnsafeRawBufferPointer, source: String,
                             limits: ImageDecodingLimits) throws -> ImageInfo {
        let format = try detectFormat(bytes, source: source)
        var header = onnxrun_image_info()
        var message = [CChar](repeating: 0, count: messageCapacity)
        let base = bytes.bindMemory(to: UInt8.self).baseAddress
        let maxPixels = UInt64(max(limits.maxPixelCount, 0))
        let status = message.withUnsafeMutableBufferPointer { text in
            switch format {
            case .jpeg: onnxrun_jpeg_read_info(base, bytes.count, maxPixels, &header, text.baseAddress, text.count)
            case .png: onnxrun_png_read_info(base, bytes.count, maxPixels, &header, text.baseAddress, text.count)
            }
        }
        try check(status, message: message, format: format, source: source)
        return ImageInfo(format: format, width: Int(header.width), height: Int(header.height),
                         components: Int(header.components), bitDepth: Int(header.bit_depth),
                         isProgressive: header.progressive != 0)
    }

    private static func check(_ status: Int32, message: [CChar], format: ImageFormat, source: String) throws {
        guard status != ONNXRUN_IMAGE_OK.rawValue else { return }
        let text = String(decoding: message.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let reason = text.isEmpty ? "unknown decoder failure (status \(status))" : text
        if status == ONNXRUN_IMAGE_TOO_LARGE.rawValue {
            throw ONNXRunError(.image, "image too large: \(reason)", file: source)
        }
        throw ONNXRunError(.image, "invalid or truncated \(format.rawValue) data: \(reason)", file: source)
    }
}
