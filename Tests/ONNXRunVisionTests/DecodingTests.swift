// Decoding tests: every JPEG/PNG variant of the fixture decodes to Pillow's convert("RGB") pixels.

import ONNXRun
import ONNXRunVision
import XCTest

final class DecodingTests: XCTestCase {
    // MARK: PNG: exact

    func testPNGVariantsMatchPillowExactly() throws {
        for name in ["rgb", "gray", "gray_alpha", "rgba", "palette", "palette_trns", "rgb_interlaced", "gray4",
                     "palette4", "bilevel"] {
            let decoded = try ImageDecoder.decode(contentsOf: Fixtures.path("\(name).png"))
            let expected = try Fixtures.reference("\(name).rgb")
            XCTAssertEqual(decoded.width, Fixtures.width, name)
            XCTAssertEqual(decoded.height, Fixtures.height, name)
            XCTAssertEqual(maximumDifference(decoded, expected), 0, "\(name).png differs from Pillow")
        }
    }

    func testPNGVariantsOfOnePictureAreIdentical() throws {
        let rgb = try ImageDecoder.decode(contentsOf: Fixtures.path("rgb.png"))
        // Alpha is dropped (not composited), interlacing and 16-bit widening change nothing.
        for name in ["rgba", "rgb_interlaced", "rgb16_widened", "rgba16"] {
            XCTAssertEqual(try ImageDecoder.decode(contentsOf: Fixtures.path("\(name).png")), rgb, name)
        }
        let gray = try ImageDecoder.decode(contentsOf: Fixtures.path("gray.png"))
        for name in ["gray_alpha", "gray16", "gray_alpha16"] {
            XCTAssertEqual(try ImageDecoder.decode(contentsOf: Fixtures.path("\(name).png")), gray, name)
        }
        XCTAssertNotEqual(gray, rgb)
    }

    func testSixteenBitPNGIsScaledWithRounding() throws {
        // Random 16-bit samples: scaling (v*255+32767)/65535 and keeping the high byte differ on many of them.
        let decoded = try ImageDecoder.decode(contentsOf: Fixtures.path("rgb16.png"))
        let expected = try Fixtures.reference("rgb16.rgb")
        XCTAssertEqual(maximumDifference(decoded, expected), 0)
    }

    // MARK: JPEG: within libjpeg-turbo version differences

    func testJPEGVariantsMatchPillow() throws {
        var report: [String] = []
        for name in ["baseline", "baseline444", "progressive", "gray", "cmyk"] {
            let decoded = try ImageDecoder.decode(contentsOf: Fixtures.path("\(name).jpg"))
            let expected = try Fixtures.reference("\(name)_jpg.rgb")
            let difference = maximumDifference(decoded, expected)
            report.append("\(name) \(difference)")
            // Pillow's wheel bundles another libjpeg-turbo release; the default islow IDCT and fancy upsampling
            // are the same algorithms, so only a rounding step may differ.
            XCTAssertLessThanOrEqual(difference, 2, "\(name).jpg differs from Pillow by \(difference)")
        }
        print("JPEG max |difference| vs Pillow: \(report.joined(separator: ", "))")
    }

    func testJPEGVariantsResembleThePNG() throws {
        let rgb = try ImageDecoder.decode(contentsOf: Fixtures.path("rgb.png"))
        for name in ["baseline", "baseline444", "progressive", "cmyk"] {
            let decoded = try ImageDecoder.decode(contentsOf: Fixtures.path("\(name).jpg"))
            let meanDifference = zip(decoded.pixels, rgb.pixels).map { abs(Double($0) - Double($1)) }
                .reduce(0, +) / Double(rgb.pixels.count)
            XCTAssertLessThan(meanDifference, 6, "\(name).jpg is not the same picture (mean |diff| \(meanDifference))")
        }
    }

    func testEXIFOrientationIsIgnoredLikeImageOpen() throws {
        // torchvision pipelines use Image.open without ImageOps.exif_transpose, so models saw unrotated pixels.
        let rotated = try ImageDecoder.decode(contentsOf: Fixtures.path("exif_rotated.jpg"))
        XCTAssertEqual(rotated.width, Fixtures.width)
        XCTAssertEqual(rotated, try ImageDecoder.decode(contentsOf: Fixtures.path("baseline.jpg")))
        XCTAssertEqual(maximumDifference(rotated, try Fixtures.reference("exif_rotated_jpg.rgb")), 0)
    }

    // MARK: Headers

    func testInfoReadsHeaders() throws {
        let progressive = try ImageDecoder.info(contentsOf: Fixtures.path("progressive.jpg"))
        XCTAssertEqual(progressive.format, .jpeg)
        XCTAssertEqual(progressive.width, 64)
        XCTAssertEqual(progressive.height, 48)
        XCTAssertTrue(progressive.isProgressive)
        XCTAssertEqual(try ImageDecoder.info(contentsOf: Fixtures.path("cmyk.jpg")).components, 4)
        XCTAssertEqual(try ImageDecoder.info(contentsOf: Fixtures.path("gray.jpg")).components, 1)
        let interlaced = try ImageDecoder.info(contentsOf: Fixtures.path("rgb16.png"))
        XCTAssertEqual(interlaced.format, .png)
        XCTAssertEqual(interlaced.bitDepth, 16)
        XCTAssertTrue(interlaced.isProgressive)
        XCTAssertEqual(try ImageDecoder.info(contentsOf: Fixtures.path("rgba.png")).components, 4)
    }

    func testFormatIsDetectedByContentNotExtension() throws {
        let bytes = try Fixtures.bytes("rgb.png")
        let path = try Fixtures.temporaryFile(bytes, name: "really-a-png.jpg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: path), try ImageDecoder.decode(contentsOf: Fixtures.path("rgb.png")))
        XCTAssertEqual(try ImageDecoder.info(bytes: bytes).format, .png)
    }

    // MARK: Reduced-scale JPEG decoding (--fast-decode) and the one-call path

    func testReducedJPEGDecodeMatchesPillowDraftMode() throws {
        let bytes = try Fixtures.bytes("baseline.jpg")  // 64x48
        // The shorter side 48 allows 1/2 for 24 (and up to 1/8 for 6), as Pillow's draft picks the scale.
        for (shorterSide, scale) in [(24, 2), (13, 2), (12, 4), (6, 8), (1, 8)] {
            let image = try ImageDecoder.decode(bytes: bytes, minimumShorterSide: shorterSide)
            let expected = try Fixtures.reference("baseline_jpg_draft\(scale).rgb", width: 64 / scale,
                                                  height: 48 / scale)
            XCTAssertEqual(image, expected, "minimum shorter side \(shorterSide): 1/\(scale) scale")
        }
        // No reduction when it would go below the minimum, and PNGs are always decoded in full.
        XCTAssertEqual(try ImageDecoder.decode(bytes: bytes, minimumShorterSide: 25),
                       try ImageDecoder.decode(bytes: bytes))
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: Fixtures.path("rgb.png"), minimumShorterSide: 6),
                       try ImageDecoder.decode(contentsOf: Fixtures.path("rgb.png")))
    }

    func testFileContentsAreReadWhole() throws {
        for name in ["baseline.jpg", "rgb16.png", "manifest.json"] {
            XCTAssertEqual(try ImageDecoder.contents(ofFile: Fixtures.path(name)), try Fixtures.bytes(name), name)
        }
        let empty = try Fixtures.temporaryFile([], name: "empty.jpg")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertEqual(try ImageDecoder.contents(ofFile: empty), [])
        XCTAssertThrowsError(try ImageDecoder.contents(ofFile: Fixtures.directory.path)) { error in
            XCTAssertEqual((error as? ONNXRunError)?.kind, .io)
        }
    }

    func testEncodedBytesToTensorEqualsDecodeThenPreprocess() throws {
        let preprocessor = try ImagePreprocessor(configuration: .init(inputHeight: 20, inputWidth: 18,
                                                                      resizeShorterSide: 22, layout: .nhwc))
        for name in ["baseline.jpg", "progressive.jpg", "palette.png", "rgb16.png"] {
            let bytes = try Fixtures.bytes(name)
            for fastDecode in [false, true] {
                // 48 / 22 = 2: the fast path decodes these JPEGs at half size.
                let image = try ImageDecoder.decode(bytes: bytes, minimumShorterSide: fastDecode ? 22 : nil)
                let expected = try preprocessor.tensor(for: image).floats
                var output = [Float](repeating: .nan, count: preprocessor.elementCount)
                try bytes.withUnsafeBytes { encoded in
                    try output.withUnsafeMutableBufferPointer {
                        _ = try preprocessor.write(encoded: encoded, source: name, into: $0, fastDecode: fastDecode)
                    }
                }
                XCTAssertEqual(output, expected, "\(name), fast decode \(fastDecode)")
            }
        }
        var output = [Float](repeating: 0, count: preprocessor.elementCount)
        XCTAssertThrowsError(try [UInt8](repeating: 7, count: 10).withUnsafeBytes { encoded in
            try output.withUnsafeMutableBufferPointer { try preprocessor.write(encoded: encoded, source: "x.jpg", into: $0) }
        }) { error in
            XCTAssertEqual((error as? ONNXRunError)?.file, "x.jpg")
        }
    }
}
