// Runs one case folder in the ONNX backend-test layout (model.onnx + test_data_set_*/input_<i>.pb, output_<i>.pb)
// through InferenceSession with the reference kernels, and compares the outputs.

import Foundation
import XCTest
@testable import ONNXRun

enum BackendCase {
    enum Outcome {
        case passed
        case failed(String)
        case skipped(String)
    }

    static func run(_ folder: URL, relativeTolerance: Double, absoluteTolerance: Double) -> Outcome {
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
                    if let mismatch = compare(actual, output.tensor, relativeTolerance, absoluteTolerance) { return .failed("\(dataSet): output '\(name)': \(mismatch)") }
                }
            } catch let error as ONNXRunError where error.kind == .unsupported {
                return .skipped(error.description)
            } catch {
                return .failed("\(dataSet): \(error)")
            }
        }
        return .passed
    }

    static func numberedTensors(_ directory: URL, prefix: String) throws -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        var index = 0
        while true {
            let path = directory.appendingPathComponent("\(prefix)\(index).pb").path
            guard FileManager.default.fileExists(atPath: path) else { return result }
            result.append(try ModelLoader.loadTensor(contentsOf: path))
            index += 1
        }
    }

    /// nil when equal within the tolerances (NaN equals NaN; non-float types exactly).
    private static func compare(_ actual: Tensor, _ expected: Tensor, _ relativeTolerance: Double,
                                _ absoluteTolerance: Double) -> String? {
        guard actual.elementType == expected.elementType else { return "type \(actual.elementType), expected \(expected.elementType)" }
        guard actual.shape == expected.shape else {
            return "shape \(describeShape(actual.shape)), expected \(describeShape(expected.shape))"
        }
        if actual.elementType.isFloatingPoint {
            for index in 0..<actual.elementCount {
                let a = actual.doubleValue(at: index) ?? .nan, e = expected.doubleValue(at: index) ?? .nan
                if a == e || (a.isNaN && e.isNaN) { continue }
                if !(abs(a - e) <= absoluteTolerance + relativeTolerance * abs(e)) { return "element \(index): \(a), expected \(e)" }
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
    private static func execute(_ model: Model, feeds: [String: Tensor]) throws -> [String: Tensor] {
        let session = try InferenceSession(model: model, options: SessionOptions(threadCount: 1, optimizationLevel: .none))
        return try session.run(feeds)
    }
}
