// ONNXRUN_MAX_ISA from the command line: every kernel level this CPU has runs a model to its reference and says
// which kernels ran; a value that names no level fails before anything runs.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import XCTest

final class MaxInstructionSetCommandTests: XCTestCase {
    private let folder = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96")

    private func run(_ arguments: [String], maxISA: String) throws -> CommandResult {
        guard let executable = CommandLineProcess.executable else { throw XCTSkip("no onnxrun executable") }
        var environment = ProcessInfo.processInfo.environment
        environment["ONNXRUN_MAX_ISA"] = maxISA
        return try ChildProcess.run(executable, arguments, environment: environment)
    }

    /// The levels below the CPU's best, with the kernel table's name each reports.
    private var lowerLevels: [(setting: String, kernels: String)] {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { " \($0) " } ?? ""
        var levels = [("portable", "fp32 portable C")]
        if flags.contains(" avx2 ") { levels.append(("avx2", "fp32 AVX2+FMA")) }
        if flags.contains(" avx512f ") { levels.append(("avx512", "fp32 AVX-512")) }
        return levels
    }

    func testEveryLevelMatchesTheReferenceAndSaysWhichKernelsRan() throws {
        for (setting, kernels) in lowerLevels {
            let check = try run(["run", folder.appendingPathComponent("model.onnx").path, "--threads", "1",
                                 "--input", folder.appendingPathComponent("test_data_set_0/input_0.pb").path,
                                 "--check", folder.appendingPathComponent("test_data_set_0/output_0.pb").path,
                                 "--tolerance", "1e-4"], maxISA: setting)
            XCTAssertEqual(check.status, 0, "\(setting): \(check.standardOutput) \(check.standardError)")
            let bench = try run(["bench", folder.appendingPathComponent("model.onnx").path, "--runs", "1",
                                 "--warmup", "0", "--threads", "1", "--json"], maxISA: setting)
            XCTAssertEqual(bench.status, 0, "\(setting): \(bench.standardError)")
            let report = try XCTUnwrap(try CommandLineProcess.json(bench) as? [String: Any])
            XCTAssertEqual(report["kernels"] as? String, kernels, setting)
        }
    }

    func testAValueThatNamesNoLevelFailsClearly() throws {
        let result = try run(["bench", folder.appendingPathComponent("model.onnx").path, "--runs", "1"],
                             maxISA: "avx9")
        assertCleanFailure(result, mentioning: ["ONNXRUN_MAX_ISA", "'avx9'", "portable, avx2 or avx512"])
    }
}
