// Names with quotes, backslashes, newlines, braces and non-ASCII survive inspect's text, JSON and DOT and run's files.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import XCTest

final class WeirdNamesTests: XCTestCase {
    static let inputName = "in \"quoted\" \\back\\slash\nnew line ünïcødé"
    static let nodeName = "relu \"x\"\t{ -> }"
    static let outputName = "../out;-> \"y\" /etc"
    static let graphName = "graph \"g\" \\ {}"

    /// A one-Relu model (opset 13) with hostile names, written as protobuf bytes by hand.
    func makeModel() throws -> URL {
        let dimensions = ProtobufWriter.message(2, ProtobufWriter.message(1, ProtobufWriter.varint(1, 2))
                                                    + ProtobufWriter.message(1, ProtobufWriter.string(2, "n\"\\")))
        let tensorType = ProtobufWriter.message(1, ProtobufWriter.varint(1, 1) + dimensions)
        func valueInfo(_ field: Int, _ name: String) -> [UInt8] {
            ProtobufWriter.message(field, ProtobufWriter.string(1, name) + ProtobufWriter.message(2, tensorType))
        }
        let node = ProtobufWriter.message(1, ProtobufWriter.string(1, Self.inputName)
                                              + ProtobufWriter.string(2, Self.outputName)
                                              + ProtobufWriter.string(3, Self.nodeName)
                                              + ProtobufWriter.string(4, "Relu"))
        let graph = node + ProtobufWriter.string(2, Self.graphName) + valueInfo(11, Self.inputName)
            + valueInfo(12, Self.outputName)
        let model = ProtobufWriter.varint(1, 8) + ProtobufWriter.string(2, "weird \"producer\"")
            + ProtobufWriter.message(7, graph) + ProtobufWriter.message(8, ProtobufWriter.varint(2, 13))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-weird-\(UUID()).onnx")
        try Data(model).write(to: url)
        return url
    }

    func testJSONRoundTripsTheNames() throws {
        let model = try makeModel()
        defer { try? FileManager.default.removeItem(at: model) }
        let result = try CommandLineProcess.run(["inspect", "--json", model.path])
        XCTAssertEqual(result.status, 0, result.standardError)
        let object = try XCTUnwrap(try CommandLineProcess.json(result) as? [String: Any])
        XCTAssertEqual(object["graph_name"] as? String, Self.graphName)
        let node = try XCTUnwrap((object["nodes"] as? [[String: Any]])?.first)
        XCTAssertEqual(node["name"] as? String, Self.nodeName)
        XCTAssertEqual(node["inputs"] as? [String], [Self.inputName])
        XCTAssertEqual(node["outputs"] as? [String], [Self.outputName])
        let input = try XCTUnwrap((object["inputs"] as? [[String: Any]])?.first)
        XCTAssertEqual((input["shape"] as? [Any])?.last as? String, "n\"\\")
    }

    func testTextKeepsOneLinePerNode() throws {
        let model = try makeModel()
        defer { try? FileManager.default.removeItem(at: model) }
        let result = try CommandLineProcess.run(["inspect", model.path])
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = result.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        let nodesHeader = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("Nodes (1):") })
        XCTAssertTrue(lines[nodesHeader + 1].contains("Relu"), String(lines[nodesHeader + 1]))
        XCTAssertTrue(lines[nodesHeader + 2].hasPrefix("Op counts:"), String(lines[nodesHeader + 2]))
    }

    func testDotRendersWithGraphviz() throws {
        let model = try makeModel()
        defer { try? FileManager.default.removeItem(at: model) }
        let result = try CommandLineProcess.run(["inspect", "--dot", model.path])
        XCTAssertEqual(result.status, 0, result.standardError)
        guard let dot = ["/usr/bin/dot", "/usr/local/bin/dot"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("Graphviz `dot` is not installed") }
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-weird-\(UUID()).dot")
        try result.standardOutput.write(to: source, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: source) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dot)
        process.arguments = ["-Tsvg", "-o", "/dev/null", source.path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, result.standardOutput)
    }

    /// run writes the output under a file-safe name inside the output folder, never outside it.
    func testOutputFileNameIsSafe() throws {
        let model = try makeModel()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-weird-\(UUID())")
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-weird-\(UUID()).npy")
        defer {
            for url in [model, directory, input] { try? FileManager.default.removeItem(at: url) }
        }
        try NumpyFile.write(try Tensor(shape: [2, 3], floats: [-1, 2, -3, 4, -5, 6]), to: input.path)
        let result = try CommandLineProcess.run(["run", model.path, "--input", input.path,
                                                 "--output-dir", directory.path])
        XCTAssertEqual(result.status, 0, result.standardError)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertEqual(files, ["_._out_-___y___etc.npy"])
        let output = try NumpyFile.read(contentsOf: directory.appendingPathComponent(files[0]).path)
        XCTAssertEqual(output.floats, [0, 2, 0, 4, 0, 6])
        XCTAssertTrue(result.standardOutput.contains("argmax per row [1,2]"), result.standardOutput)
    }
}

/// Just enough protobuf encoding to write small ONNX models by hand.
enum ProtobufWriter {
    static func rawVarint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value != 0
        return bytes
    }

    static func varint(_ field: Int, _ value: Int) -> [UInt8] {
        rawVarint(UInt64(field << 3)) + rawVarint(UInt64(value))
    }

    static func message(_ field: Int, _ body: [UInt8]) -> [UInt8] {
        rawVarint(UInt64(field << 3 | 2)) + rawVarint(UInt64(body.count)) + body
    }

    static func string(_ field: Int, _ text: String) -> [UInt8] {
        message(field, Array(text.utf8))
    }
}
