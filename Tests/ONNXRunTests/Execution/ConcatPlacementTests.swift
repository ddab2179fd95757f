// The planner's placement of Concat inputs in the Concat's output buffer: which values it places (and where), which
// it leaves alone and why, and that the placed runs agree with the reference kernels.

import XCTest

@testable import ONNXRun

extension OptimizerTests {
    /// The plan of `graph`'s optimized session for its declared input shapes.
    private func plan(_ graph: Graph) throws -> ExecutionPlan {
        let model = Model(irVersion: 8, opsetImports: ["": 13], graph: graph, source: "placement-test")
        let feeds = try Dictionary(uniqueKeysWithValues: graph.inputs.map {
            ($0.name, try tensor($0.type?.fixedShape ?? [], seed: 1))
        })
        return try InferenceSession(model: model).plan(for: feeds)
    }

    /// The step computing `value` (a fused step is named by its last node's output).
    private func step(computing value: String, in plan: ExecutionPlan, file: StaticString = #filePath,
                      line: UInt = #line) throws -> ExecutionStep {
        try XCTUnwrap(plan.steps.first { $0.node.node.outputs.contains(value) }, "no step computes \(value)",
                      file: file, line: line)
    }

    private func normalization(_ input: String, _ output: String, channels: Int) throws -> (nodes: [Node], constants: [String: Tensor]) {
        let names = ["scale", "shift", "mean", "var"].map { "\(output)_\($0)" }
        let constants: [String: Tensor] = [
            names[0]: try tensor([channels], seed: UInt64(channels) * 7 + 1),
            names[1]: try tensor([channels], seed: UInt64(channels) * 7 + 2),
            names[2]: try tensor([channels], seed: UInt64(channels) * 7 + 3),
            names[3]: try Tensor(shape: [channels], floats: (0..<channels).map { 0.5 + Float($0) * 0.25 }),
        ]
        let nodes = [Node(name: "\(output)_bn", opType: "BatchNormalization", inputs: [input] + names,
                          outputs: ["\(output)_normalized"]),
                     Node(name: "\(output)_relu", opType: "Relu", inputs: ["\(output)_normalized"], outputs: [output])]
        return (nodes, constants)
    }

    /// DenseNet's block: each layer reads the concat of the pooled input and every earlier layer's features; the
    /// block ends in the concat of all. Every feature map is written once into the block concat's buffer, the
    /// layers' concats are prefixes of it, and no concat copies anything.
    func testDenseBlockConcatsPlaceEveryFeatureMapOnce() throws {
        var constants: [String: Tensor] = ["w0": try tensor([4, 3, 3, 3], seed: 200)]
        var nodes = [Node(name: "conv0", opType: "Conv", inputs: ["x", "w0"], outputs: ["c0"],
                          attributes: ["pads": .ints([1, 1, 1, 1])]),
                     Node(name: "relu0", opType: "Relu", inputs: ["c0"], outputs: ["r0"]),
                     Node(name: "pool0", opType: "MaxPool", inputs: ["r0"], outputs: ["p"],
                          attributes: ["kernel_shape": .ints([3, 3]), "pads": .ints([1, 1, 1, 1])])]
        var features = ["p"], channels = 4
        for layer in 1...2 {
            let concat = "cat\(layer)"
            nodes.append(Node(name: concat, opType: "Concat", inputs: features, outputs: [concat],
                              attributes: ["axis": .int(1)]))
            let norm = try normalization(concat, "n\(layer)", channels: channels)
            nodes += norm.nodes
            constants.merge(norm.constants) { $1 }
            constants["wa\(layer)"] = try tensor([6, channels, 1, 1], seed: UInt64(210 + layer))
            constants["wb\(layer)"] = try tensor([3, 6, 3, 3], seed: UInt64(220 + layer))
            nodes += [Node(name: "conva\(layer)", opType: "Conv", inputs: ["n\(layer)", "wa\(layer)"],
                           outputs: ["a\(layer)"]),
                      Node(name: "relua\(layer)", opType: "Relu", inputs: ["a\(layer)"], outputs: ["ra\(layer)"]),
                      Node(name: "convb\(layer)", opType: "Conv", inputs: ["ra\(layer)", "wb\(layer)"],
                           outputs: ["f\(layer)"], attributes: ["pads": .ints([1, 1, 1, 1])])]
            features.append("f\(layer)")
            channels += 3
        }
        nodes.append(Node(name: "block", opType: "Concat", inputs: features, outputs: ["block"],
                          attributes: ["axis": .int(1)]))
        let norm = try normalization("block", "n3", channels: channels)
        nodes += norm.nodes
        constants.merge(norm.constants) { $1 }
        constants["w3"] = try tensor([5, channels, 1, 1], seed: 230)
        nodes.append(Node(name: "transition", opType: "Conv", inputs: ["n3", "w3"], outputs: ["y"]))
        let graph = Graph(name: "dense", inputs: [info("x", [1, 3, 6, 7])], outputs: [info("y", [1, 5, 6, 7])],
                          initializers: constants, valueInfo: [], nodes: nodes)

        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["ConcatNHWC"], 3, "\(steps)")
        XCTAssertEqual(steps["PreactivatedConv"], 3, "\(steps)")
        let plan = try plan(graph)
        for (value, offset) in [("p", 0), ("f1", 4), ("f2", 7)] {
            XCTAssertEqual(try step(computing: value, in: plan).outputWindow, ChannelWindow(offset: offset, rowStride: 10),
                           value)
        }
        for concat in ["cat1", "cat2", "block"] {
            XCTAssertTrue(try step(computing: concat, in: plan).isInPlace, concat)
        }
        XCTAssertEqual(try step(computing: "cat2", in: plan).outputWindow, ChannelWindow(offset: 0, rowStride: 10))
        XCTAssertNil(try step(computing: "block", in: plan).outputWindow)
        // Layer 2's norm + relu + 1x1 conv, one step, reads its concat (a prefix of the block's) in place.
        let preactivated = try step(computing: "ra2", in: plan)
        XCTAssertEqual(preactivated.node.node.opType, "PreactivatedConv")
        XCTAssertEqual(preactivated.inputWindows, [ChannelWindow(offset: 0, rowStride: 10)])
        let buffers = try ["p", "f1", "f2", "cat1", "block"].map { try step(computing: $0, in: plan).outputBuffers[0] }
        XCTAssertEqual(Set(buffers).count, 1, "one buffer holds the block: \(buffers)")
    }

    /// DenseNet's norm + relu + 1x1 conv as one step, against the reference kernels: over many pixel blocks (split
    /// by rows between threads) reading a concat in place, and over few pixels and many outputs (split by columns).
    func testNormalizationAndReluBeforeAPointwiseConvolutionAreItsPrologue() throws {
        for (shape, outputs) in [([2, 5, 11, 13], 7), ([1, 5, 2, 3], 70)] {
            let norm = try normalization("c", "n", channels: 9)
            let graph = Graph(
                name: "preactivated", inputs: [info("x", shape)],
                outputs: [info("y", [shape[0], outputs, shape[2], shape[3]])],
                initializers: norm.constants.merging([
                    "w1": try tensor([4, 5, 1, 1], seed: 270), "w2": try tensor([5, 5, 3, 3], seed: 271),
                    "w3": try tensor([outputs, 9, 1, 1], seed: 272), "b3": try tensor([outputs], seed: 273),
                ]) { $1 },
                valueInfo: [],
                nodes: [Node(name: "c1", opType: "Conv", inputs: ["x", "w1"], outputs: ["a"]),
                        Node(name: "c2", opType: "Conv", inputs: ["x", "w2"], outputs: ["b"],
                             attributes: ["pads": .ints([1, 1, 1, 1])]),
                        Node(name: "concat", opType: "Concat", inputs: ["a", "b"], outputs: ["c"],
                             attributes: ["axis": .int(1)])]
                    + norm.nodes
                    + [Node(name: "c3", opType: "Conv", inputs: ["n", "w3", "b3"], outputs: ["t"]),
                       Node(name: "relu", opType: "Relu", inputs: ["t"], outputs: ["y"])])
            let steps = try checkOptimized(graph)
            XCTAssertEqual(steps["PreactivatedConv"], 1, "\(steps)")
            XCTAssertNil(steps["ChannelAffineNHWC"], "\(steps)")
        }
    }

    /// ShuffleNet's unit: the kept half (a channel Slice) and the branch (1x1, depthwise, 1x1 as one banded step) are
    /// both written into the concat's buffer.
    func testSliceAndBandedBranchArePlacedInTheirConcat() throws {
        let graph = Graph(
            name: "shuffle", inputs: [info("x", [1, 3, 9, 10])], outputs: [info("y", [1, 5, 9, 10])],
            initializers: [
                "w0": try tensor([8, 3, 1, 1], seed: 280), "w1": try tensor([6, 4, 1, 1], seed: 281),
                "wd": try tensor([6, 1, 3, 3], seed: 282), "w2": try tensor([4, 6, 1, 1], seed: 283),
                "w3": try tensor([5, 8, 1, 1], seed: 284),
                "starts": try Tensor(shape: [1], scalars: [Int64(0)]), "middle": try Tensor(shape: [1], scalars: [Int64(4)]),
                "ends": try Tensor(shape: [1], scalars: [Int64(8)]), "axes": try Tensor(shape: [1], scalars: [Int64(1)]),
            ],
            valueInfo: [],
            nodes: [
                Node(name: "c0", opType: "Conv", inputs: ["x", "w0"], outputs: ["a"]),
                Node(name: "kept", opType: "Slice", inputs: ["a", "starts", "middle", "axes"], outputs: ["k"]),
                Node(name: "rest", opType: "Slice", inputs: ["a", "middle", "ends", "axes"], outputs: ["r"]),
                Node(name: "c1", opType: "Conv", inputs: ["r", "w1"], outputs: ["e"]),
                Node(name: "relu1", opType: "Relu", inputs: ["e"], outputs: ["re"]),
                Node(name: "dw", opType: "Conv", inputs: ["re", "wd"], outputs: ["d"],
                     attributes: ["group": .int(6), "pads": .ints([1, 1, 1, 1])]),
                Node(name: "c2", opType: "Conv", inputs: ["d", "w2"], outputs: ["p"]),
                Node(name: "relu2", opType: "Relu", inputs: ["p"], outputs: ["b"]),
                Node(name: "concat", opType: "Concat", inputs: ["k", "b"], outputs: ["c"], attributes: ["axis": .int(1)]),
                Node(name: "c3", opType: "Conv", inputs: ["c", "w3"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["FusedInvertedBottleneck"], 1, "\(steps)")
        let plan = try plan(graph)
        XCTAssertEqual(try step(computing: "k", in: plan).outputWindow, ChannelWindow(offset: 0, rowStride: 8))
        XCTAssertEqual(try step(computing: "b", in: plan).outputWindow, ChannelWindow(offset: 4, rowStride: 8))
        XCTAssertNil(try step(computing: "r", in: plan).outputWindow)
        XCTAssertTrue(try step(computing: "c", in: plan).isInPlace)
    }

    /// Inputs the planner must leave in their own storage, each for one reason; the concats still copy them, and the
    /// one input that may be placed is.
    func testConcatInputsThatCannotBePlacedAreCopied() throws {
        let constants: [String: Tensor] = [
            "wa": try tensor([4, 3, 1, 1], seed: 240), "wd": try tensor([3, 1, 3, 3], seed: 241),
            "ws": try tensor([2, 3, 1, 1], seed: 242), "wz": try tensor([2, 2, 1, 1], seed: 243),
            "wo": try tensor([2, 3, 1, 1], seed: 244), "k": try tensor([1, 2, 4, 5], seed: 245),
            "wm": try tensor([3, 13, 1, 1], seed: 246), "wb": try tensor([2, 3, 3, 3], seed: 247),
            "wt": try tensor([2, 4, 1, 1], seed: 248), "wg": try tensor([2, 3, 1, 1], seed: 249),
        ]
        let concat = { (name: String, inputs: [String], axis: Int) in
            Node(name: name, opType: "Concat", inputs: inputs, outputs: [name], attributes: ["axis": .int(axis)])
        }
        let nodes = [
            Node(name: "conva", opType: "Conv", inputs: ["x", "wa"], outputs: ["a"]),
            // A depthwise convolution cannot write a window.
            Node(name: "convd", opType: "Conv", inputs: ["x", "wd"], outputs: ["d"],
                 attributes: ["group": .int(3), "pads": .ints([1, 1, 1, 1])]),
            // Read by another convolution too, which needs it dense.
            Node(name: "convs", opType: "Conv", inputs: ["x", "ws"], outputs: ["s"]),
            Node(name: "convz", opType: "Conv", inputs: ["s", "wz"], outputs: ["z"]),
            // A graph output.
            Node(name: "convo", opType: "Conv", inputs: ["x", "wo"], outputs: ["o"]),
            // "k" is a constant.
            concat("m", ["a", "d", "s", "o", "k"], 1),
            Node(name: "convm", opType: "Conv", inputs: ["m", "wm"], outputs: ["ym"]),
            // Twice in one concat.
            Node(name: "convb", opType: "Conv", inputs: ["x", "wb"], outputs: ["b"], attributes: ["pads": .ints([1, 1, 1, 1])]),
            concat("t", ["b", "b"], 1),
            Node(name: "convt", opType: "Conv", inputs: ["t", "wt"], outputs: ["yt"]),
            // Joined along a spatial axis.
            Node(name: "convg", opType: "Conv", inputs: ["x", "wg"], outputs: ["g"]),
            Node(name: "convh", opType: "Conv", inputs: ["x", "wg"], outputs: ["h"]),
            concat("gh", ["g", "h"], 2),
        ]
        let graph = Graph(
            name: "unplaced", inputs: [info("x", [1, 3, 4, 5])],
            outputs: [info("ym", [1, 3, 4, 5]), info("z", [1, 2, 4, 5]), info("o", [1, 2, 4, 5]),
                      info("yt", [1, 2, 4, 5]), info("gh", [1, 2, 8, 5])],
            initializers: constants, valueInfo: [], nodes: nodes)
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["ConcatNHWC"], 3, "\(steps)")
        let plan = try plan(graph)
        XCTAssertEqual(try step(computing: "a", in: plan).outputWindow, ChannelWindow(offset: 0, rowStride: 13))
        for value in ["d", "s", "o", "b", "g", "h"] {
            XCTAssertNil(try step(computing: value, in: plan).outputWindow, value)
        }
        for concat in ["m", "t", "gh"] {
            XCTAssertFalse(try step(computing: concat, in: plan).isInPlace, concat)
        }
    }

    /// A value two concats read goes to the later one; the earlier copies it from there, and still hosts what only
    /// it reads. A concat before a graph output hosts its inputs: the layout transform to NCHW reads it.
    func testValueReadByTwoConcatsIsPlacedInTheLaterOne() throws {
        let constants: [String: Tensor] = [
            "wv": try tensor([2, 3, 1, 1], seed: 250), "wq": try tensor([3, 3, 1, 1], seed: 251),
            "wr": try tensor([4, 3, 3, 3], seed: 252), "w1": try tensor([2, 5, 1, 1], seed: 253),
            "w2": try tensor([2, 6, 1, 1], seed: 254), "we": try tensor([2, 3, 1, 1], seed: 255),
        ]
        let concat = { (name: String, inputs: [String]) in
            Node(name: name, opType: "Concat", inputs: inputs, outputs: [name], attributes: ["axis": .int(1)])
        }
        let nodes = [
            Node(name: "convv", opType: "Conv", inputs: ["x", "wv"], outputs: ["v"]),
            Node(name: "convq", opType: "Conv", inputs: ["x", "wq"], outputs: ["q"]),
            Node(name: "convr", opType: "Conv", inputs: ["x", "wr"], outputs: ["r"], attributes: ["pads": .ints([1, 1, 1, 1])]),
            concat("early", ["v", "q"]),
            Node(name: "conv1", opType: "Conv", inputs: ["early", "w1"], outputs: ["y1"]),
            concat("late", ["r", "v"]),
            Node(name: "conv2", opType: "Conv", inputs: ["late", "w2"], outputs: ["y2"]),
            Node(name: "conve1", opType: "Conv", inputs: ["x", "we"], outputs: ["e1"]),
            Node(name: "conve2", opType: "Conv", inputs: ["x", "we"], outputs: ["e2"]),
            concat("returned", ["e1", "e2"]),
        ]
        let graph = Graph(
            name: "shared", inputs: [info("x", [2, 3, 5, 4])],
            outputs: [info("y1", [2, 2, 5, 4]), info("y2", [2, 2, 5, 4]), info("returned", [2, 4, 5, 4])],
            initializers: constants, valueInfo: [], nodes: nodes)
        _ = try checkOptimized(graph)
        let plan = try plan(graph)
        XCTAssertEqual(try step(computing: "v", in: plan).outputWindow, ChannelWindow(offset: 4, rowStride: 6))
        XCTAssertEqual(try step(computing: "r", in: plan).outputWindow, ChannelWindow(offset: 0, rowStride: 6))
        XCTAssertEqual(try step(computing: "q", in: plan).outputWindow, ChannelWindow(offset: 2, rowStride: 5))
        let early = try step(computing: "early", in: plan)
        XCTAssertFalse(early.isInPlace)
        XCTAssertEqual(early.inputWindows, [ChannelWindow(offset: 4, rowStride: 6), ChannelWindow(offset: 2, rowStride: 5)])
        XCTAssertTrue(try step(computing: "late", in: plan).isInPlace)
        XCTAssertEqual(try step(computing: "e2", in: plan).outputWindow, ChannelWindow(offset: 2, rowStride: 4))
    }

    /// The placement alone, on NHWC steps: a concat whose storage goes to the caller (a graph output, or sharing
    /// storage with one) hosts nothing, and a returned input stays out.
    func testReturnedValuesAreNotPlaced() throws {
        let window = try WindowAttributes(OperatorContext(node: Node(name: "c", opType: "Conv", inputs: [], outputs: []),
                                                          opset: 13))
        let convolution = try FusedConvolution(window: window, group: 1, weights: tensor([2, 3, 1, 1], seed: 260),
                                               bias: nil)
        let nodes = [
            TypedNode(node: Node(name: "c1", opType: "FusedConv", inputs: ["x"], outputs: ["e1"]), op: convolution,
                      opset: 13),
            TypedNode(node: Node(name: "c2", opType: "FusedConv", inputs: ["x"], outputs: ["e2"]), op: convolution,
                      opset: 13),
            TypedNode(node: Node(name: "cat", opType: "ConcatNHWC", inputs: ["e1", "e2"], outputs: ["cat"]),
                      op: AxisConcat(axis: 3), opset: 13),
        ]
        let types = ["x": [1, 4, 5, 3], "e1": [1, 4, 5, 2], "e2": [1, 4, 5, 2], "cat": [1, 4, 5, 4]]
            .mapValues { TensorType(elementType: .float, fixedShape: $0) }
        let placed = ConcatPlacement(nodes: nodes, types: types) { _ in false }
        XCTAssertEqual(placed.windows["e2"]?.window, ChannelWindow(offset: 2, rowStride: 4))
        XCTAssertEqual(placed.views, [2])
        XCTAssertTrue(ConcatPlacement(nodes: nodes, types: types) { $0 == "cat" }.windows.isEmpty)
        let withoutFirst = ConcatPlacement(nodes: nodes, types: types) { $0 == "e1" }
        XCTAssertEqual(Array(withoutFirst.windows.keys), ["e2"])
        XCTAssertEqual(withoutFirst.views, [])
    }
}
