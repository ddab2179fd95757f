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

    /// A real model cut anywhere, or with its opset import removed, is refused (never a crash or a model).
    func testTruncatedRealModelIsRefused() throws {
        let path = try TestPaths.requireShared("models/mobilenetv2-0.35-96-torch-op13/model.onnx").path
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var generator = SplitMix64(seed: 11)
        let cuts = [1, 2, 10, 100, bytes.count - 1] + (0..<60).map { _ in Int(generator.next() % UInt64(bytes.count)) }
        for cut in cuts {
            XCTAssertThrowsError(try ModelLoader.load(bytes: Array(bytes.prefix(cut)), source: "cut.onnx"),
                                 "cut at \(cut)") { error in
                XCTAssertEqual((error as? ONNXRunError)?.file, "cut.onnx", "\(error)")
            }
        }
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

    /// Load time and peak memory of the reference MobileNetV2 (onnxruntime needs about 70 ms to create a session).
    /// Peak memory is the rise of the process's high-water mark over its resident size before loading (Linux:
    /// writing 5 to /proc/self/clear_refs resets the mark). Weights are 13.4 MiB; the file is 13.6 MiB.
    func testMobileNetLoadTimeAndPeakMemory() throws {
        let path = try TestPaths.requireShared("models/mobilenetv2-1.0-224-torch-op13/model.onnx").path
        let resetPeak = Self.resetPeakMemory()
        let before = Self.memoryStatus("VmRSS")
        var model: Model? = try ModelLoader.load(contentsOf: path)
        let peak = Self.memoryStatus("VmHWM")
        XCTAssertEqual(model?.graph.nodes.count, 170)
        model = nil
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            let loaded = try ModelLoader.load(contentsOf: path)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            XCTAssertEqual(loaded.graph.nodes.count, 170)
        }
        print("mobilenetv2-1.0 load: best of 5 \(String(format: "%.1f", best)) ms; "
              + (resetPeak ? "peak RSS rise while loading \(String(format: "%.1f", Double(peak - before) / 1024)) MiB "
                 + "(RSS before \(before / 1024) MiB)" : "peak RSS not measurable here"))
    }

    private static func resetPeakMemory() -> Bool {
        let descriptor = open("/proc/self/clear_refs", O_WRONLY)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return write(descriptor, "5", 1) == 1
    }

    /// A `/proc/self/status` field in KiB (0 when unavailable).
    private static func memoryStatus(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}
