// Error tests: truncated, corrupt, empty, non-image and oversized inputs fail fast with an ONNXRunError naming
// the file and the problem.

import Foundation
import ONNXRun
import ONNXRunVision
import XCTest

final class ImageErrorTests: XCTestCase {
    // MARK: Helpers

    /// Decodes `bytes` from a temporary file named `name`; returns the error, its message and the time taken.
    private func decodeError(_ bytes: [UInt8], name: String, limits: ImageDecodingLimits = .default,
                             file: StaticString = #filePath, line: UInt = #line) throws -> ONNXRunError? {
        let path = try Fixtures.temporaryFile(bytes, name: name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let start = Date()
        do {
            let image = try ImageDecoder.decode(contentsOf: path, limits: limits)
            XCTFail("\(name) decoded to \(image.width)x\(image.height) instead of failing", file: file, line: line)
            return nil
        } catch let error as ONNXRunError {
            XCTAssertLessThan(Date().timeIntervalSince(start), 1, "\(name) took too long to fail", file: file, line: line)
            XCTAssertEqual(error.file, path, "the error names the file", file: file, line: line)
            XCTAssertTrue(error.description.contains(path), file: file, line: line)
            return error
        }
    }

    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    private func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    /// (offset, length) of the first chunk of `type` in a PNG.
    private func findChunk(_ type: String, in png: [UInt8]) -> (offset: Int, length: Int)? {
        var offset = 8
        while offset + 8 <= png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            if String(decoding: png[offset + 4..<offset + 8], as: UTF8.self) == type { return (offset, length) }
            offset += 12 + length
        }
        return nil
    }

    // MARK: JPEG

    func testTruncatedJPEGIsAnErrorNotAGreyImage() throws {
        for name in ["baseline", "progressive"] {
            let bytes = try Fixtures.bytes("\(name).jpg")
            let error = try decodeError(Array(bytes.prefix(bytes.count * 2 / 3)), name: "truncated-\(name).jpg")
            XCTAssertEqual(error?.kind, .image)
            XCTAssertTrue(error?.message.contains("premature end") == true, error?.description ?? "")
        }
    }

    func testJPEGWithoutItsEndMarkerStillDecodes() throws {
        // All pixels present, only EOI missing: Pillow decodes such files, and so do we.
        let bytes = try Fixtures.bytes("baseline.jpg")
        XCTAssertEqual(Array(bytes.suffix(2)), [0xFF, 0xD9])
        let image = try ImageDecoder.decode(bytes: Array(bytes.dropLast(2)))
        XCTAssertEqual(image, try ImageDecoder.decode(bytes: bytes))
    }

    func testJPEGHeaderOnlyIsAnError() throws {
        let bytes = try Fixtures.bytes("baseline.jpg")
        let error = try decodeError(Array(bytes.prefix(40)), name: "header-only.jpg")
        XCTAssertEqual(error?.kind, .image)
    }

    func testHugeJPEGIsRefusedBeforeDecoding() throws {
        var bytes = try Fixtures.bytes("baseline.jpg")
        guard let sof = (0..<bytes.count - 1).first(where: { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 }) else {
            return XCTFail("no SOF0 in baseline.jpg")
        }
        bytes[sof + 5] = 0xEA; bytes[sof + 6] = 0x60  // height 60000
        bytes[sof + 7] = 0xEA; bytes[sof + 8] = 0x60  // width 60000
        let error = try decodeError(bytes, name: "huge.jpg")
        XCTAssertEqual(error?.kind, .image)
        XCTAssertTrue(error?.message.contains("60000x60000") == true, error?.description ?? "")
        XCTAssertTrue(error?.message.contains("too large") == true, error?.description ?? "")
    }

    // MARK: PNG

    func testPNGWithBadIDATChecksumIsAnError() throws {
        let bytes = try Fixtures.bytes("rgb.png")
        guard let idat = findChunk("IDAT", in: bytes) else { return XCTFail("no IDAT") }
        // The checksum itself altered: the data decompresses fine, only the CRC tells.
        var badChecksum = bytes
        badChecksum[idat.offset + 8 + idat.length] ^= 0x01
        let error = try decodeError(badChecksum, name: "bad-crc.png")
        XCTAssertEqual(error?.kind, .image)
        XCTAssertTrue(error?.message.contains("CRC") == true, error?.description ?? "")
        // A data byte altered: zlib or the row filters fail before the CRC is checked; an error either way.
        var badData = bytes
        badData[idat.offset + 8 + idat.length / 2] ^= 0x55
        XCTAssertEqual(try decodeError(badData, name: "bad-data.png")?.kind, .image)
    }

    func testPNGWithCutIDATIsAnError() throws {
        let bytes = try Fixtures.bytes("rgb.png")
        guard let idat = findChunk("IDAT", in: bytes) else { return XCTFail("no IDAT") }
        // Cut inside the IDAT data: the file ends early.
        let error = try decodeError(Array(bytes.prefix(idat.offset + 8 + idat.length / 2)), name: "cut.png")
        XCTAssertEqual(error?.kind, .image)
        XCTAssertTrue(error?.message.contains("truncated") == true, error?.description ?? "")
        // An IDAT chunk that is itself well formed but holds only half the compressed stream.
        let payload = Array(bytes[idat.offset + 8..<idat.offset + 8 + idat.length / 2])
        let shortened = Array(bytes.prefix(idat.offset)) + pngChunk("IDAT", payload) + pngChunk("IEND", [])
        let second = try decodeError(shortened, name: "short-idat.png")
        XCTAssertEqual(second?.kind, .image)
    }

    func testHugePNGHeaderIsRefusedBeforeAllocation() throws {
        let header = bigEndian(100_000) + bigEndian(100_000) + [8, 2, 0, 0, 0]
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let png = signature + pngChunk("IHDR", header) + pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
            + pngChunk("IEND", [])
        let error = try decodeError(png, name: "huge.png")
        XCTAssertEqual(error?.kind, .image)
        XCTAssertTrue(error?.message.contains("100000x100000") == true, error?.description ?? "")
        // Header only, no further chunks: still "too large", not "truncated".
        let headerOnly = try decodeError(signature + pngChunk("IHDR", header), name: "huge-header-only.png")
        XCTAssertTrue(headerOnly?.message.contains("too large") == true, headerOnly?.description ?? "")
    }

    func testPixelLimitIsConfigurable() throws {
        let bytes = try Fixtures.bytes("rgb.png")
        let small = ImageDecodingLimits(maxPixelCount: 64 * 48 - 1)
        let error = try decodeError(bytes, name: "limited.png", limits: small)
        XCTAssertTrue(error?.message.contains("too large") == true, error?.description ?? "")
        XCTAssertNoThrow(try ImageDecoder.decode(bytes: bytes, limits: ImageDecodingLimits(maxPixelCount: 64 * 48)))
        let jpegError = try decodeError(try Fixtures.bytes("baseline.jpg"), name: "limited.jpg", limits: small)
        XCTAssertTrue(jpegError?.message.contains("too large") == true, jpegError?.description ?? "")
        let fileError = try decodeError(bytes, name: "big-file.png", limits: ImageDecodingLimits(maxFileBytes: 100))
        XCTAssertTrue(fileError?.message.contains("bytes") == true, fileError?.description ?? "")
    }

    // MARK: Not images

    func testEmptyFileIsAClearError() throws {
        let error = try decodeError([], name: "empty.png")
        XCTAssertEqual(error?.kind, .image)
        XCTAssertTrue(error?.message.contains("empty") == true, error?.description ?? "")
    }

    func testTextFileIsNotAnImage() throws {
        let error = try decodeError(Array("hello, this is not a picture\n".utf8), name: "notes.jpg")
        XCTAssertEqual(error?.kind, .image)
        XCTAssertTrue(error?.message.contains("not a JPEG or PNG image") == true, error?.description ?? "")
    }

    func testOtherFormatsAreNamed() throws {
        let error = try decodeError(Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 20), name: "anim.gif")
        XCTAssertTrue(error?.message.contains("GIF") == true, error?.description ?? "")
    }

    func testTinyPrefixesNeverCrash() throws {
        // Every prefix of a small PNG and JPEG either decodes or throws.
        for name in ["gray4.png", "gray.jpg"] {
            let bytes = try Fixtures.bytes(name)
            var failures = 0
            for length in stride(from: 0, to: bytes.count, by: 7) {
                do { _ = try ImageDecoder.decode(bytes: Array(bytes.prefix(length))) } catch is ONNXRunError { failures += 1 }
            }
            XCTAssertGreaterThan(failures, 0)
        }
    }

    func testMissingFileIsAnIOError() {
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: "/nonexistent/cat.png")) { error in
            XCTAssertEqual((error as? ONNXRunError)?.kind, .io)
            XCTAssertEqual((error as? ONNXRunError)?.file, "/nonexistent/cat.png")
        }
    }
}
