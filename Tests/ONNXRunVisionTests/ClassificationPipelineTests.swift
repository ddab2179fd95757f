// The decode/inference pipeline behind classify(contentsOf:): exactly what one-by-one calls give, in file order, for
// any batch size, with bad files mixed in; its thread choice; and a failing handler stops it cleanly.

import Foundation
import ONNXRun
import ONNXRunTestSupport
@testable import ONNXRunVision
import XCTest

final class ClassificationPipelineTests: XCTestCase {
    static let mobileNet = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
    static let efficientNet = TestPaths.models.appendingPathComponent("efficientnet-lite0/model.onnx").path
    static let photos = ["chelsea", "coffee"].map {
        TestPaths.models.appendingPathComponent("images/\($0).png").path
    }
    /// Generated photos of other kinds (tools/make_image_fixtures.py): JPEG baseline/progressive/grey/CMYK, PNG
    /// palette/16-bit/interlaced, and a wide one.
    static let generated = ["baseline.jpg", "progressive.jpg", "gray.jpg", "cmyk.jpg", "palette.png", "rgb16.png",
                            "rgb_interlaced.png", "wide.jpg"].map(Fixtures.path)

    private var temporaryFiles: [URL] = []

    override func tearDown() {
        for file in temporaryFiles { try? FileManager.default.removeItem(at: file) }
        super.tearDown()
    }

    /// Files that cannot be classified: a PNG signature then garbage, an empty file, a truncated JPEG, a missing file.
    private func badFiles() throws -> [String] {
        let directory = FileManager.default.temporaryDirectory
        let truncated = try Fixtures.bytes("baseline.jpg").prefix(300)
        let contents: [(String, [UInt8])] = [("garbage.png", [0x89, 0x50, 0x4E, 0x47] + Array(repeating: 0x55, count: 60)),
                                            ("empty.jpg", []), ("truncated.jpg", Array(truncated))]
        var paths: [String] = []
        for (name, bytes) in contents {
            let url = directory.appendingPathComponent("pipeline-\(UUID())-\(name)")
            try Data(bytes).write(to: url)
            temporaryFiles.append(url)
            paths.append(url.path)
        }
        return paths + ["/nonexistent/pipeline.jpg"]
    }

    /// Good and bad files interleaved so that batches hold none, one or several bad ones, and the last batch is short.
    private func mixedPaths() throws -> (paths: [String], bad: Set<String>) {
        let bad = try badFiles()
        let good = Self.photos + Self.generated + Self.photos.reversed()
        var paths = [bad[0]] + good.prefix(3) + [bad[1], bad[2]] + good.dropFirst(3).prefix(5)
        paths += [bad[3]] + good.dropFirst(8) + [bad[0]]
        return (paths, Set(bad))
    }

    // MARK: - Results

    func testPipelineGivesExactlyTheOneByOneResultsForBatchSizes1_2_8() throws {
        let (paths, bad) = try mixedPaths()
        for batchSize in [1, 2, 8] {
            let classifier = try ImageClassifier(contentsOf: Self.mobileNet, options: .init(top: 5, batchSize: batchSize))
            var batches: [[FileClassification]] = []
            let summary = try classifier.classify(contentsOf: paths) { batches.append($0) }
            XCTAssertEqual(batches.map(\.count), stride(from: 0, to: paths.count, by: batchSize).map {
                min(batchSize, paths.count - $0)
            }, "batch size \(batchSize)")
            let results = batches.flatMap { $0 }
            XCTAssertEqual(results.map(\.path), paths, "batch size \(batchSize)")
            for file in results {
                switch file.result {
                case .success(let result):
                    XCTAssertFalse(bad.contains(file.path), "\(file.path) should have failed")
                    let alone = try classifier.classify(imageAt: file.path)
                    XCTAssertEqual(result.top.map(\.index), alone.top.map(\.index), "\(file.path), batch size \(batchSize)")
                    XCTAssertEqual(result.top.map(\.label), alone.top.map(\.label), "\(file.path), batch size \(batchSize)")
                    XCTAssertEqual(result.top.map(\.score), alone.top.map(\.score), "\(file.path), batch size \(batchSize)")
                    XCTAssertLessThanOrEqual(result.timings.batchSize, batchSize)
                case .failure(let error):
                    XCTAssertTrue(bad.contains(file.path), "\(file.path): \(error)")
                    XCTAssertTrue(error.description.contains(file.path), error.description)
                }
            }
            // The good images of a batch run together, packed past the bad ones.
            let firstBatch = try XCTUnwrap(batches.first)
            let goodInFirst = firstBatch.filter { !bad.contains($0.path) }.count
            if case .success(let result) = firstBatch.first(where: { !bad.contains($0.path) })?.result {
                XCTAssertEqual(result.timings.batchSize, goodInFirst, "batch size \(batchSize)")
            }
            let occupancy = summary.pipeline
            XCTAssertEqual(occupancy.slotCount, ImageClassifier.pipelineSlotCount)
            XCTAssertGreaterThanOrEqual(occupancy.decodeThreads, 1)
            XCTAssertGreaterThan(occupancy.decodeBusySeconds, 0)
            XCTAssertGreaterThan(occupancy.inferenceBusySeconds, 0)
            XCTAssertGreaterThanOrEqual(occupancy.wallSeconds, occupancy.inferenceBusySeconds)
            XCTAssertEqual(summary.inferenceCount, batches.filter { $0.contains { !bad.contains($0.path) } }.count)
        }
    }

    /// A fixed batch of 1 (EfficientNet-Lite0, as the CLI's folder mode runs it): each photo its own inference.
    func testFixedBatchModelGetsTheOneByOneResults() throws {
        let bad = try badFiles()
        // Few images: this model is slow in debug builds.
        let paths = [bad[0], Self.photos[0], bad[3], Self.generated[0], Self.photos[1]]
        let classifier = try ImageClassifier(contentsOf: Self.efficientNet)
        XCTAssertEqual(classifier.imagesPerInference, 1)
        var results: [FileClassification] = []
        let summary = try classifier.classify(contentsOf: paths) { results += $0 }
        XCTAssertEqual(results.map(\.path), paths)
        XCTAssertEqual(summary.inferenceCount, 3)
        for file in results {
            guard case .success(let result) = file.result else {
                XCTAssertTrue(bad.contains(file.path), file.path)
                continue
            }
            let alone = try classifier.classify(imageAt: file.path)
            XCTAssertEqual(result.top.map(\.index), alone.top.map(\.index), file.path)
            XCTAssertEqual(result.top.map(\.score), alone.top.map(\.score), file.path)
        }
    }

    func testEmptyListAndAllBadBatches() throws {
        let classifier = try ImageClassifier(contentsOf: Self.mobileNet, options: .init(batchSize: 2))
        var calls = 0
        let empty = try classifier.classify(contentsOf: []) { _ in calls += 1 }
        XCTAssertEqual(calls, 0)
        XCTAssertEqual(empty.inferenceCount, 0)
        let bad = try badFiles()
        var results: [FileClassification] = []
        let summary = try classifier.classify(contentsOf: bad) { results += $0 }
        XCTAssertEqual(results.map(\.path), bad)
        XCTAssertEqual(summary.inferenceCount, 0)
        for file in results { XCTAssertThrowsError(try file.result.get(), file.path) }
    }

    /// A handler that throws stops the decode threads (no hang, nothing left running) and its error comes out.
    func testHandlerErrorStopsThePipeline() throws {
        struct Stop: Error {}
        let classifier = try ImageClassifier(contentsOf: Self.mobileNet, options: .init(batchSize: 2))
        let paths = Array(repeating: Self.photos, count: 20).flatMap { $0 }
        var batches = 0
        XCTAssertThrowsError(try classifier.classify(contentsOf: paths) { _ in
            batches += 1
            if batches == 2 { throw Stop() }
        }) { XCTAssertTrue($0 is Stop, "\($0)") }
        XCTAssertEqual(batches, 2)
        // The classifier still works afterwards.
        var results: [FileClassification] = []
        try classifier.classify(contentsOf: Array(paths.prefix(3))) { results += $0 }
        XCTAssertEqual(results.compactMap { try? $0.result.get() }.count, 3)
    }

    // MARK: - Threads

    func testDecodeThreadsMatchDecodeCostToInferenceCost() {
        // Two cores: one decode thread, whatever the costs (the session's threads need the other core).
        XCTAssertEqual(ClassificationPipeline.decodeThreadCount(preparingSeconds: 9, inferenceSeconds: 6.5, cores: 2), 1)
        // Decoding 3.2x slower than inference: 4 threads, if the cores allow.
        XCTAssertEqual(ClassificationPipeline.decodeThreadCount(preparingSeconds: 3.2, inferenceSeconds: 1, cores: 16), 4)
        XCTAssertEqual(ClassificationPipeline.decodeThreadCount(preparingSeconds: 30, inferenceSeconds: 1, cores: 8), 7)
        // Decoding cheaper than inference: one.
        XCTAssertEqual(ClassificationPipeline.decodeThreadCount(preparingSeconds: 0.2, inferenceSeconds: 1, cores: 16), 1)
        // A zero inference time (clock granularity) or a single core never asks for nonsense.
        XCTAssertEqual(ClassificationPipeline.decodeThreadCount(preparingSeconds: 1, inferenceSeconds: 0, cores: 4), 3)
        XCTAssertEqual(ClassificationPipeline.decodeThreadCount(preparingSeconds: 1, inferenceSeconds: 0, cores: 1), 1)
    }
}
