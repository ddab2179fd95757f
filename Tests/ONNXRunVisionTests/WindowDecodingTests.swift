// Decoding only the columns a resize reads: the window's pixels must equal those columns of a full decode (JPEG
// crop decoding), and bytes -> tensor must equal decode -> preprocess, on every JPEG kind.

import Foundation
import ONNXRun
@testable import ONNXRunVision
import XCTest

final class WindowDecodingTests: XCTestCase {
    private let jpegs = ["wide.jpg", "wide_progressive.jpg", "wide_gray.jpg", "baseline.jpg", "baseline444.jpg",
                         "cmyk.jpg", "progressive.jpg"]

    func testJPEGColumnWindowsEqualTheFullDecode() throws {
        var windows = 0
        for name in jpegs {
            let bytes = try Fixtures.bytes(name)
            try bytes.withUnsafeBytes { encoded in
                for reduced in [nil, 20] as [Int?] {
                    let plan = try ImageDecoder.DecodePlan(encoded, source: name, limits: .default,
                                                           minimumShorterSide: reduced)
                    let full = try plan.decode(encoded, columns: 0..<plan.width)
                    for first in stride(from: 0, to: plan.width, by: 7) {
                        for count in [1, 9, 33, plan.width] where first + count <= plan.width {
                            let window = try plan.decode(encoded, columns: first..<first + count)
                            var expected: [UInt8] = []
                            for y in 0..<full.height {
                                let start = (y * full.width + first) * 3
                                expected += full.pixels[start..<start + count * 3]
                            }
                            XCTAssertEqual(window.pixels, expected, "\(name) reduced to \(reduced ?? 0): \(first)+\(count)")
                            windows += 1
                        }
                    }
                }
                let plan = try ImageDecoder.DecodePlan(encoded, source: name, limits: .default, minimumShorterSide: nil)
                XCTAssertThrowsError(try plan.decode(encoded, columns: plan.width - 1..<plan.width + 1))
            }
        }
        print("\(windows) JPEG column windows equal the full decode")
        let png = try Fixtures.bytes("rgb.png")
        try png.withUnsafeBytes { encoded in
            let plan = try ImageDecoder.DecodePlan(encoded, source: "rgb.png", limits: .default, minimumShorterSide: nil)
            XCTAssertThrowsError(try plan.decode(encoded, columns: 1..<5), "a PNG is decoded whole")
        }
    }

    func testEncodedWideJPEGsGiveTheTensorOfTheFullDecode() throws {
        // Shorter side 40 of 96 rows: a 100x40 resize whose centre crops read about a third of the columns.
        let configurations: [PreprocessingConfiguration] = [
            .init(inputHeight: 32, inputWidth: 32, resizeShorterSide: 40),
            .init(inputHeight: 40, inputWidth: 20, resizeShorterSide: 40, channelOrder: .bgr, layout: .nhwc),
            .init(inputHeight: 48, inputWidth: 48, resizeShorterSide: 96),  // no horizontal pass
            .init(inputHeight: 30, inputWidth: 130, resizeShorterSide: 40),  // crop wider than the image
        ]
        for configuration in configurations {
            let preprocessor = try ImagePreprocessor(configuration: configuration)
            for name in jpegs {
                let bytes = try Fixtures.bytes(name)
                for fastDecode in [false, true] {
                    let image = try ImageDecoder.decode(bytes: bytes,
                                                        minimumShorterSide: fastDecode ? preprocessor.fastDecodeShorterSide : nil)
                    let expected = try preprocessor.tensor(for: image).floats
                    var output = [Float](repeating: .nan, count: preprocessor.elementCount)
                    try bytes.withUnsafeBytes { encoded in
                        try output.withUnsafeMutableBufferPointer {
                            _ = try preprocessor.write(encoded: encoded, source: name, into: $0, fastDecode: fastDecode)
                        }
                    }
                    let mismatch = output.indices.first { output[$0].bitPattern != expected[$0].bitPattern }
                    XCTAssertNil(mismatch, "\(name) fast \(fastDecode) \(configuration)")
                }
            }
        }
    }
}
