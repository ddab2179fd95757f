// Every kind of malformed or inconsistent model the loader must refuse, each with its typed error and message.

import ONNXRun
import XCTest

final class MalformedModelTests: XCTestCase {
    typealias P = ONNXProto

    /// Loads `bytes` expecting an ONNXRunError of `kind` whose description contains every one of `fragments`.
    private func assertRefused(_ bytes: [UInt8], _ kind: ONNXRunError.Kind, _ fragments: String...,
                               limits: LoadLimits = .default, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let model = try ModelLoader.load(bytes: bytes, source: "case.onnx", limits: limits)
            XCTFail("loaded a model with \(model.graph.nodes.count) nodes; expected \(kind)", file: file, line: line)
        } catch let error as ONNXRunError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            XCTAssertEqual(error.file, "case.onnx", "\(error)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(error.description.contains(fragment), "'\(fragment)' not in: \(error)",
                              file: file, line: line)
            }
        } catch {
            XCTFail("not an ONNXRunError: \(error)", file: file, line: line)
        }
    }

    func testTheBaseModelLoads() throws {
        let model = try ModelLoader.load(bytes: P.reluModel())
        XCTAssertEqual(model.graph.nodes.map(\.opType), ["Relu"])
        XCTAssertEqual(model.opsetImports, ["": 13])
    }

    // MARK: Not a model

    func testEmptyAndGarbageBytes() {
        assertRefused([], .malformedModel, "empty")
        assertRefused(Array("this is not a model at all".utf8), .malformedModel)
        assertRefused([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], .malformedModel, "varint")
        // A length prefix past the end, and a group wire type.
        assertRefused([0x3a, 0x40, 0x00], .malformedModel, "past the end")
        assertRefused([0x0b, 0x0c], .malformedModel, "wire type")
    }

    func testTruncatedModels() {
        let bytes = P.reluModel()
        // Cut inside the graph message: the framing is broken.
        assertRefused(Array(bytes.prefix(bytes.count - 9)), .malformedModel)
        // Cut at the top-level boundaries protobuf-c accepts: before the graph, before the opset import.
        assertRefused(P.model(nil), .malformedModel, "no graph")
        assertRefused(Array(bytes.prefix(2)), .malformedModel, "no graph")
        assertRefused(P.model(P.graph(nodes: [], outputs: [P.value("Y")]), opsets: []), .malformedModel,
                      "no opset_import")
        assertRefused(P.model(P.graph(nodes: [], inputs: [P.value("Y")], outputs: [P.value("Y")]), irVersion: nil),
                      .malformedModel, "no ir_version")
    }

    func testOpsetImports() {
        let graph = P.graph(nodes: [], inputs: [P.value("Y")], outputs: [P.value("Y")])
        assertRefused(P.model(graph, opsets: [("", 13), ("ai.onnx", 14)]), .invalidModel, "twice")
        assertRefused(P.model(graph, opsets: [("", 0)]), .invalidModel, "version")
    }

    func testDeepNestingIsRefusedBeforeProtobufC() {
        // Attribute.g -> Graph.node -> Node.attribute -> ... 10,000 levels: would overflow protobuf-c's stack.
        var inner = ProtobufWriter()
        for _ in 0..<3_000 {
            var attribute = ProtobufWriter()
            attribute.string(1, "body")
            attribute.message(6, inner)
            var node = ProtobufWriter()
            node.string(4, "If")
            node.message(5, attribute)
            var graph = ProtobufWriter()
            graph.message(1, node)
            inner = graph
        }
        assertRefused(P.model(inner), .malformedModel, "nest deeper")
    }

    // MARK: Tensors

    func testTensorBytesMustMatchTheShape() {
        let short = P.tensor(name: "w", dims: [2, 3], raw: P.floatBytes([1, 2, 3, 4, 5]))
        assertRefused(P.reluModel(initializers: [short]), .malformedModel, "initializer 'w'", "raw_data has 20 bytes",
                      "24")
        let typed = P.tensor(name: "w", dims: [4], floats: [1, 2, 3])
        assertRefused(P.reluModel(initializers: [typed]), .malformedModel, "initializer 'w'", "float_data has 3")
        let empty = P.tensor(name: "w", dims: [4])
        assertRefused(P.reluModel(initializers: [empty]), .malformedModel, "initializer 'w'", "0 values")
        let wrongField = P.tensor(name: "w", dims: [2], int64s: [1, 2])
        assertRefused(P.reluModel(initializers: [wrongField]), .malformedModel, "initializer 'w'", "int64_data")
        let both = P.tensor(name: "w", dims: [1], raw: P.floatBytes([1]), floats: [1])
        assertRefused(P.reluModel(initializers: [both]), .malformedModel, "both raw_data and float_data")
    }

    func testTensorTypeAndShapeChecks() {
        let negative = P.tensor(name: "w", dims: [2, -3], raw: [])
        assertRefused(P.reluModel(initializers: [negative]), .invalidModel, "initializer 'w'", "negative dimension")
        let overflow = P.tensor(name: "w", dims: [1 << 40, 1 << 40], raw: [])
        assertRefused(P.reluModel(initializers: [overflow]), .invalidModel, "initializer 'w'", "limit")
        let large = P.tensor(name: "w", dims: [1 << 20], raw: [])
        assertRefused(P.reluModel(initializers: [large]), .invalidModel, "initializer 'w'", "1024 bytes",
                      limits: LoadLimits(maxTensorBytes: 1024))
        let strings = P.tensor(name: "s", dims: [1], dataType: 8)
        assertRefused(P.reluModel(initializers: [strings]), .unsupported, "initializer 's'", "string")
        let float8 = P.tensor(name: "f8", dims: [1], dataType: 17, raw: [0])
        assertRefused(P.reluModel(initializers: [float8]), .unsupported, "float8e4m3fn")
        let untyped = P.tensor(name: "u", dims: [1], dataType: 0, raw: [0])
        assertRefused(P.reluModel(initializers: [untyped]), .malformedModel, "'u'", "no element type")
        let external = P.tensor(name: "e", dims: [1], external: [("location", "weights.bin")])
        assertRefused(P.reluModel(initializers: [external]), .invalidArgument, "'e'", "base directory")
    }

    func testModelWideLimits() {
        let first = P.tensor(name: "a", dims: [100], raw: [UInt8](repeating: 0, count: 400))
        let second = P.tensor(name: "b", dims: [100], raw: [UInt8](repeating: 0, count: 400))
        assertRefused(P.reluModel(initializers: [first, second]), .invalidModel, "initializer 'b'", "600 bytes in all",
                      limits: LoadLimits(maxTotalBytes: 600))
        let deep = P.tensor(name: "r", dims: [1, 1, 1, 1, 1], raw: P.floatBytes([1]))
        assertRefused(P.reluModel(initializers: [deep]), .invalidModel, "initializer 'r'", "rank 5",
                      limits: LoadLimits(maxRank: 4))
        assertRefused(P.reluModel(), .malformedModel, "nest deeper than 3", limits: LoadLimits(maxMessageDepth: 3))
    }

    func testAttributeTensorErrorsNameTheNode() {
        let value = P.attribute("value", type: 4) { $0.message(5, P.tensor(name: "", dims: [3], floats: [1])) }
        let constant = P.node("Constant", [], ["Y"], name: "const", attributes: [value])
        assertRefused(P.reluModel(nodes: [constant]), .malformedModel, "node 'const' (Constant)", "attribute 'value'")
        let twice = P.attribute("alpha", type: 1) { $0.float(2, 1) }
        let relu = P.node("LeakyRelu", ["X"], ["Y"], name: "leaky", attributes: [twice, twice])
        assertRefused(P.reluModel(nodes: [relu]), .invalidModel, "node 'leaky'", "'alpha' is given twice")
    }

    func testDynamicDimensionsAsExportersWriteThemAreUnknown() throws {
        // dim_value -1 or 0, and dim_param "" or "?": onnxruntime reads each as an unknown dimension.
        let dynamic = P.model(P.graph(nodes: [P.node("Relu", ["X"], ["Y"])],
                                      inputs: [P.value("X", dims: [-1, 0, "?", "", 2, "batch"])],
                                      outputs: [P.value("Y", dims: [-1, 0, "?", "", 2, "batch"])]))
        let model = try ModelLoader.load(bytes: dynamic)
        let expected: [ONNXRun.Dimension] = [.unknown, .unknown, .unknown, .unknown, .fixed(2), .symbolic("batch")]
        XCTAssertEqual(model.graph.inputs[0].type?.shape, expected)
        XCTAssertEqual(model.graph.outputs[0].type?.shape, expected)
        let session = try InferenceSession(model: model)
        let input = try Tensor(shape: [1, 3, 1, 1, 2, 1], floats: [-1, 2, -3, 4, -5, 6])
        XCTAssertEqual(try session.run(["X": input])["Y"]?.floats, [0, 2, 0, 4, 0, 6])
    }

    func testDeclaredShapes() {
        let untyped = P.model(P.graph(nodes: [P.node("Relu", ["X"], ["Y"])],
                                      inputs: [P.value("X", elementType: 0)], outputs: [P.value("Y")]))
        assertRefused(untyped, .invalidModel, "graph input 'X'", "no element type")
    }

    // MARK: Graph structure

    func testDuplicateProducers() {
        let twoProducers = [P.node("Relu", ["X"], ["Y"], name: "a"), P.node("Neg", ["X"], ["Y"], name: "b")]
        assertRefused(P.reluModel(nodes: twoProducers), .invalidModel, "node 'b' (Neg)", "'Y'", "node 'a'")
        let weight = P.tensor(name: "Y", dims: [2], floats: [1, 2])
        assertRefused(P.reluModel(initializers: [weight]), .invalidModel, "node 'relu'", "'Y'", "an initializer")
        let w = P.tensor(name: "w", dims: [1], floats: [1])
        assertRefused(P.reluModel(initializers: [w, w]), .invalidModel, "duplicate initializer 'w'")
        let overwritesInput = [P.node("Relu", ["X"], ["X"], name: "self")]
        assertRefused(P.reluModel(nodes: overwritesInput), .invalidModel, "node 'self'", "a graph input")
        let inputTwice = P.model(P.graph(nodes: [P.node("Relu", ["X"], ["Y"])],
                                         inputs: [P.value("X"), P.value("X")], outputs: [P.value("Y")]))
        assertRefused(inputTwice, .invalidModel, "graph input 'X' is declared twice")
    }

    func testDanglingValues() {
        let missingInput = [P.node("Add", ["X", "nowhere"], ["Y"], name: "add")]
        assertRefused(P.reluModel(nodes: missingInput), .invalidModel, "node 'add' (Add)", "'nowhere'",
                      "not produced")
        assertRefused(P.reluModel(outputs: [P.value("Y"), P.value("Z")]), .invalidModel, "graph output 'Z'",
                      "not produced")
        assertRefused(P.reluModel(outputs: []), .invalidModel, "no outputs")
    }

    func testCyclesAreRefused() {
        let cycle = [P.node("Add", ["X", "b"], ["a"], name: "first"), P.node("Relu", ["a"], ["b"], name: "second"),
                     P.node("Relu", ["a"], ["Y"], name: "last")]
        assertRefused(P.reluModel(nodes: cycle), .invalidModel, "cycle", "'first'", "'second'")
        let selfLoop = [P.node("Add", ["X", "Y"], ["Y"], name: "loop")]
        assertRefused(P.reluModel(nodes: selfLoop), .invalidModel, "cycle", "'loop'")
    }

    // MARK: What is accepted and normalized

    func testNodesAreStablySortedTopologically() throws {
        // File order: c(needs b) a b d(needs a); a valid order keeping file order where possible: a b c d.
        let nodes = [P.node("Relu", ["b"], ["c"], name: "c"), P.node("Relu", ["X"], ["a"], name: "a"),
                     P.node("Relu", ["a"], ["b"], name: "b"), P.node("Add", ["a", "c"], ["Y"], name: "d")]
        let model = try ModelLoader.load(bytes: P.reluModel(nodes: nodes))
        XCTAssertEqual(model.graph.nodes.map(\.name), ["a", "b", "c", "d"])
        let independent = [P.node("Relu", ["X"], ["p"], name: "p"), P.node("Relu", ["X"], ["q"], name: "q"),
                           P.node("Add", ["p", "q"], ["Y"], name: "sum")]
        XCTAssertEqual(try ModelLoader.load(bytes: P.reluModel(nodes: independent)).graph.nodes.map(\.name),
                       ["p", "q", "sum"])
    }

    func testNodeNamesAreMadeUpAndUnique() throws {
        let nodes = [P.node("Relu", ["X"], ["a"]), P.node("Relu", ["a"], ["b"], name: "Relu_0"),
                     P.node("Relu", ["b"], ["c"], name: "dup"), P.node("Relu", ["c"], ["Y"], name: "dup")]
        let names = try ModelLoader.load(bytes: P.reluModel(nodes: nodes)).graph.nodes.map(\.name)
        XCTAssertEqual(names.count, Set(names).count, "\(names)")
        XCTAssertEqual(names[1], "Relu_0")
        XCTAssertEqual(names[2], "dup")
        XCTAssertTrue(names[0].hasPrefix("Relu_0_"), "\(names)")
        XCTAssertEqual(names[3], "dup_3")
    }

    func testOptionalInputsAndNonUTF8Names() throws {
        let invalidUTF8: [UInt8] = [0xff, 0xfe, 0x41]
        var node = ProtobufWriter()
        node.string(1, "X")
        node.string(1, "")
        node.string(2, "Y")
        node.data(3, invalidUTF8)
        node.string(4, "Clip")
        let model = try ModelLoader.load(bytes: P.reluModel(nodes: [node]))
        XCTAssertEqual(model.graph.nodes[0].inputs, ["X", ""])
        XCTAssertEqual(model.graph.nodes[0].name, String(decoding: invalidUTF8, as: UTF8.self))
    }
}
