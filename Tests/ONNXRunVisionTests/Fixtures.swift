// Test helpers: the committed image fixtures (tools/make_image_fixtures.py), a tiny .npy reader, and comparisons.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import ONNXRunVision
import XCTest

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    /// The size of every image fixture (a crop of chelsea.png).
    static let width = 64
    static let height = 48

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Little-endian float32 values.
    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        }
    }

    /// An RGBImage from a raw `.rgb` reference file.
    static func reference(_ name: String, width: Int = width, height: Int = height) throws -> RGBImage {
        try RGBImage(width: width, height: height, pixels: bytes(name))
    }

    /// A temporary file holding `bytes`, removed by the caller's teardown block.
    static func temporaryFile(_ bytes: [UInt8], name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("onnxrun-vision-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// The largest per-byte difference between two images of the same size.
func maximumDifference(_ left: RGBImage, _ right: RGBImage) -> Int {
    precondition(left.width == right.width && left.height == right.height)
    return zip(left.pixels, right.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

func maximumDifference(_ left: [Float], _ right: [Float]) -> Float {
    precondition(left.count == right.count)
    return zip(left, right).map { abs($0 - $1) }.max() ?? 0
}

/// A minimal reader for little-endian float32 C-order `.npy` files (version 1 or 2), enough for reference inputs.
enum TinyNumpy {
    static func readFloat32(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        guard data.count > 10, data[0] == 0x93, Array(data[1...5]) == Array("NUMPY".utf8) else {
            throw ONNXRunError(.io, "not a .npy file", file: path)
        }
        let major = data[6]
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(data[8]) | Int(data[9]) << 8
            headerStart = 10
        } else {
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
            headerStart = 12
        }
        let header = String(decoding: data[headerStart..<headerStart + headerLength], as: UTF8.self)
        guard header.contains("'descr': '<f4'"), header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { throw ONNXRunError(.io, "unsupported .npy header \(header)", file: path) }
        let shape = header[open.upperBound..<close].split(separator: ",")
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let start = headerStart + headerLength
        guard data.count >= start + count * 4 else { throw ONNXRunError(.io, "short .npy data", file: path) }
        let values = data[start..<start + count * 4].withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        }
        return (shape, values)
    }
}
