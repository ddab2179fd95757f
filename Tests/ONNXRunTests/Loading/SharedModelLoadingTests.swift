// Loads the real exports in ../shared/models and checks their structure against what the onnx Python package
// reports, and their test-data tensors against the .npy copies beside them.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import XCTest

final class SharedModelLoadingTests: XCTestCase {
    /// What `onnx.load` reports for each model (measured once with onnx 1.23.2; see the report in the loader
    /// branch): node and initializer counts, parameters (sum of initializer element counts), op-type counts, and
    /// the graph's true inputs and outputs (initializers excluded) with symbolic dimensions by name.
    struct Expected {
        var irVersion: Int
        var opset: Int
        var nodeCount: Int
        var initializerCount: Int
        var parameterCount: Int
        var opTypeCounts: [String: Int]
        /// `name: dims` with symbolic dimensions by name, e.g. `input: batch,3,224,224`.
        var inputs: [String]
        var outputs: [String]
    }

    static let mobileNetOpTypes = ["Add": 10, "Clip": 35, "Constant": 70, "Conv": 52, "Flatten": 1, "Gemm": 1,
                                   "GlobalAveragePool": 1]

    static let expected: [String: Expected] = [
        "mobilenetv2-1.0-224-torch-op13": Expected(
            irVersion: 7, opset: 13, nodeCount: 170, initializerCount: 106, parameterCount: 3_487_816,
            opTypeCounts: mobileNetOpTypes,
            inputs: ["input: 1,3,224,224"],
            outputs: ["logits: 1,1000"]),
        "mobilenetv2-0.5-224-torch-op13-dynbatch": Expected(
            irVersion: 7, opset: 13, nodeCount: 170, initializerCount: 106, parameterCount: 1_959_408,
            opTypeCounts: mobileNetOpTypes,
            inputs: ["input: batch,3,224,224"],
            outputs: ["logits: batch,1000"]),
        "mobilenetv2-0.35-96-torch-op13": Expected(
            irVersion: 7, opset: 13, nodeCount: 170, initializerCount: 106, parameterCount: 1_670_088,
            opTypeCounts: mobileNetOpTypes,
            inputs: ["input: 1,3,96,96"],
            outputs: ["logits: 1,1000"]),
        "mobilenetv2-1.0-224-torch-dynamo-op20": Expected(
            irVersion: 10, opset: 20, nodeCount: 100, initializerCount: 110, parameterCount: 3_487_822,
            opTypeCounts: ["Add": 10, "Clip": 35, "Conv": 52, "Gemm": 1, "ReduceMean": 1, "Reshape": 1],
            inputs: ["input: 1,3,224,224"],
            outputs: ["logits: 1,1000"]),
        "efficientnet-lite0-imagenet-torch-op13": Expected(
            irVersion: 7, opset: 13, nodeCount: 432, initializerCount: 100, parameterCount: 4_631_000,
            opTypeCounts: ["Add": 9, "Cast": 17, "Clip": 33, "Concat": 17, "Constant": 202, "ConstantOfShape": 17,
                           "Conv": 49, "Flatten": 1, "Gemm": 1, "GlobalAveragePool": 1, "Pad": 17, "Reshape": 34,
                           "Slice": 17, "Transpose": 17],
            inputs: ["input: 1,3,224,224"],
            outputs: ["logits: Gemmlogits_dim_0,1000"]),
        "efficientnet-lite0-imagenet-torch-op13-padfused": Expected(
            irVersion: 7, opset: 13, nodeCount: 94, initializerCount: 102, parameterCount: 4_631_002,
            opTypeCounts: ["Add": 9, "Clip": 33, "Conv": 49, "Flatten": 1, "Gemm": 1, "GlobalAveragePool": 1],
            inputs: ["input: 1,3,224,224"],
            outputs: ["logits: 1,1000"]),
    ]

    func testEveryModelMatchesTheOnnxPackage() throws {
        let models = try TestPaths.requireShared("models")
        var checked = 0
        for (name, expected) in Self.expected.sorted(by: { $0.key < $1.key }) {
            let path = models.appendingPathComponent(name).appendingPathComponent("model.onnx").path
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let model = try ModelLoader.load(contentsOf: path)
            let graph = model.graph
            XCTAssertEqual(model.irVersion, expected.irVersion, name)
            XCTAssertEqual(model.opsetImports, ["": expected.opset], name)
            XCTAssertEqual(graph.nodes.count, expected.nodeCount, name)
            XCTAssertEqual(graph.initializers.count, expected.initializerCount, name)
            XCTAssertEqual(graph.initializers.values.reduce(0) { $0 + $1.elementCount }, expected.parameterCount, name)
            XCTAssertEqual(Dictionary(graph.nodes.map { ($0.opType, 1) }, uniquingKeysWith: +),
                           expected.opTypeCounts, name)
            XCTAssertEqual(graph.inputs.map(describe), expected.inputs, name)
            XCTAssertEqual(graph.outputs.map(describe), expected.outputs, name)
            XCTAssertEqual(graph.inputs.map { $0.type?.elementType }, [ElementType.float], name)
            XCTAssertEqual(Set(graph.nodes.map(\.name)).count, graph.nodes.count, "\(name): node names unique")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, "no model of the table is in ../shared/models")
    }

    private func describe(_ value: ValueInfo) -> String {
        "\(value.name): " + (value.type?.shape ?? []).map(\.description).joined(separator: ",")
    }

    /// Every `test_data_set_*/*.pb` loads with the values of the `.npy` beside it.
    func testTestDataTensorsEqualTheirNumpyCopies() throws {
        let models = try TestPaths.requireShared("models")
        var compared = 0
        let files = FileManager.default.enumerator(atPath: models.path)?.compactMap { $0 as? String } ?? []
        for relative in files.sorted() where relative.hasSuffix(".pb") && relative.contains("test_data_set_") {
            let path = models.appendingPathComponent(relative).path
            let (name, tensor) = try ModelLoader.loadTensor(contentsOf: path)
            let numpy = try NumpyFile.read(contentsOf: String(path.dropLast(3)) + ".npy")
            XCTAssertEqual(name, relative.contains("input") ? "input" : "logits", relative)
            XCTAssertEqual(tensor.elementType, .float, relative)
            XCTAssertEqual(tensor.shape, numpy.shape, relative)
            XCTAssertEqual(tensor.floats, numpy.floats, relative)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 0)
    }

    /// Load time and peak RSS of the reference MobileNetV2 (onnxruntime needs about 70 ms to create a session).
    func testMobileNetLoadTime() throws {
        let path = try TestPaths.requireShared("models/mobilenetv2-1.0-224-torch-op13/model.onnx").path
        _ = try ModelLoader.load(contentsOf: path)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            let model = try ModelLoader.load(contentsOf: path)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            XCTAssertEqual(model.graph.nodes.count, 170)
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("mobilenetv2-1.0 load: best of 5 \(String(format: "%.1f", best)) ms; process peak RSS "
              + "\(usage.ru_maxrss / 1024) MiB")
    }
}
