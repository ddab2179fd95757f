// ONNXRUN_MAX_ISA from the command line: every kernel level this CPU has runs a model to its reference and says
// which kernels ran; a value that names no level fails before anything runs.

import Foundation
import ONNXRunTestSupport
import XCTest

@testable import ONNXRun

final class MaxInstructionSetCommandTests: XCTestCase {
    private let folder = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96")

    private func run(_ arguments: [String], maxISA: String) throws -> CommandResult {
        guard let executable = CommandLineProcess.executable else { throw XCTSkip("no onnxrun executable") }
        var environment = ProcessInfo.processInfo.environment
        environment["ONNXRUN_MAX_ISA"] = maxISA
        return try ChildProcess.run(executable, arguments, environment: environment)
    }

    /// Every level this CPU has, as ONNXRUN_MAX_ISA names it, with the kernels `bench` then reports.
    private var levels: [(setting: String, kernels: String)] {
        KernelInstructionSet.supported.map { level in
            let setting = switch level {
            case .portable: "portable"
            case .avx2: "avx2"
            case .avx512: "avx512"
            }
            return (setting, "fp32 \(level)")
        }
    }

    func testEveryLevelMatchesTheReferenceAndSaysWhichKernelsRan() throws {
        for (setting, kernels) in levels {
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
