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
    /// Decodes the image file at `path`.
    public static func decode(contentsOf path: String, limits: ImageDecodingLimits = .default) throws -> RGBImage {
        let data = try readFile(path, limits: limits)
        return try data.withUnsafeBytes { try decode($0, source: path, limits: limits) }
    }

    /// Decodes an image held in memory; `source` names it in errors.
    public static func decode(bytes: [UInt8], source: String = "<memory>",
                              limits: ImageDecodingLimits = .default) throws -> RGBImage {
        try bytes.withUnsafeBytes { try decode($0, source: source, limits: limits) }
    }

    /// Reads only the header of the image file at `path`.
    public static func info(contentsOf path: String, limits: ImageDecodingLimits = .default) throws -> ImageInfo {
        let data = try readFile(path, limits: limits)
        return try data.withUnsafeBytes { try info($0, source: path, limits: limits) }
    }

    /// Reads only the header of an image held in memory.
    public static func info(bytes: [UInt8], source: String = "<memory>",
                            limits: ImageDecodingLimits = .default) throws -> ImageInfo {
        try bytes.withUnsafeBytes { try info($0, source: source, limits: limits) }
    }

    // MARK: Implementation

    private static let messageCapacity = 512

    private static func readFile(_ path: String, limits: ImageDecodingLimits) throws -> Data {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw ONNXRunError(.io, "cannot read the image: \(error.localizedDescription)", file: path)
        }
        if let type = attributes[.type] as? FileAttributeType, type == .typeDirectory {
            throw ONNXRunError(.io, "is a directory, not an image file", file: path)
        }
        if let size = (attributes[.size] as? NSNumber)?.intValue, size > limits.maxFileBytes {
            throw ONNXRunError(.image, "the file has \(size) bytes, more than the limit of \(limits.maxFileBytes)",
                               file: path)
        }
        // Look at the signature first, so a large file that is not an image is refused without reading it all.
        if let handle = FileHandle(forReadingAtPath: path) {
            let head = (try? handle.read(upToCount: 16)) ?? Data()
            try? handle.close()
            try head.withUnsafeBytes { _ = try detectFormat($0, source: path) }
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ONNXRunError(.io, "cannot read the image file", file: path)
        }
        return data
    }

    private static func detectFormat(_ bytes: UnsafeRawBufferPointer, source: String) throws -> ImageFormat {
        if bytes.isEmpty { throw ONNXRunError(.image, "the file is empty", file: source) }
        if let format = ImageFormat.detect(bytes) { return format }
        if let other = ImageFormat.describeUnsupported(bytes) {
            throw ONNXRunError(.image, "\(other); only JPEG and PNG are supported", file: source)
        }
        let head = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw ONNXRunError(.image, "not a JPEG or PNG image (starts with \(head))", file: source)
    }

    private static func info(_ bytes: UnsafeRawBufferPointer, source: String,
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

    private static func decode(_ bytes: UnsafeRawBufferPointer, source: String,
                               limits: ImageDecodingLimits) throws -> RGBImage {
        // The header is parsed twice (here and by the decoder): cheap, and it lets Swift own the pixel buffer.
        let header = try info(bytes, source: source, limits: limits)
        let format = header.format
        let byteCount = header.width * header.height * 3
        var message = [CChar](repeating: 0, count: messageCapacity)
        let base = bytes.bindMemory(to: UInt8.self).baseAddress
        let maxPixels = UInt64(max(limits.maxPixelCount, 0))
        var status: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initializedCount in
            status = message.withUnsafeMutableBufferPointer { text in
                switch format {
                case .jpeg:
                    onnxrun_jpeg_decode_rgb(base, bytes.count, maxPixels, buffer.baseAddress, byteCount,
                                            text.baseAddress, text.count)
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
        try check(status, message: message, format: format, source: source)
        return RGBImage(checkedWidth: header.width, height: header.height, pixels: pixels)
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
