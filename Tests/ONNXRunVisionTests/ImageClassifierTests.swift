// ImageClassifier: the bundled photos get the reference top-5 (PIL + PyTorch), batches and concurrent callers get
// what one-by-one calls get, bad files and models fail cleanly.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import ONNXRunVision
import XCTest

final class ImageClassifierTests: XCTestCase {
    static let efficientNet = TestPaths.models.appendingPathComponent("efficientnet-lite0/model.onnx").path
    /// Symbolic batch, 1000 logits, ImageNet recipe in its metadata (random weights).
    static let mobileNet = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
    static let images = TestPaths.models.appendingPathComponent("images")
    static let photos = ["chelsea", "coffee"].map { images.appendingPathComponent("\($0).png").path }

    /// Top-5 (index, label, probability) per photo, from PyTorch on PIL-preprocessed inputs.
    private func expectedTopFive() throws -> [String: [(index: Int, label: String, probability: Double)]] {
        let data = try Data(contentsOf: Self.images.appendingPathComponent("expected-top5.json"))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let photos = try XCTUnwrap(object["photos"] as? [String: [[Any]]])
        return try photos.mapValues { entries in
            try entries.map { entry in
                (try XCTUnwrap(entry[0] as? Int), try XCTUnwrap(entry[1] as? String), try XCTUnwrap(entry[2] as? Double))
            }
        }
    }

    private func assertSame(_ left: ImageClassification, _ right: ImageClassification, accuracy: Float = 1e-5,
                            _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(left.top.map(\.index), right.top.map(\.index), message, file: file, line: line)
        XCTAssertEqual(left.top.map(\.label), right.top.map(\.label), message, file: file, line: line)
        for (a, b) in zip(left.top, right.top) {
            XCTAssertEqual(a.score, b.score, accuracy: accuracy, message, file: file, line: line)
        }
    }

    // MARK: - Photos

    func testBundledPhotosGetTheReferenceTopFive() throws {
        let classifier = try ImageClassifier(contentsOf: Self.efficientNet)
        XCTAssertTrue(classifier.scoresAreProbabilities)
        XCTAssertEqual(classifier.preprocessor.configuration.shape(), [1, 3, 224, 224])
        let expected = try expectedTopFive()
        for (name, path) in zip(["chelsea", "coffee"], Self.photos) {
            let result = try classifier.classify(imageAt: path)
            let reference = try XCTUnwrap(expected[name])
            XCTAssertEqual(result.top.map(\.index), reference.map(\.index), name)
            XCTAssertEqual(result.top.map(\.label), reference.map(\.label), name)
            for (prediction, entry) in zip(result.top, reference) {
                // The reference is rounded to 4 decimals (the CLI test allows the same).
                XCTAssertEqual(Double(prediction.score), entry.probability, accuracy: 6e-4, name)
            }
            XCTAssertEqual(result.timings.batchSize, 1)
            XCTAssertGreaterThan(result.timings.decodeSeconds, 0)
            XCTAssertGreaterThan(result.timings.inferenceSeconds, 0)

            let fromBytes = try classifier.classify(imageBytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            assertSame(fromBytes, result, accuracy: 0, name)
        }
    }

    func testBatchesMatchOneByOne() throws {
        let classifier = try ImageClassifier(contentsOf: Self.mobileNet, options: .init(top: 4, batchSize: 2))
        XCTAssertEqual(classifier.imagesPerInference, 2)
        let decoded = try (Self.photos + Self.photos.reversed()).map { try ImageDecoder.decode(contentsOf: $0) }
        let batched = try classifier.classify(Array(decoded.prefix(3)))
        XCTAssertEqual(batched.map(\.timings.batchSize), [2, 2, 1])
        for (image, result) in zip(decoded, batched) {
            XCTAssertEqual(result.top.count, 4)
            assertSame(result, try classifier.classify([image])[0])
        }
        // The two photos really differ under this model (its logits depend on the input).
        XCTAssertNotEqual(batched[0].top.map(\.index), batched[1].top.map(\.index))
    }

    func testFilesArriveInOrderWithBadOnesReported() throws {
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("classifier-bad-\(UUID()).png")
        try Data([0x89, 0x50, 0x4E, 0x47] + Array(repeating: 0x55, count: 60)).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        let classifier = try ImageClassifier(contentsOf: Self.mobileNet, options: .init(batchSize: 2))
        let paths = [Self.photos[0], garbage.path, "/nonexistent.jpg", Self.photos[1], Self.photos[0]]
        var batches: [[FileClassification]] = []
        let summary = try classifier.classify(contentsOf: paths, collectingStepTimings: true) { batches.append($0) }
        XCTAssertEqual(batches.map(\.count), [2, 2, 1])
        let results = batches.flatMap { $0 }
        XCTAssertEqual(results.map(\.path), paths)
        XCTAssertEqual(summary.inferenceCount, 3)
        XCTAssertFalse(summary.stepTimings.isEmpty)
        for (index, file) in results.enumerated() {
            switch file.result {
            case .success(let result):
                XCTAssertFalse([1, 2].contains(index), "\(file.path) should have failed")
                assertSame(result, try classifier.classify(imageAt: file.path), file.path)
            case .failure(let error):
                XCTAssertTrue([1, 2].contains(index), "\(file.path): \(error)")
                XCTAssertTrue(error.description.contains(file.path), error.description)
            }
        }
        // A batch with one readable image runs it alone.
        guard case .success(let lone) = results[3].result else { return XCTFail("coffee.png failed") }
        XCTAssertEqual(lone.timings.batchSize, 1)
    }

    /// Many tasks share one classifier: each gets exactly what a lone call gets.
    func testConcurrentCallersGetTheirOwnResults() async throws {
        let classifier = try ImageClassifier(contentsOf: Self.mobileNet, sessionOptions: SessionOptions(threadCount: 2))
        let images = try Self.photos.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) }
        let expected = try images.map { try classifier.classify(imageBytes: $0) }
        let results = try await withThrowingTaskGroup(of: (Int, ImageClassification).self) { group in
            for task in 0..<16 {
                group.addTask { (task, try classifier.classify(imageBytes: images[task % 2])) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        XCTAssertEqual(results.count, 16)
        for (task, result) in results {
            assertSame(result, expected[task % 2], accuracy: 1e-6, "task \(task)")
        }
    }

    // MARK: - Recipe

    func testMetadataRecipeAndOverrides() throws {
        let keras = TestPaths.models.appendingPathComponent("keras-mobilenetv2-0.35-96/model.onnx").path
        let fromMetadata = try ImageClassifier(contentsOf: keras)
        XCTAssertEqual(fromMetadata.preprocessor.configuration.layout, .nhwc)
        XCTAssertEqual(fromMetadata.preprocessor.configuration.normalization, .inception)
        XCTAssertEqual(fromMetadata.preprocessor.configuration.effectiveResizeShorterSide, 110)
        XCTAssertTrue(fromMetadata.scoresAreProbabilities, "Keras ends in Softmax: probabilities, no second softmax")
        let sum = try fromMetadata.classify(imageAt: Self.photos[0]).top.reduce(0) { $0 + $1.score }
        XCTAssertLessThanOrEqual(sum, 1.0001)

        let overrides = ImageClassifier.PreprocessingOverrides(resizeShorterSide: 96, normalization: .raw,
                                                               channelOrder: .bgr)
        let overridden = try ImageClassifier(contentsOf: keras, options: .init(labels: (0..<10).map { "k\($0)" },
                                                                              preprocessing: overrides))
        let configuration = overridden.preprocessor.configuration
        XCTAssertEqual(configuration.effectiveResizeShorterSide, 96)
        XCTAssertEqual(configuration.normalization, .raw)
        XCTAssertEqual(configuration.channelOrder, .bgr)
        XCTAssertEqual(configuration.layout, .nhwc, "the input shape still decides the layout")
        let top = try overridden.classify(imageAt: Self.photos[0]).top
        XCTAssertEqual(top.map(\.label), top.map { "k\($0.index)" })

        let raw = try ImageClassifier(contentsOf: Self.mobileNet, options: .init(top: 1000, rawScores: true))
        XCTAssertFalse(raw.scoresAreProbabilities)
        let scores = try raw.classify(imageAt: Self.photos[1]).top
        XCTAssertGreaterThan(scores.map(\.score).max() ?? 0, 1, "logits, not probabilities")
        XCTAssertEqual(scores.count, 1000)
    }

    // MARK: - Errors

    func testUnusableModelsAndOptionsFailCleanly() throws {
        let notImages = TestPaths.models.appendingPathComponent("operators/add_same_shape/model.onnx").path
        XCTAssertThrowsError(try ImageClassifier(contentsOf: notImages)) { error in
            let error = error as? ONNXRunError
            XCTAssertEqual(error?.kind, .unsupported)
            XCTAssertTrue(error?.description.contains("does not look like an image classifier") == true, "\(String(describing: error))")
            XCTAssertEqual(error?.file, notImages)
        }
        XCTAssertThrowsError(try ImageClassifier(contentsOf: Self.mobileNet, options: .init(labels: ["a", "b"]))) {
            XCTAssertTrue("\($0)".contains("2 labels do not fit a model with 1000 output classes"), "\($0)")
        }
        XCTAssertThrowsError(try ImageClassifier(contentsOf: Self.mobileNet, options: .init(top: 0)))
        XCTAssertThrowsError(try ImageClassifier(contentsOf: Self.mobileNet, options: .init(batchSize: 0)))
        XCTAssertThrowsError(try ImageClassifier(contentsOf: "/nonexistent/model.onnx"))

        let classifier = try ImageClassifier(contentsOf: Self.mobileNet)
        XCTAssertThrowsError(try classifier.classify(imageBytes: [1, 2, 3], source: "three bytes")) {
            XCTAssertEqual(($0 as? ONNXRunError)?.kind, .image)
            XCTAssertTrue("\($0)".contains("three bytes"), "\($0)")
        }
        XCTAssertThrowsError(try classifier.classify(imageAt: "/nonexistent.png"))
        XCTAssertEqual(try classifier.classify([]).count, 0)
    }
}
