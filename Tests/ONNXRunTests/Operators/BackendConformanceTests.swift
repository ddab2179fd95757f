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

    enum Outcome {
        case passed
        case failed(String)
        case skipped(String)
    }

    func testONNXBackendConformance() throws {
        let root = try TestPaths.requireShared("onnx-backend-tests")
        var passed = 0
        var failures: [String] = []
        var skips: [String] = []
        for folder in caseFolders(root) {
            let name = folder.deletingLastPathComponent().lastPathComponent + "/" + folder.lastPathComponent
            switch runCase(folder) {
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
            let outcome = runCase(root.appendingPathComponent(name))
            print("\(name): \(outcome) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            if case .passed = outcome { continue }
            XCTFail("\(name): \(outcome)")
        }
    }

    private func runCase(_ folder: URL) -> Outcome {
        let model: Model
        do {
            model = try ModelLoader.load(contentsOf: folder.appendingPathComponent("model.onnx").path)
        } catch let error as ONNXRunError where error.kind == .unsupported {
            return .skipped("load: \(error.message)")
        } catch {
            return .failed("load: \(error)")
        }
        if let value = (model.graph.inputs + model.graph.outputs).first(where: { $0.type == nil }) {
            return .skipped("'\(value.name)' is not a tensor (sequence, map or optional)")
        }
        // Claimed = every node's (domain, op, opset) has a builder.
        for node in model.graph.nodes {
            guard let opset = model.opset(for: node.domain) else { return .skipped("no opset for domain '\(node.domain)'") }
            if OperatorRegistry.standard.definition(domain: node.domain, opType: node.opType, opset: opset) == nil {
                return .skipped("unclaimed \(node.domain.isEmpty ? "" : node.domain + ".")\(node.opType)-\(opset)")
            }
        }
        let dataSets = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasPrefix("test_data_set_") }.sorted()
        guard !dataSets.isEmpty else { return .skipped("no test data") }
        for dataSet in dataSets {
            let directory = folder.appendingPathComponent(dataSet)
            do {
                let inputs = try numberedTensors(directory, prefix: "input_")
                let expected = try numberedTensors(directory, prefix: "output_")
                var feeds: [String: Tensor] = [:]
                for (index, input) in inputs.enumerated() {
                    let name = model.graph.inputs.contains(where: { $0.name == input.name }) || index >= model.graph.inputs.count
                        ? input.name : model.graph.inputs[index].name
                    feeds[name] = input.tensor
                }
                let outputs = try execute(model, feeds: feeds)
                for (index, output) in expected.enumerated() {
                    let name = index < model.graph.outputs.count ? model.graph.outputs[index].name : output.name
                    guard let actual = outputs[name] else { return .failed("\(dataSet): output '\(name)' missing") }
                    if let mismatch = compare(actual, output.tensor) { return .failed("\(dataSet): output '\(name)': \(mismatch)") }
                }
            } catch let error as ONNXRunError where error.kind == .unsupported {
                return .skipped(error.description)
            } catch {
                return .failed("\(dataSet): \(error)")
            }
        }
        return .passed
    }

    private func numberedTensors(_ directory: URL, prefix: String) throws -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        var index = 0
        while true {
            let path = directory.appendingPathComponent("\(prefix)\(index).pb").path
            guard FileManager.default.fileExists(atPath: path) else { return result }
            result.append(try ModelLoader.loadTensor(contentsOf: path))
            index += 1
        }
    }

    /// nil when equal within rtol 1e-3, atol 1e-5 (NaN equals NaN; non-float types exactly).
    private func compare(_ actual: Tensor, _ expected: Tensor) -> String? {
        guard actual.elementType == expected.elementType else { return "type \(actual.elementType), expected \(expected.elementType)" }
        guard actual.shape == expected.shape else {
            return "shape \(describeShape(actual.shape)), expected \(describeShape(expected.shape))"
        }
        if actual.elementType.isFloatingPoint {
            for index in 0..<actual.elementCount {
                let a = actual.doubleValue(at: index) ?? .nan, e = expected.doubleValue(at: index) ?? .nan
                if a == e || (a.isNaN && e.isNaN) { continue }
                if !(abs(a - e) <= 1e-5 + 1e-3 * abs(e)) { return "element \(index): \(a), expected \(e)" }
            }
            return nil
        }
        let a = Data(bytes: actual.storage.bytes, count: actual.byteCount)
        let e = Data(bytes: expected.storage.bytes, count: expected.byteCount)
        return a == e ? nil : "values differ: \(actual.integers.map { "\($0.prefix(20))" } ?? "?") vs \(expected.integers.map { "\($0.prefix(20))" } ?? "?")"
    }

    // MARK: Execution

    /// Runs the model with the reference kernels (`optimizationLevel: .none`): the oracle the optimized paths are
    /// checked against elsewhere.
    private func execute(_ model: Model, feeds: [String: Tensor]) throws -> [String: Tensor] {
        let session = try InferenceSession(model: model, options: SessionOptions(threadCount: 1, optimizationLevel: .none))
        return try session.run(feeds)
    }
}
