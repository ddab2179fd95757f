// `onnxrun run`: reproduces onnxruntime's reference outputs of committed models, writes .npy, reports misuse clearly.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import XCTest

final class RunCommandTests: XCTestCase {
    static let mobileNetDirectory = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96")
    var model: String { Self.mobileNetDirectory.appendingPathComponent("model.onnx").path }
    var input: String { Self.mobileNetDirectory.appendingPathComponent("test_data_set_0/input_0.pb").path }
    var reference: String { Self.mobileNetDirectory.appendingPathComponent("test_data_set_0/output_0.pb").path }

    // MARK: - Reference outputs

    func testCheckReproducesTheReferenceOutput() throws {
        try assertCheckPasses([])
    }

    /// The reference kernels without graph optimization (the oracle) reproduce it too.
    func testCheckReproducesTheReferenceOutputWithoutOptimization() throws {
        try assertCheckPasses(["--no-optimize"])
    }

    private func assertCheckPasses(_ options: [String]) throws {
        let result = try CommandLineProcess.run(["run", model, "--input", input, "--check", reference] + options)
        XCTAssertEqual(result.status, 0, result.standardError)
        let checkLine = try XCTUnwrap(result.standardOutput.split(separator: "\n").first { $0.hasPrefix("check ") })
        // "check output: max abs difference 1.2e-06 (tolerance 0.0001) ok"
        let words = checkLine.split(separator: " ")
        let differenceIndex = try XCTUnwrap(words.firstIndex(of: "difference"))
        let difference = try XCTUnwrap(Double(words[differenceIndex + 1]))
        XCTAssertLessThanOrEqual(difference, 1e-4)
        XCTAssertTrue(checkLine.hasSuffix(" ok"), String(checkLine))
    }

    func testOutputDirectoryHoldsTheOutputAsNumpy() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandLineProcess.run(["run", model, "--input", "input=\(input)",
                                                 "--output-dir", directory.path])
        XCTAssertEqual(result.status, 0, result.standardError)
        let (outputName, expected) = try ModelLoader.loadTensor(contentsOf: reference)
        let written = try NumpyFile.read(contentsOf: directory.appendingPathComponent("\(outputName).npy").path)
        XCTAssertEqual(written.shape, expected.shape)
        let largest = zip(written.floats, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(largest, 1e-4)
        // The summary line: name, type and shape, statistics and the argmax of the one row.
        let expectedArgmax = expected.floats.indices.max { expected.floats[$0] < expected.floats[$1] } ?? -1
        XCTAssertTrue(result.standardOutput.contains("\(outputName): float[1,1000]"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("argmax \(expectedArgmax)"), result.standardOutput)
    }

    /// test_data_set_1 is a batch of 3 on the symbolic batch dimension: one argmax per row.
    func testBatchOfThreeReportsArgmaxPerRow() throws {
        let batchInput = Self.mobileNetDirectory.appendingPathComponent("test_data_set_1/input_0.pb").path
        let batchReference = Self.mobileNetDirectory.appendingPathComponent("test_data_set_1/output_0.pb").path
        let (outputName, expected) = try ModelLoader.loadTensor(contentsOf: batchReference)
        XCTAssertEqual(expected.shape, [3, 1000])
        let result = try CommandLineProcess.run(["run", model, "--input", batchInput,
                                                 "--expected", "\(outputName)=\(batchReference)"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let values = expected.floats
        let argmaxes = (0..<3).map { row in
            (0..<1000).max { values[row * 1000 + $0] < values[row * 1000 + $1] } ?? -1
        }
        XCTAssertTrue(result.standardOutput.contains("\(outputName): float[3,1000]"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("argmax per row [\(argmaxes.map(String.init).joined(separator: ","))]"),
                      result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains(" ok"), result.standardOutput)
    }

    // MARK: - Misuse

    func testWrongReferenceFailsWithOneLine() throws {
        // The input as the "reference": shapes differ, so the check must fail, not pass or crash.
        assertCleanFailure(try CommandLineProcess.run(["run", model, "--input", input, "--check", input]),
                           mentioning: ["shape"])
    }

    func testUnknownInputNameListsTheInputs() throws {
        assertCleanFailure(try CommandLineProcess.run(["run", model, "--input", "nosuchinput=\(input)"]),
                           mentioning: ["'input'"])
    }

    func testMissingInputListsTheInputs() throws {
        assertCleanFailure(try CommandLineProcess.run(["run", model]), mentioning: ["'input'"])
    }

    func testGarbageInputFileFailsWithOneLine() throws {
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-garbage-\(UUID()).npy")
        try Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0xFF] + Array(repeating: 0x41, count: 64)).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        assertCleanFailure(try CommandLineProcess.run(["run", model, "--input", garbage.path]))
    }
}
