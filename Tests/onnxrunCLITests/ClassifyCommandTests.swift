// `onnxrun MODEL IMAGE...`: the bundled pretrained EfficientNet-Lite0 ranks chelsea.png and coffee.png as PIL + torch do.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import ONNXRunVision
import XCTest

final class ClassifyCommandTests: XCTestCase {
    static let efficientNet = TestPaths.models.appendingPathComponent("efficientnet-lite0/model.onnx").path
    static let mobileNet = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
    static let images = TestPaths.models.appendingPathComponent("images")
    static let chelsea = images.appendingPathComponent("chelsea.png").path
    static let coffee = images.appendingPathComponent("coffee.png").path

    /// Top-5 (index, label, probability) per photo, from PyTorch on PIL-preprocessed inputs (models/images).
    func expectedTopFive() throws -> [String: [(index: Int, label: String, probability: Double)]] {
        let data = try Data(contentsOf: Self.images.appendingPathComponent("expected-top5.json"))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let photos = try XCTUnwrap(object["photos"] as? [String: [[Any]]])
        return try photos.mapValues { entries in
            try entries.map { entry in
                (try XCTUnwrap(entry[0] as? Int), try XCTUnwrap(entry[1] as? String), try XCTUnwrap(entry[2] as? Double))
            }
        }
    }

    // MARK: - Text

    func testChelseaIsATigerCat() throws {
        let result = try CommandLineProcess.run([Self.efficientNet, Self.chelsea])
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = result.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.first.map(String.init), Self.chelsea)
        // "  1.  38.34%   282  tiger cat"
        let first = try XCTUnwrap(lines.dropFirst().first)
        XCTAssertTrue(first.hasSuffix("282  tiger cat"), String(first))
        XCTAssertTrue(first.contains("1. "), String(first))
        XCTAssertEqual(lines.filter { $0.contains("%") }.count, 5)
        XCTAssertTrue(result.standardOutput.contains("decode "), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("inference "), result.standardOutput)
    }

    // MARK: - JSON

    func testJSONMatchesTheReferenceTopFive() throws {
        let result = try CommandLineProcess.run([Self.efficientNet, Self.chelsea, Self.coffee, "--json"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let images = try XCTUnwrap(try CommandLineProcess.json(result) as? [[String: Any]])
        XCTAssertEqual(images.count, 2)
        let expected = try expectedTopFive()
        for (image, photo) in zip(images, ["chelsea", "coffee"]) {
            XCTAssertEqual(image["image"] as? String, photo == "chelsea" ? Self.chelsea : Self.coffee)
            let top = try XCTUnwrap(image["top"] as? [[String: Any]])
            let reference = try XCTUnwrap(expected[photo])
            XCTAssertEqual(top.compactMap { $0["index"] as? Int }, reference.map(\.index), photo)
            XCTAssertEqual(top.compactMap { $0["label"] as? String }, reference.map(\.label), photo)
            for (entry, referenceEntry) in zip(top, reference) {
                // The reference is rounded to 4 decimals.
                XCTAssertEqual(try XCTUnwrap(entry["probability"] as? Double), referenceEntry.probability,
                               accuracy: 6e-4, photo)
            }
            let timings = try XCTUnwrap(image["timings"] as? [String: Any])
            for key in ["decode_ms", "preprocess_ms", "inference_ms"] {
                XCTAssertNotNil(timings[key] as? Double, key)
            }
        }
    }

    /// A Swift tool using the library's ImageClassifier gets exactly the CLI's top-5 for the bundled photos.
    func testImageClassifierGivesTheCLIsTopFive() throws {
        let result = try CommandLineProcess.run([Self.efficientNet, Self.chelsea, Self.coffee, "--json"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let images = try XCTUnwrap(try CommandLineProcess.json(result) as? [[String: Any]])
        let classifier = try ImageClassifier(contentsOf: Self.efficientNet)
        XCTAssertEqual(images.count, 2)
        for (image, path) in zip(images, [Self.chelsea, Self.coffee]) {
            let top = try XCTUnwrap(image["top"] as? [[String: Any]])
            let library = try classifier.classify(imageAt: path).top
            XCTAssertEqual(library.map(\.index), top.compactMap { $0["index"] as? Int }, path)
            XCTAssertEqual(library.map(\.label), top.compactMap { $0["label"] as? String }, path)
            for (prediction, entry) in zip(library, top) {
                // The JSON writer prints the Float's shortest decimal, read back as a Double.
                XCTAssertEqual(Double(prediction.score), try XCTUnwrap(entry["probability"] as? Double), accuracy: 1e-9)
            }
        }
    }

    /// With --raw the scores are logits: those of onnxruntime on ../shared's PIL-preprocessed chelsea.png
    /// (models/efficientnet-lite0/test_data_set_0), since decoding and preprocessing match PIL.
    func testRawScoresAreTheReferenceLogits() throws {
        let reference = TestPaths.models.appendingPathComponent("efficientnet-lite0/test_data_set_0/output_0.pb").path
        let logits = try ModelLoader.loadTensor(contentsOf: reference).tensor.floats
        let result = try CommandLineProcess.run([Self.efficientNet, Self.chelsea, "--raw", "--json", "-k", "3"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let images = try XCTUnwrap(try CommandLineProcess.json(result) as? [[String: Any]])
        let top = try XCTUnwrap(images.first?["top"] as? [[String: Any]])
        XCTAssertEqual(top.count, 3)
        let expectedOrder = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(3)
        XCTAssertEqual(top.compactMap { $0["index"] as? Int }, Array(expectedOrder))
        for entry in top {
            let index = try XCTUnwrap(entry["index"] as? Int)
            XCTAssertEqual(try XCTUnwrap(entry["score"] as? Double), Double(logits[index]), accuracy: 1e-3)
        }
    }

    /// Command-line normalization wins over the model's metadata: raw 0...255 inputs change the probabilities.
    func testPresetOverridesTheMetadata() throws {
        let result = try CommandLineProcess.run([Self.efficientNet, Self.chelsea, "--preset", "raw", "--json", "-k", "1"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let images = try XCTUnwrap(try CommandLineProcess.json(result) as? [[String: Any]])
        let top = try XCTUnwrap((images.first?["top"] as? [[String: Any]])?.first)
        let probability = try XCTUnwrap(top["probability"] as? Double)
        let expected = try XCTUnwrap(try expectedTopFive()["chelsea"]?.first)
        XCTAssertFalse(top["index"] as? Int == expected.index && abs(probability - expected.probability) < 0.01,
                       "--preset raw gave the same top class and probability as the metadata's recipe")
    }

    // MARK: - Folders and batches

    /// A folder on a symbolic-batch model is classified in batches, with the same scores as one image at a time.
    func testFolderInBatchesMatchesOneByOne() throws {
        let batched = try CommandLineProcess.run([Self.mobileNet, Self.images.path, "--json", "--batch-size", "2",
                                                  "-k", "3"])
        XCTAssertEqual(batched.status, 0, batched.standardError)
        let single = try CommandLineProcess.run([Self.mobileNet, Self.chelsea, Self.coffee, "--json",
                                                 "--batch-size", "1", "-k", "3"])
        XCTAssertEqual(single.status, 0, single.standardError)
        let batchedImages = try XCTUnwrap(try CommandLineProcess.json(batched) as? [[String: Any]])
        let singleImages = try XCTUnwrap(try CommandLineProcess.json(single) as? [[String: Any]])
        XCTAssertEqual(batchedImages.count, 2)
        XCTAssertEqual(batchedImages.compactMap { ($0["timings"] as? [String: Any])?["batch_size"] as? Int }, [2, 2])
        XCTAssertEqual(singleImages.compactMap { ($0["timings"] as? [String: Any])?["batch_size"] as? Int }, [1, 1])
        for (left, right) in zip(batchedImages, singleImages) {
            let leftTop = try XCTUnwrap(left["top"] as? [[String: Any]])
            let rightTop = try XCTUnwrap(right["top"] as? [[String: Any]])
            XCTAssertEqual(leftTop.count, 3)
            XCTAssertEqual(leftTop.compactMap { $0["index"] as? Int }, rightTop.compactMap { $0["index"] as? Int })
            for (a, b) in zip(leftTop, rightTop) {
                XCTAssertEqual(try XCTUnwrap(a["probability"] as? Double), try XCTUnwrap(b["probability"] as? Double),
                               accuracy: 1e-5)
            }
        }
    }

    // MARK: - Errors

    func testBadImageFailsWithOneLine() throws {
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-bad-\(UUID()).png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0x55, count: 100)).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        assertCleanFailure(try CommandLineProcess.run([Self.efficientNet, garbage.path]), mentioning: [garbage.path])
        assertCleanFailure(try CommandLineProcess.run([Self.efficientNet, "/nonexistent.jpg"]),
                           mentioning: ["/nonexistent.jpg"])
    }

    func testBadImageAmongGoodOnesStillClassifiesTheOthers() throws {
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-bad-\(UUID()).jpg")
        try Data(Array(repeating: 0xFF, count: 64)).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        let result = try CommandLineProcess.run([Self.efficientNet, garbage.path, Self.chelsea])
        assertCleanFailure(result, mentioning: [garbage.path])
        XCTAssertTrue(result.standardOutput.contains("tiger cat"), result.standardOutput)
    }

    func testNonImageModelSuggestsRun() throws {
        let model = TestPaths.models.appendingPathComponent("operators/add_same_shape/model.onnx").path
        assertCleanFailure(try CommandLineProcess.run([model, Self.chelsea]), mentioning: ["onnxrun run"])
    }
}
