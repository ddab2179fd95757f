// Preprocessing tests: Pillow-exact bilinear resize, torchvision pipelines, layouts, metadata, and the shared
// EfficientNet-Lite0 reference input.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import ONNXRunVision
import XCTest

final class PreprocessingTests: XCTestCase {
    private func fixtureImage() throws -> RGBImage { try ImageDecoder.decode(contentsOf: Fixtures.path("rgb.png")) }

    // MARK: Resize

    func testBilinearResizeMatchesPillowExactly() throws {
        let image = try fixtureImage()
        var report: [String] = []
        for (width, height) in [(32, 24), (20, 15), (45, 31), (7, 5), (100, 75), (64, 100), (27, 70), (64, 20),
                                (60, 10), (80, 20), (50, 6)] {
            let resized = try ImageResampler.resizeBilinear(image, width: width, height: height)
            let expected = try Fixtures.reference("resize_\(width)x\(height).rgb", width: width, height: height)
            let difference = maximumDifference(resized, expected)
            report.append("\(width)x\(height): \(difference)")
            XCTAssertEqual(difference, 0, "resize to \(width)x\(height) differs from Pillow by \(difference)")
        }
        print("resize max |difference| vs Pillow: \(report.joined(separator: ", "))")
    }

    func testRegionResizeEqualsResizeThenCrop() throws {
        let image = try fixtureImage()
        for (width, height) in [(32, 24), (100, 75), (60, 10), (27, 70), (64, 30), (90, 48)] {
            let full = try ImageResampler.resizeBilinear(image, width: width, height: height)
            for region in [ImageResampler.Region(x: 0, y: 0, width: width, height: height),
                           ImageResampler.Region(x: width / 3, y: height / 4, width: width / 2, height: height / 2),
                           ImageResampler.Region(x: width - 1, y: height - 1, width: 1, height: 1),
                           ImageResampler.Region(x: 1, y: 0, width: width - 2, height: 1)] {
                let part = try ImageResampler.resizeBilinear(image, width: width, height: height, region: region)
                var expected: [UInt8] = []
                for y in region.y..<region.y + region.height {
                    let start = (y * width + region.x) * 3
                    expected += full.pixels[start..<start + region.width * 3]
                }
                XCTAssertEqual(part.pixels, expected, "\(width)x\(height) region \(region)")
            }
        }
        XCTAssertThrowsError(try ImageResampler.resizeBilinear(image, width: 10, height: 10,
                                                               region: .init(x: 5, y: 5, width: 6, height: 1)))
    }

    func testElongatedImagesCostOnlyTheirCrop() throws {
        // 300x2 resized to shorter side 64 is 9600x64; the crop path must match the full resize then crop.
        var pixels: [UInt8] = []
        for index in 0..<600 {
            pixels += [UInt8(index % 251), UInt8(index % 13 * 19), UInt8(index % 7 * 36)]
        }
        let image = try RGBImage(width: 300, height: 2, pixels: pixels)
        let preprocessor = try ImagePreprocessor(configuration: .init(inputHeight: 32, inputWidth: 40, resizeShorterSide: 64))
        let full = try ImageResampler.centerCrop(ImageResampler.resizeBilinear(image, width: 9600, height: 64),
                                                 width: 40, height: 32)
        XCTAssertEqual(try preprocessor.resizedAndCropped(image), full)
        // A 1x100000 strip at the default 224 recipe: 256x25600000 if resized in full; only 224x224 is computed.
        let strip = try RGBImage(width: 1, height: 100_000, pixels: [UInt8](repeating: 90, count: 300_000))
        let start = Date()
        let cropped = try ImagePreprocessor(configuration: .init()).resizedAndCropped(strip)
        XCTAssertEqual(cropped.pixels, [UInt8](repeating: 90, count: 224 * 224 * 3))
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testResizeToSameSizeIsIdentity() throws {
        let image = try fixtureImage()
        XCTAssertEqual(try ImageResampler.resizeBilinear(image, width: 64, height: 48), image)
        XCTAssertThrowsError(try ImageResampler.resizeBilinear(image, width: 0, height: 10))
    }

    func testShorterSideSizes() {
        // chelsea.png is 451x300: 256 * 451 / 300 = 384.85.
        XCTAssertTrue(ImageResampler.sizeWithShorterSide(256, width: 451, height: 300, rounding: .nearest) == (385, 256))
        XCTAssertTrue(ImageResampler.sizeWithShorterSide(256, width: 451, height: 300, rounding: .down) == (384, 256))
        XCTAssertTrue(ImageResampler.sizeWithShorterSide(256, width: 300, height: 451, rounding: .down) == (256, 384))
        XCTAssertTrue(ImageResampler.sizeWithShorterSide(10, width: 7, height: 7, rounding: .nearest) == (10, 10))
    }

    func testCenterCropRoundsHalfToEven() throws {
        // A 7x1 image cropped to 4: (7 - 4) / 2 = 1.5 rounds to 2 (Python's round), columns 2...5.
        let pixels: [UInt8] = (0..<7).flatMap { [UInt8($0), 0, 0] as [UInt8] }
        let image = try RGBImage(width: 7, height: 1, pixels: pixels)
        let cropped = try ImageResampler.centerCrop(image, width: 4, height: 1)
        XCTAssertEqual(stride(from: 0, to: 12, by: 3).map { cropped.pixels[$0] }, [2, 3, 4, 5])
        // 5 -> 4: 0.5 rounds to 0.
        let five = try RGBImage(width: 5, height: 1, pixels: Array(pixels.prefix(15)))
        let croppedFive = try ImageResampler.centerCrop(five, width: 4, height: 1)
        XCTAssertEqual(stride(from: 0, to: 12, by: 3).map { croppedFive.pixels[$0] }, [0, 1, 2, 3])
    }

    // MARK: torchvision pipelines

    private func compare(pipeline name: String, configuration: PreprocessingConfiguration) throws -> Float {
        let preprocessor = try ImagePreprocessor(configuration: configuration)
        let tensor = try preprocessor.tensor(for: fixtureImage())
        XCTAssertEqual(tensor.shape, configuration.shape())
        let expected = try Fixtures.floats(name)
        XCTAssertEqual(tensor.elementCount, expected.count)
        return maximumDifference(tensor.floats, expected)
    }

    func testPipelinesMatchTorchvision() throws {
        // torchvision's Resize(int) truncates the longer side: rounding .down.
        let imagenet = PreprocessingConfiguration(inputHeight: 24, inputWidth: 24, resizeShorterSide: 28,
                                                  longerSideRounding: .down)
        let first = try compare(pipeline: "pipeline_imagenet_r28_c24.f32", configuration: imagenet)
        let half = PreprocessingConfiguration(
            inputHeight: 30, inputWidth: 36, resizeShorterSide: 40, longerSideRounding: .down,
            normalization: .meanStandardDeviation(mean: [0.5], standardDeviation: [0.5]))
        let second = try compare(pipeline: "pipeline_half_r40_c30x36.f32", configuration: half)
        // Resize to 20 then crop 24: torchvision pads the short side with black before cropping.
        var padded = imagenet
        padded.resizeShorterSide = 20
        let third = try compare(pipeline: "pipeline_imagenet_r20_c24.f32", configuration: padded)
        print("pipelines max |difference| vs torchvision: \(first), \(second), \(third)")
        XCTAssertLessThanOrEqual(max(first, second, third), 1e-6)
    }

    func testLayoutsAndChannelOrder() throws {
        let image = try fixtureImage()
        var configuration = PreprocessingConfiguration(inputHeight: 24, inputWidth: 20, resizeShorterSide: 28)
        let nchw = try ImagePreprocessor(configuration: configuration).tensor(for: image).floats
        configuration.layout = .nhwc
        configuration.channelOrder = .bgr
        let nhwcTensor = try ImagePreprocessor(configuration: configuration).tensor(for: image)
        XCTAssertEqual(nhwcTensor.shape, [1, 24, 20, 3])
        let nhwc = nhwcTensor.floats
        for y in [0, 11, 23] {
            for x in [0, 7, 19] {
                for channel in 0..<3 {
                    XCTAssertEqual(nhwc[(y * 20 + x) * 3 + (2 - channel)], nchw[channel * 480 + y * 20 + x])
                }
            }
        }
    }

    func testNormalizationPresets() throws {
        let white = try RGBImage(width: 1, height: 1, pixels: [255, 0, 128])
        func values(_ normalization: PreprocessingConfiguration.Normalization) throws -> [Float] {
            let configuration = PreprocessingConfiguration(inputHeight: 1, inputWidth: 1, resizeShorterSide: 1,
                                                           normalization: normalization)
            return try ImagePreprocessor(configuration: configuration).tensor(for: white).floats
        }
        XCTAssertEqual(try values(.raw), [255, 0, 128])
        XCTAssertEqual(try values(.inception), [1, -1, 128 / 127.5 - 1])
        let imagenet = try values(.imagenet)
        XCTAssertEqual(imagenet[0], (1 - 0.485) / 0.229, accuracy: 1e-6)
        XCTAssertEqual(imagenet[1], (0 - 0.456) / 0.224, accuracy: 1e-6)
        XCTAssertEqual(imagenet[2], (128 / 255 - 0.406) / 0.225, accuracy: 1e-6)
        XCTAssertThrowsError(try values(.meanStandardDeviation(mean: [0.5], standardDeviation: [0])))
        XCTAssertThrowsError(try values(.meanStandardDeviation(mean: [0.5, 0.5], standardDeviation: [1])))
    }

    func testBatchStacksImages() throws {
        let image = try fixtureImage()
        let preprocessor = try ImagePreprocessor(configuration: .init(inputHeight: 16, inputWidth: 16))
        let first = try preprocessor.tensor(for: image)
        let second = try preprocessor.tensor(for: ImageResampler.resizeBilinear(image, width: 30, height: 40))
        let batch = try ImagePreprocessor.batch([first, second])
        XCTAssertEqual(batch.shape, [2, 3, 16, 16])
        XCTAssertEqual(Array(batch.floats.prefix(768)), first.floats)
        XCTAssertEqual(Array(batch.floats.suffix(768)), second.floats)
        let other = try ImagePreprocessor(configuration: .init(inputHeight: 8, inputWidth: 8)).tensor(for: image)
        XCTAssertThrowsError(try ImagePreprocessor.batch([first, other]))
        XCTAssertThrowsError(try ImagePreprocessor.batch([]))
    }

    func testDefaultResizeIsCropOverPointEightSevenFive() {
        XCTAssertEqual(PreprocessingConfiguration().effectiveResizeShorterSide, 256)
        XCTAssertEqual(PreprocessingConfiguration(inputHeight: 96, inputWidth: 96).effectiveResizeShorterSide, 109)
    }

    // MARK: Model shape and metadata

    func testAdaptingToModelInputShapes() throws {
        let base = PreprocessingConfiguration()
        let nchw = try base.adapted(toInputShape: [.symbolic("batch"), .fixed(3), .fixed(96), .fixed(128)])
        XCTAssertEqual(nchw.layout, .nchw)
        XCTAssertEqual(nchw.inputHeight, 96)
        XCTAssertEqual(nchw.inputWidth, 128)
        let nhwc = try base.adapted(toInputShape: [.fixed(1), .fixed(160), .fixed(160), .fixed(3)])
        XCTAssertEqual(nhwc.layout, .nhwc)
        XCTAssertEqual(nhwc.inputHeight, 160)
        XCTAssertThrowsError(try base.adapted(toInputShape: [.fixed(1), .fixed(1000)]))
        XCTAssertThrowsError(try base.adapted(toInputShape: [.fixed(1), .fixed(4), .fixed(8), .fixed(8)]))
    }

    func testMetadataOverridesDefaults() throws {
        typealias Key = PreprocessingConfiguration.MetadataKey
        let metadata = [
            Key.resize: "160", Key.resizeRounding: "down", Key.crop: "128,144", Key.mean: "0.5, 0.4, 0.3",
            Key.standardDeviation: "0.25", Key.layout: "nhwc", Key.channelOrder: "BGR", Key.output: "probabilities",
        ]
        let configuration = try PreprocessingConfiguration().applying(metadata: metadata)
        XCTAssertEqual(configuration.resizeShorterSide, 160)
        XCTAssertEqual(configuration.longerSideRounding, .down)
        XCTAssertEqual(configuration.inputHeight, 128)
        XCTAssertEqual(configuration.inputWidth, 144)
        XCTAssertEqual(configuration.normalization, .meanStandardDeviation(mean: [0.5, 0.4, 0.3], standardDeviation: [0.25]))
        XCTAssertEqual(configuration.layout, .nhwc)
        XCTAssertEqual(configuration.channelOrder, .bgr)
        XCTAssertEqual(try PreprocessingConfiguration.outputsAreProbabilities(metadata: metadata), true)
        XCTAssertNil(try PreprocessingConfiguration.outputsAreProbabilities(metadata: [:]))
        XCTAssertEqual(try PreprocessingConfiguration().applying(metadata: [Key.normalization: "inception"]).normalization, .inception)
        XCTAssertEqual(try PreprocessingConfiguration().applying(metadata: ["unrelated": "x"]), PreprocessingConfiguration())

        for bad in [[Key.resize: "-3"], [Key.crop: "1,2,3"], [Key.mean: "0.5"], [Key.layout: "CHW"],
                    [Key.mean: "a,b,c", Key.standardDeviation: "1"], [Key.normalization: "caffe"],
                    [Key.standardDeviation: "0", Key.mean: "0"], [Key.output: "maybe"]] {
            XCTAssertThrowsError(try {
                _ = try PreprocessingConfiguration().applying(metadata: bad)
                _ = try PreprocessingConfiguration.outputsAreProbabilities(metadata: bad)
            }(), "\(bad)") { error in
                XCTAssertEqual((error as? ONNXRunError)?.kind, .invalidModel)
                XCTAssertTrue("\(error)".contains("onnxrun."), "\(error)")
            }
        }
    }

    // MARK: The shared EfficientNet-Lite0 reference input

    func testChelseaMatchesTheEfficientNetReferenceInput() throws {
        let image = try ImageDecoder.decode(contentsOf: TestPaths.requireShared("images/chelsea.png").path)
        let tensor = try NumpyFile.read(
            contentsOf: TestPaths.requireShared("models/efficientnet-lite0-imagenet-torch-op13/test_data_set_0/input_0.npy").path)
        XCTAssertEqual(tensor.shape, [1, 3, 224, 224])
        let reference = (shape: tensor.shape, values: tensor.floats)
        // The recipe: shorter side 256 (longer side rounded: 451x300 -> 385x256), crop 224, (x - 127) / 128.
        let exact = PreprocessingConfiguration(
            normalization: .meanStandardDeviation(mean: [127.0 / 255], standardDeviation: [128.0 / 255]))
        let exactDifference = maximumDifference(try ImagePreprocessor(configuration: exact).tensor(for: image).floats,
                                                reference.values)
        var rounded = exact
        rounded.normalization = .meanStandardDeviation(mean: [0.498], standardDeviation: [0.502])
        let roundedDifference = maximumDifference(
            try ImagePreprocessor(configuration: rounded).tensor(for: image).floats, reference.values)
        var torchvisionResize = exact
        torchvisionResize.longerSideRounding = .down
        let truncatedDifference = maximumDifference(
            try ImagePreprocessor(configuration: torchvisionResize).tensor(for: image).floats, reference.values)
        print("chelsea vs input_0.npy max |difference|: mean/std 127/255,128/255: \(exactDifference); "
              + "0.498/0.502: \(roundedDifference); torchvision-truncated resize (384x256): \(truncatedDifference)")
        XCTAssertLessThanOrEqual(exactDifference, 1e-6)
        XCTAssertLessThan(roundedDifference, 0.01)
    }
}

// MARK: - Model-level helpers

final class ModelPreprocessingTests: XCTestCase {
    private func model(inputShape: [ONNXRun.Dimension], metadata: [String: String] = [:],
                       nodes: [Node] = [], output: String = "logits") -> Model {
        let graph = Graph(name: "g", inputs: [ValueInfo(name: "image", type: TensorType(elementType: .float, shape: inputShape))],
                          outputs: [ValueInfo(name: output, type: nil)], initializers: [:], valueInfo: [], nodes: nodes)
        return Model(irVersion: 8, opsetImports: ["": 13], metadata: metadata, graph: graph, source: "test.onnx")
    }

    func testConfigurationFromModel() throws {
        let keras = model(inputShape: [.symbolic("N"), .fixed(160), .fixed(160), .fixed(3)],
                          metadata: [PreprocessingConfiguration.MetadataKey.normalization: "inception"])
        let configuration = try PreprocessingConfiguration(model: keras)
        XCTAssertEqual(configuration.layout, .nhwc)
        XCTAssertEqual(configuration.inputHeight, 160)
        XCTAssertEqual(configuration.effectiveResizeShorterSide, 182)
        XCTAssertEqual(configuration.normalization, .inception)
        XCTAssertThrowsError(try PreprocessingConfiguration(model: keras, inputName: "missing")) { error in
            XCTAssertEqual((error as? ONNXRunError)?.file, "test.onnx")
        }
        let bad = model(inputShape: [.fixed(1), .fixed(3), .fixed(8), .fixed(8)],
                        metadata: [PreprocessingConfiguration.MetadataKey.layout: "sideways"])
        XCTAssertThrowsError(try PreprocessingConfiguration(model: bad)) { error in
            XCTAssertEqual((error as? ONNXRunError)?.file, "test.onnx")
        }
        let contradicting = model(inputShape: [.fixed(1), .fixed(3), .fixed(8), .fixed(8)],
                                  metadata: [PreprocessingConfiguration.MetadataKey.crop: "16"])
        XCTAssertThrowsError(try PreprocessingConfiguration(model: contradicting)) { error in
            XCTAssertEqual((error as? ONNXRunError)?.kind, .invalidModel)
        }
        let dynamic = model(inputShape: [.symbolic("N"), .fixed(3), .symbolic("H"), .symbolic("W")],
                            metadata: [PreprocessingConfiguration.MetadataKey.crop: "16,24"])
        XCTAssertEqual(try PreprocessingConfiguration(model: dynamic).shape(), [1, 3, 16, 24])
    }

    func testSoftmaxDetection() throws {
        let softmax = Node(name: "s", opType: "Softmax", inputs: ["z"], outputs: ["p"])
        let flatten = Node(name: "f", opType: "Flatten", inputs: ["p"], outputs: ["probabilities"])
        let gemm = Node(name: "g", opType: "Gemm", inputs: ["x", "w"], outputs: ["logits"])
        let shape: [ONNXRun.Dimension] = [.fixed(1), .fixed(3), .fixed(8), .fixed(8)]
        XCTAssertTrue(try Classification.outputIsProbabilities(of: model(inputShape: shape, nodes: [softmax, flatten], output: "probabilities")))
        XCTAssertFalse(try Classification.outputIsProbabilities(of: model(inputShape: shape, nodes: [gemm])))
        let declared = model(inputShape: shape, metadata: [PreprocessingConfiguration.MetadataKey.output: "probabilities"], nodes: [gemm])
        XCTAssertTrue(try Classification.outputIsProbabilities(of: declared))
    }
}
