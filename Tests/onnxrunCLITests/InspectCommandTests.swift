// `onnxrun inspect`: text, JSON (checked against counts onnx's Python API gives) and DOT, and no crash on any backend model.

import Foundation
import ONNXRunTestSupport
import XCTest

final class InspectCommandTests: XCTestCase {
    /// MobileNetV2 width 0.35 at 96x96, symbolic batch (models/, committed): counts from `onnx.load` in Python.
    static let mobileNet = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
    static let mobileNetOpCounts = ["Conv": 52, "Constant": 70, "Clip": 35, "Add": 10, "GlobalAveragePool": 1,
                                    "Flatten": 1, "Gemm": 1]
    static let mobileNetParameters = 1_670_088
    /// Conv: output elements x weight.shape[1...]; Gemm: output elements x K; batch 1 (onnx shape inference).
    static let mobileNetMACs = 11_934_128

    // MARK: - Text

    func testTextListsHeaderNodesAndTotals() throws {
        let result = try CommandLineProcess.run(["inspect", Self.mobileNet])
        XCTAssertEqual(result.status, 0, result.standardError)
        let text = result.standardOutput
        XCTAssertTrue(text.contains("IR version 7, opsets: ai.onnx 13"), text)
        XCTAssertTrue(text.contains("producer: pytorch 2.15.0"), text)
        XCTAssertTrue(text.contains("input: float[batch,3,96,96]"), text)
        XCTAssertTrue(text.contains("metadata: onnxrun.preprocess.channel_order, onnxrun.preprocess.crop"), text)
        XCTAssertTrue(text.contains("Nodes (170):"), text)
        XCTAssertTrue(text.contains("Totals: 170 nodes, 1,670,088 parameters"), text)
        // The first convolution: a strided 3x3 stem.
        let convolutionLines = nodeLines(text, op: "Conv")
        XCTAssertEqual(convolutionLines.count, 52)
        XCTAssertTrue(convolutionLines.first?.contains("kernel_shape=[3,3]") ?? false, "\(convolutionLines.first ?? "")")
        XCTAssertTrue(convolutionLines.first?.contains("strides=[2,2]") ?? false)
        // Clip bounds come from Constant nodes in this export.
        let clipLines = nodeLines(text, op: "Clip")
        XCTAssertEqual(clipLines.count, 35)
        XCTAssertTrue(clipLines.allSatisfy { $0.contains("min=0") && $0.contains("max=6") }, "\(clipLines.first ?? "")")
    }

    /// A QOperator model (onnxruntime's quantize_static): the summary names the format, counts the nodes as
    /// `onnx.load` does, and gives each tensor's scale and zero point — per channel for the weights.
    func testQuantizationSummary() throws {
        let model = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96-qoperator/model.onnx").path
        let text = try CommandLineProcess.run(["inspect", model]).standardOutput
        XCTAssertTrue(text.contains("Quantization: QOperator; nodes: QLinearConv 52, QLinearAdd 10, DequantizeLinear 1, "
                                        + "QGemm 1, QLinearGlobalAveragePool 1, QuantizeLinear 1; 119 quantized tensors "
                                        + "(66 per tensor, 53 per channel)"), text)
        XCTAssertTrue(text.contains("  input_quantized: uint8 scale 0.018322667 zero point 111"), text)
        XCTAssertTrue(text.contains("  onnx::Conv_538_quantized: int8 per channel (axis 0, 16) scale 0.001878184...0.005456513 "
                                        + "zero point 0"), text)
        let json = try CommandLineProcess.run(["inspect", "--json", model]).standardOutput
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let quantization = try XCTUnwrap(object["quantization"] as? [String: Any])
        XCTAssertEqual(quantization["format"] as? String, "QOperator")
        let tensors = try XCTUnwrap(quantization["tensors"] as? [[String: Any]])
        let weights = try XCTUnwrap(tensors.first { $0["name"] as? String == "onnx::Conv_538_quantized" })
        XCTAssertEqual((weights["scale"] as? [Double])?.count, 16)
        XCTAssertEqual((weights["scale"] as? [Double])?.first ?? 0, 0.0042148795910179615, accuracy: 1e-9)
        XCTAssertEqual(weights["axis"] as? Int, 0)
        // A float model has no quantization section.
        XCTAssertFalse(try CommandLineProcess.run(["inspect", Self.mobileNet]).standardOutput.contains("Quantization:"))
    }

    /// Node lines (`  12  Conv  name  inputs -> outputs ...`) of one op type.
    private func nodeLines(_ text: String, op: String) -> [Substring] {
        text.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", maxSplits: 2)
            return fields.count == 3 && Int(fields[0]) != nil && fields[1] == op
        }
    }

    // MARK: - JSON

    func testJSONHasCountsAndNodes() throws {
        let result = try CommandLineProcess.run(["inspect", "--json", Self.mobileNet])
        XCTAssertEqual(result.status, 0, result.standardError)
        let object = try XCTUnwrap(try CommandLineProcess.json(result) as? [String: Any])
        XCTAssertEqual(object["ir_version"] as? Int, 7)
        XCTAssertEqual(object["opsets"] as? [String: Int], ["ai.onnx": 13])
        XCTAssertEqual(object["op_counts"] as? [String: Int], Self.mobileNetOpCounts)
        XCTAssertEqual(object["parameters"] as? Int, Self.mobileNetParameters)
        XCTAssertEqual(object["macs"] as? Int, Self.mobileNetMACs)
        let nodes = try XCTUnwrap(object["nodes"] as? [[String: Any]])
        XCTAssertEqual(nodes.count, 170)
        for node in nodes {
            XCTAssertNotNil(node["name"] as? String)
            XCTAssertNotNil(node["op"] as? String)
            XCTAssertNotNil(node["inputs"] as? [String])
            XCTAssertNotNil(node["outputs"] as? [String])
        }
        let inputs = try XCTUnwrap(object["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.count, 1)
        let inputShape = try XCTUnwrap(inputs.first?["shape"] as? [Any])
        XCTAssertEqual(inputShape.first as? String, "batch")
        XCTAssertEqual(inputShape.dropFirst().compactMap { $0 as? Int }, [3, 96, 96])
        let outputs = try XCTUnwrap(object["outputs"] as? [[String: Any]])
        let outputShape = try XCTUnwrap(outputs.first?["shape"] as? [Any])
        XCTAssertEqual(outputShape.count, 2)
        XCTAssertEqual(outputShape.last as? Int, 1000)
        XCTAssertEqual((object["metadata"] as? [String: String])?["onnxrun.preprocess.crop"], "96")
        let firstConvolution = try XCTUnwrap(nodes.first { $0["op"] as? String == "Conv" })
        let attributes = try XCTUnwrap(firstConvolution["attributes"] as? [String: Any])
        XCTAssertEqual(attributes["kernel_shape"] as? [Int], [3, 3])
        XCTAssertEqual(attributes["strides"] as? [Int], [2, 2])
        // Shapes stay symbolic; the stem's MACs are 16 x 48 x 48 outputs x 3 x 3 x 3 taps.
        XCTAssertEqual(firstConvolution["macs"] as? Int, 16 * 48 * 48 * 27)
        let stemShape = try XCTUnwrap((firstConvolution["output_shapes"] as? [[Any]])?.first)
        XCTAssertEqual(stemShape.first as? String, "batch")
        XCTAssertEqual(stemShape.dropFirst().compactMap { $0 as? Int }, [16, 48, 48])
    }

    // MARK: - DOT

    func testDotIsAGraphvizDigraph() throws {
        let result = try CommandLineProcess.run(["inspect", "--dot", Self.mobileNet])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.hasPrefix("digraph "), String(result.standardOutput.prefix(200)))
        XCTAssertTrue(result.standardOutput.hasSuffix("}\n"))
        try assertRendersWithGraphviz(result.standardOutput)
    }

    /// `dot -Tsvg` accepts the output (skipped where Graphviz is not installed).
    private func assertRendersWithGraphviz(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dot = ["/usr/bin/dot", "/usr/local/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let dot else { throw XCTSkip("Graphviz `dot` is not installed: skipping the rendering check") }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-\(UUID().uuidString).dot")
        try source.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dot)
        process.arguments = ["-Tsvg", "-o", "/dev/null", input.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "dot -Tsvg rejected the output", file: file, line: line)
    }

    // MARK: - Bad files

    func testMissingAndGarbageFilesFailWithOneLine() throws {
        assertCleanFailure(try CommandLineProcess.run(["inspect", "/nonexistent/model.onnx"]),
                           mentioning: ["/nonexistent/model.onnx"])
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-garbage.onnx")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        assertCleanFailure(try CommandLineProcess.run(["inspect", garbage.path]), mentioning: [garbage.path])
        assertCleanFailure(try CommandLineProcess.run(["inspect", "--json", garbage.path]))
    }

    // MARK: - Every backend-test model

    /// Every `model.onnx` of the ONNX backend tests: described, or refused with an error line; never a crash.
    /// All files go to one process (inspect accepts several models) to keep the test quick.
    func testEveryBackendModelInspectsWithoutCrashing() throws {
        let root = try TestPaths.requireShared("onnx-backend-tests")
        let models = try backendModels(under: root)
        XCTAssertGreaterThan(models.count, 1000)
        for arguments in [["inspect"], ["inspect", "--json"], ["inspect", "--dot"]] {
            let result = try CommandLineProcess.run(arguments + models)
            if result.crashed {
                let culprit = try firstCrashing(arguments, models)
                XCTFail("\(arguments.joined(separator: " ")) crashed on \(culprit ?? "?")")
                continue
            }
            XCTAssertTrue([0, 1].contains(result.status), "status \(result.status)")
            for line in result.errorLines {
                XCTAssertTrue(line.hasPrefix("onnxrun: error: "), "stray stderr line: \(line)")
            }
            if arguments.contains("--json") {
                let described = try XCTUnwrap(try CommandLineProcess.json(result) as? [[String: Any]])
                XCTAssertEqual(described.count + result.errorLines.count, models.count)
            } else if !arguments.contains("--dot") {
                let described = result.standardOutput.split(separator: "\n").filter { $0.hasPrefix("Model: ") }
                XCTAssertEqual(described.count + result.errorLines.count, models.count)
            }
        }
    }

    private func backendModels(under root: URL) throws -> [String] {
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        var models: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            if url.lastPathComponent == "model.onnx" { models.append(url.path) }
        }
        return models.sorted()
    }

    /// Finds the first model that crashes on its own (only after the batch crashed).
    private func firstCrashing(_ arguments: [String], _ models: [String]) throws -> String? {
        var remaining = models[...]
        while remaining.count > 1 {
            let half = remaining.prefix(remaining.count / 2)
            remaining = try CommandLineProcess.run(arguments + half).crashed ? half : remaining.dropFirst(half.count)
        }
        return remaining.first
    }
}
