// A model with ops onnxrun lacks: inspect still describes the graph and lists them; run refuses with one line.

import Foundation
import ONNXRunTestSupport
import XCTest

final class UnsupportedOperatorTests: XCTestCase {
    /// x -> Relu -> FancyOp (default domain, opset 13) -> com.example.Magic (opset 1) -> y.
    func makeModel() throws -> URL {
        let tensorType = ProtobufWriter.message(1, ProtobufWriter.varint(1, 1)
            + ProtobufWriter.message(2, ProtobufWriter.message(1, ProtobufWriter.varint(1, 4))))
        func valueInfo(_ field: Int, _ name: String) -> [UInt8] {
            ProtobufWriter.message(field, ProtobufWriter.string(1, name) + ProtobufWriter.message(2, tensorType))
        }
        func node(_ input: String, _ output: String, _ name: String, _ op: String, domain: String = "") -> [UInt8] {
            ProtobufWriter.message(1, ProtobufWriter.string(1, input) + ProtobufWriter.string(2, output)
                                       + ProtobufWriter.string(3, name) + ProtobufWriter.string(4, op)
                                       + (domain.isEmpty ? [] : ProtobufWriter.string(7, domain)))
        }
        let graph = node("x", "a", "relu", "Relu") + node("a", "b", "fancy", "FancyOp")
            + node("b", "y", "magic", "Magic", domain: "com.example")
            + ProtobufWriter.string(2, "g") + valueInfo(11, "x") + valueInfo(12, "y")
        let model = ProtobufWriter.varint(1, 8) + ProtobufWriter.message(7, graph)
            + ProtobufWriter.message(8, ProtobufWriter.varint(2, 13))
            + ProtobufWriter.message(8, ProtobufWriter.string(1, "com.example") + ProtobufWriter.varint(2, 1))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-unsupported-\(UUID()).onnx")
        try Data(model).write(to: url)
        return url
    }

    func testInspectListsTheUnsupportedOps() throws {
        let model = try makeModel()
        defer { try? FileManager.default.removeItem(at: model) }
        let text = try CommandLineProcess.run(["inspect", model.path])
        XCTAssertEqual(text.status, 0, text.standardError)
        XCTAssertTrue(text.standardOutput.contains("Nodes (3):"), text.standardOutput)
        XCTAssertTrue(text.standardOutput.contains("Unsupported ops: FancyOp (opset 13), com.example.Magic (opset 1)"),
                      text.standardOutput)
        let json = try CommandLineProcess.run(["inspect", "--json", model.path])
        XCTAssertEqual(json.status, 0, json.standardError)
        let object = try XCTUnwrap(try CommandLineProcess.json(json) as? [String: Any])
        XCTAssertEqual(object["unsupported_ops"] as? [String], ["FancyOp (opset 13)", "com.example.Magic (opset 1)"])
        let nodes = try XCTUnwrap(object["nodes"] as? [[String: Any]])
        XCTAssertEqual(nodes.compactMap { $0["supported"] as? Bool }, [true, false, false])
        XCTAssertEqual(object["opsets"] as? [String: Int], ["ai.onnx": 13, "com.example": 1])
    }

    func testRunRefusesWithOneLine() throws {
        let model = try makeModel()
        defer { try? FileManager.default.removeItem(at: model) }
        assertCleanFailure(try CommandLineProcess.run(["run", model.path]), mentioning: ["FancyOp"])
        assertCleanFailure(try CommandLineProcess.run(["bench", model.path]), mentioning: ["FancyOp"])
    }
}
