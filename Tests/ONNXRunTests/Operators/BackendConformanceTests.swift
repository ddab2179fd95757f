// ONNX backend conformance: every backend test case in ../shared whose operators the standard registry claims (for the
// model's opset) is loaded, run with its test_data_set_*, and compared with the expected outputs.

import Foundation
import XCTest
import ONNXRunTestSupport
@testable import ONNXRun

final class BackendConformanceTests: XCTestCase {
    /// The case folders: all node tests, the PyTorch-converted Conv2d tests, the PyTorch operator and simple tests.
    private func caseFolders(_ root: URL) -> [URL] {
        let manager = FileManager.default
        var folders: [URL] = []
        for (suite, prefix) in [("node", ""), ("pytorch-converted", "test_Conv2d"), ("pytorch-operator", ""), ("simple", "")] {
            let suiteURL = root.appendingPathComponent(suite)
            let names = (try? manager.contentsOfDirectory(atPath: suiteURL.path)) ?? []
            for name in names.sorted() where name.hasPrefix(prefix) {
                let folder = suiteURL.appendingPathComponent(name)
                if manager.fileExists(atPath: folder.appendingPathComponent("model.onnx").path) { folders.append(folder) }
            }
        }
        return folders
    }

    func testONNXBackendConformance() throws {
        let root = try TestPaths.requireShared("onnx-backend-tests")
        var passed = 0
        var failures: [String] = []
        var skips: [String] = []
        for folder in caseFolders(root) {
            let name = folder.deletingLastPathComponent().lastPathComponent + "/" + folder.lastPathComponent
            switch BackendCase.run(folder, relativeTolerance: 1e-3, absoluteTolerance: 1e-5) {
            case .passed: passed += 1
            case .failed(let reason): failures.append("\(name): \(reason)")
            case .skipped(let reason): skips.append("\(name): \(reason)")
            }
        }
        print("Skipped backend tests (unclaimed operator or unsupported type):")
        for skip in skips { print("  skip \(skip)") }
        for failure in failures { print("  FAIL \(failure)") }
        print("\(passed) passed, \(failures.count) failed, \(skips.count) skipped")
        XCTAssertTrue(failures.isEmpty, "\(failures.count) claimed backend tests failed:\n" + failures.joined(separator: "\n"))
        XCTAssertGreaterThan(passed, 0)
    }

    /// The real exports in ../shared/models through the reference kernels alone (rtol 1e-3, atol 1e-5 against
    /// onnxruntime). The small MobileNetV2 always; all six (about 2 minutes in a debug build) with ONNXRUN_SLOW_TESTS=1.
    func testSharedModelsWithReferenceKernels() throws {
        let root = try TestPaths.requireShared("models")
        let all = ProcessInfo.processInfo.environment["ONNXRUN_SLOW_TESTS"] == "1"
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path)
            .filter { !$0.hasSuffix(".json") && (all || $0 == "mobilenetv2-0.35-96-torch-op13") }.sorted()
        for name in names {
            let start = Date()
            let outcome = BackendCase.run(root.appendingPathComponent(name), relativeTolerance: 1e-3, absoluteTolerance: 1e-5)
            print("\(name): \(outcome) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            if case .passed = outcome { continue }
            XCTFail("\(name): \(outcome)")
        }
    }

}
