// The C resampling kernels (each ISA variant this CPU has, by name) against the Swift reference passes, byte for
// byte, on awkward sizes; and the fused resize-normalize path against resize-then-normalize.

import Foundation
import ONNXRun
import ONNXRunVision
import XCTest

final class ResamplingKernelTests: XCTestCase {
    /// A deterministic noisy image with runs of 0 and 255 (so rounding and the clamp to 0...255 are exercised).
    private func noiseImage(width: Int, height: Int, seed: UInt64) throws -> RGBImage {
        var state = seed
        let pixels = (0..<width * height * 3).map { index -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let value = UInt8(truncatingIfNeeded: state >> 56)
            switch index / 3 % 11 {
            case 0, 1: return 255
            case 5: return 0
            default: return value
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The variants under test; the ones this CPU lacks are reported, not run.
    private func variants() -> [ResamplingKernels] {
        let all = ResamplingKernels.allCases.filter { $0 != .reference }
        let missing = all.filter { !$0.isSupported }
        if !missing.isEmpty { print("skipping resampling kernels this CPU lacks: \(missing.map(\.rawValue))") }
        return all.filter(\.isSupported)
    }

    func testEveryVariantMatchesTheReferenceOnAwkwardSizes() throws {
        // (input size, output size): identity axes, 1-pixel dimensions, upscaling, shrinking by odd and
        // fractional factors, and shapes that make Pillow 13 run the vertical pass first.
        let cases: [((Int, Int), (Int, Int))] = [
            ((1, 1), (1, 1)), ((1, 1), (5, 3)), ((7, 1), (3, 1)), ((1, 9), (1, 2)), ((13, 11), (13, 4)),
            ((13, 11), (5, 11)), ((13, 11), (29, 23)), ((64, 48), (21, 16)), ((64, 48), (9, 7)), ((97, 61), (19, 13)),
            ((97, 61), (14, 9)), ((97, 61), (101, 3)), ((300, 200), (43, 29)), ((300, 200), (257, 171)),
            ((40, 300), (37, 31)), ((40, 300), (17, 5)), ((451, 300), (385, 256)), ((301, 227), (1, 1)),
            ((5, 400), (5, 7)), ((640, 480), (341, 256)),
        ]
        let variants = variants()
        var compared = 0
        for (index, ((inputWidth, inputHeight), (width, height))) in cases.enumerated() {
            let image = try noiseImage(width: inputWidth, height: inputHeight, seed: UInt64(index + 1))
            let expected = try ImageResampler.resizeBilinear(image, width: width, height: height, kernels: .reference)
            let regions = [ImageResampler.Region(x: 0, y: 0, width: width, height: height),
                           ImageResampler.Region(x: width / 3, y: height / 4, width: max(width / 2, 1),
                                                 height: max(height / 2, 1)),
                           ImageResampler.Region(x: width - 1, y: height - 1, width: 1, height: 1)]
            for kernels in variants {
                let full = try ImageResampler.resizeBilinear(image, width: width, height: height, kernels: kernels)
                XCTAssertEqual(full.pixels, expected.pixels,
                               "\(kernels): \(inputWidth)x\(inputHeight) -> \(width)x\(height)")
                for region in regions.dropFirst() {
                    let part = try ImageResampler.resizeBilinear(image, width: width, height: height, region: region,
                                                                 kernels: kernels)
                    let reference = try ImageResampler.resizeBilinear(image, width: width, height: height,
                                                                      region: region, kernels: .reference)
                    XCTAssertEqual(part.pixels, reference.pixels,
                                   "\(kernels): \(inputWidth)x\(inputHeight) -> \(width)x\(height) \(region)")
                }
                compared += 1
            }
        }
        print("resampling variants \(variants.map(\.rawValue)) equal the Swift reference on \(compared) resizes")
    }

    func testVariantsMatchPillowFixtures() throws {
        let image = try ImageDecoder.decode(contentsOf: Fixtures.path("rgb.png"))
        for kernels in variants() {
            for (width, height) in [(32, 24), (7, 5), (100, 75), (27, 70), (50, 6)] {
                let resized = try ImageResampler.resizeBilinear(image, width: width, height: height, kernels: kernels)
                let expected = try Fixtures.reference("resize_\(width)x\(height).rgb", width: width, height: height)
                XCTAssertEqual(resized.pixels, expected.pixels, "\(kernels) \(width)x\(height) vs Pillow")
            }
        }
    }

    func testFusedNormalizationEqualsResizeThenNormalize() throws {
        let image = try noiseImage(width: 83, height: 57, seed: 7)
        let configurations: [PreprocessingConfiguration] = [
            .init(inputHeight: 24, inputWidth: 20, resizeShorterSide: 28),
            .init(inputHeight: 24, inputWidth: 20, resizeShorterSide: 28, normalization: .inception,
                  channelOrder: .bgr, layout: .nhwc),
            .init(inputHeight: 30, inputWidth: 36, resizeShorterSide: 20, longerSideRounding: .down,
                  normalization: .meanStandardDeviation(mean: [0.5], standardDeviation: [0.25]), layout: .nhwc),
            .init(inputHeight: 57, inputWidth: 83, resizeShorterSide: 57, channelOrder: .bgr),
        ]
        for configuration in configurations {
            let preprocessor = try ImagePreprocessor(configuration: configuration)
            let expected = try preprocessor.tensor(forCropped: preprocessor.resizedAndCropped(image, kernels: .reference))
            for kernels in variants() {
                var output = [Float](repeating: .nan, count: preprocessor.elementCount)
                try output.withUnsafeMutableBufferPointer { try preprocessor.write(image, into: $0, kernels: kernels) }
                let expectedValues = expected.floats
                let mismatch = output.indices.first { output[$0].bitPattern != expectedValues[$0].bitPattern }
                XCTAssertNil(mismatch, "\(kernels) \(configuration): first different value at \(mismatch ?? -1) "
                             + "of \(output.count)")
            }
        }
        let preprocessor = try ImagePreprocessor(configuration: .init())
        var tooSmall = [Float](repeating: 0, count: 10)
        XCTAssertThrowsError(try tooSmall.withUnsafeMutableBufferPointer { try preprocessor.write(image, into: $0) })
    }
}
