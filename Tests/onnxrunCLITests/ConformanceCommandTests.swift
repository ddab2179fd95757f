// `onnxrun conformance`: the closing count line, exit status, failures named, expectations skipping and going stale.

import Foundation
import ONNXRunTestSupport
import XCTest

final class ConformanceCommandTests: XCTestCase {
    private let operators = TestPaths.models.appendingPathComponent("operators")

    private func expectationsFile(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("expectations-\(UUID().uuidString).txt")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testPassingCasesGiveTheCountLineAndStatusZero() throws {
        let result = try CommandLineProcess.run(["conformance", operators.path, "--filter", "relu*", "--threads", "1",
                                                 "--expectations", "none"])
        XCTAssertEqual(result.status, 0, result.standardOutput + result.standardError)
        XCTAssertEqual(result.standardOutput.split(separator: "\n").last, "2 passed, 0 failed, 0 skipped")
        let unoptimized = try CommandLineProcess.run(["conformance", operators.appendingPathComponent("relu").path,
                                                      "--no-optimize", "--expectations", "none"])
        XCTAssertEqual(unoptimized.standardOutput.split(separator: "\n").last, "1 passed, 0 failed, 0 skipped")
    }

    func testListedPassingCaseIsAStaleFailure() throws {
        let list = try expectationsFile("relu  op not implemented: Relu\n")
        defer { try? FileManager.default.removeItem(at: list) }
        let result = try CommandLineProcess.run(["conformance", operators.path, "--filter", "relu*",
                                                 "--expectations", list.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.standardOutput.contains("FAIL operators/relu: passes, but the expectations list it"),
                      result.standardOutput)
        XCTAssertTrue(result.standardOutput.hasSuffix("1 passed, 1 failed, 0 skipped\n"), result.standardOutput)
    }

    func testFailingCaseIsPrintedOrSkippedWhenListed() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)")
        let broken = scratch.appendingPathComponent("broken_case")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        try Data("not a model".utf8).write(to: broken.appendingPathComponent("model.onnx"))

        let failing = try CommandLineProcess.run(["conformance", scratch.path, "--expectations", "none"])
        XCTAssertEqual(failing.status, 1)
        XCTAssertTrue(failing.standardOutput.hasPrefix("FAIL \(scratch.lastPathComponent)/broken_case: load: "),
                      failing.standardOutput)
        XCTAssertTrue(failing.standardOutput.hasSuffix("0 passed, 1 failed, 0 skipped\n"), failing.standardOutput)

        let list = try expectationsFile("# known\nbroken_case  not in onnxrun's scope: a test of the list\n")
        defer { try? FileManager.default.removeItem(at: list) }
        let skipped = try CommandLineProcess.run(["conformance", scratch.path, "--expectations", list.path, "-v"])
        XCTAssertEqual(skipped.status, 0, skipped.standardOutput)
        XCTAssertTrue(skipped.standardOutput.contains("skip \(scratch.lastPathComponent)/broken_case: not in onnxrun's "
                                                          + "scope: a test of the list [load: "), skipped.standardOutput)
        XCTAssertTrue(skipped.standardOutput.contains("     1  not in onnxrun's scope: a test of the list\n"),
                      skipped.standardOutput)
        XCTAssertTrue(skipped.standardOutput.hasSuffix("0 passed, 0 failed, 1 skipped\n"), skipped.standardOutput)
    }

    func testMissingFolderFailsWithOneLine() throws {
        assertCleanFailure(try CommandLineProcess.run(["conformance", "/nonexistent-folder"]))
    }
}
