// Test helpers: the committed image fixtures (tools/make_image_fixtures.py) and comparisons.

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
