// Each optimizer rewrite on a small graph built here: the optimized session must agree with the reference
// kernels (validated against onnxruntime by the operator tests) and the rewrite must actually happen.

import Foundation
import XCTest

@testable import ONNXRun

final class OptimizerTests: XCTestCase {
    /// Seeded values in [-1, 1).
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    func tensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
        try Tensor(shape: shape, floats: values(shape.reduce(1, *), seed: seed))
    }

    /// Runs `graph` unoptimized and optimized (1 and 2 threads); checks agreement within 1e-5 and returns the
    /// optimized run's executed op types.
    func checkOptimized(_ graph: Graph, opset: Int = 13, file: StaticString = #filePath,
                        line: UInt = #line) throws -> [String: Int] {
        let model = Model(irVersion: 8, opsetImports: ["": opset], graph: graph, source: "optimizer-test")
        var feeds: [String: Tensor] = [:]
        for (index, input) in graph.inputs.enumerated() {
            feeds[input.name] = try tensor(input.type?.fixedShape ?? [], seed: UInt64(index + 1))
        }
        let reference = try InferenceSession(model: model, options: SessionOptions(optimizationLevel: .none))
            .run(feeds)
        var steps: [String: Int] = [:]
        for threads in [1, 2] {
            let session = try InferenceSession(model: model, options: SessionOptions(threadCount: threads))
            var timings: [NodeTiming] = []
            let optimized = try session.run(feeds, timings: &timings)
            steps = timings.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
            for output in graph.outputs {
                let (a, b) = (try XCTUnwrap(optimized[output.name]), try XCTUnwrap(reference[output.name]))
                XCTAssertEqual(a.shape, b.shape, file: file, line: line)
                let difference = zip(a.floats, b.floats).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThanOrEqual(difference, 1e-5, "\(output.name) at \(threads) threads, steps \(steps)",
                                         file: file, line: line)
            }
        }
        return steps
    }

    func info(_ name: String, _ shape: [Int]) -> ValueInfo {
        ValueInfo(name: name, type: TensorType(elementType: .float, fixedShape: shape))
    }

    /// MobileNetV2's inverted residual: expand + clip, depthwise + clip, projection + residual Add, one step.
    func testInvertedResidualBlockFusesIntoOneStep() throws {
        let clip: [String: AttributeValue] = ["min": .float(0), "max": .float(6)]
        let graph = Graph(
            name: "block", inputs: [info("x", [2, 6, 11, 9])], outputs: [info("y", [2, 6, 11, 9])],
            initializers: ["w1": try tensor([20, 6, 1, 1], seed: 80), "b1": try tensor([20], seed: 81),
                           "w2": try tensor([20, 1, 3, 3], seed: 82), "b2": try tensor([20], seed: 83),
                           "w3": try tensor([6, 20, 1, 1], seed: 84), "b3": try tensor([6], seed: 85)],
            valueInfo: [],
            nodes: [
                Node(name: "expand", opType: "Conv", inputs: ["x", "w1", "b1"], outputs: ["e"]),
                Node(name: "clip1", opType: "Clip", inputs: ["e"], outputs: ["e6"], attributes: clip),
                Node(name: "depthwise", opType: "Conv", inputs: ["e6", "w2", "b2"], outputs: ["d"],
                     attributes: ["group": .int(20), "pads": .ints([1, 1, 1, 1])]),
                Node(name: "clip2", opType: "Clip", inputs: ["d"], outputs: ["d6"], attributes: clip),
                Node(name: "project", opType: "Conv", inputs: ["d6", "w3", "b3"], outputs: ["p"]),
                Node(name: "add", opType: "Add", inputs: ["x", "p"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph, opset: 6)
        XCTAssertEqual(steps["FusedInvertedBottleneck"], 1, "\(steps)")
        for absorbed in ["Conv", "Clip", "Add", "FusedConv"] {
            XCTAssertNil(steps[absorbed], "\(absorbed) should be in the fused block: \(steps)")
        }
    }

    /// MobileNetV2's first block (no expansion): a dense conv, then depthwise + clip and projection + residual Add
    /// in one step; the dense conv stays on its own as its output is also the residual. Without the residual, the
    /// dense conv runs in the same step as the block's expansion.
    func testDepthwiseAndProjectionFuseWithoutExpansion() throws {
        let clip: [String: AttributeValue] = ["min": .float(0), "max": .float(6)]
        let graph = Graph(
            name: "block", inputs: [info("x", [2, 3, 13, 10])], outputs: [info("y", [2, 7, 7, 5])],
            initializers: ["w1": try tensor([7, 3, 3, 3], seed: 90), "b1": try tensor([7], seed: 91),
                           "w2": try tensor([7, 1, 3, 3], seed: 92), "b2": try tensor([7], seed: 93),
                           "w3": try tensor([7, 7, 1, 1], seed: 94), "b3": try tensor([7], seed: 95)],
            valueInfo: [],
            nodes: [
                Node(name: "stem", opType: "Conv", inputs: ["x", "w1", "b1"], outputs: ["s"],
                     attributes: ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
                Node(name: "clip1", opType: "Clip", inputs: ["s"], outputs: ["s6"], attributes: clip),
                Node(name: "depthwise", opType: "Conv", inputs: ["s6", "w2", "b2"], outputs: ["d"],
                     attributes: ["group": .int(7), "pads": .ints([1, 1, 1, 1])]),
                Node(name: "clip2", opType: "Clip", inputs: ["d"], outputs: ["d6"], attributes: clip),
                Node(name: "project", opType: "Conv", inputs: ["d6", "w3", "b3"], outputs: ["p"]),
                Node(name: "add", opType: "Add", inputs: ["p", "s6"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph, opset: 6)
        XCTAssertEqual(steps["FusedInvertedBottleneck"], 1, "\(steps)")
        XCTAssertEqual(steps["FusedConv"], 1, "\(steps)")
        for absorbed in ["Conv", "Clip", "Add"] {
            XCTAssertNil(steps[absorbed], "\(absorbed) should be fused: \(steps)")
        }
        var stem = graph
        stem.nodes.removeLast()
        stem.nodes[stem.nodes.count - 1].outputs = ["y"]
        let stemSteps = try checkOptimized(stem, opset: 6)
        XCTAssertEqual(stemSteps["FusedInvertedBottleneck"], 1, "\(stemSteps)")
        XCTAssertNil(stemSteps["FusedConv"], "\(stemSteps)")
    }

    func testBatchNormalizationFoldsIntoConvolution() throws {
        let initializers: [String: Tensor] = [
            "w": try tensor([4, 3, 3, 3], seed: 10), "b": try tensor([4], seed: 11),
            "scale": try tensor([4], seed: 12), "shift": try tensor([4], seed: 13), "mean": try tensor([4], seed: 14),
            "var": try Tensor(shape: [4], floats: [0.5, 1, 2, 4]),
        ]
        let graph = Graph(
            name: "bn", inputs: [info("x", [1, 3, 9, 7])], outputs: [info("y", [1, 4, 9, 7])],
            initializers: initializers, valueInfo: [],
            nodes: [
                Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"],
                     attributes: ["pads": .ints([1, 1, 1, 1])]),
                Node(name: "bn", opType: "BatchNormalization", inputs: ["c", "scale", "shift", "mean", "var"],
                     outputs: ["y"], attributes: ["epsilon": .float(1e-3)]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertNil(steps["BatchNormalization"], "\(steps)")
        XCTAssertEqual(steps["FusedConv"], 1, "\(steps)")
    }

    func testZeroPadFoldsIntoConvolutionPads() throws {
        let graph = Graph(
            name: "pad", inputs: [info("x", [1, 2, 6, 5])], outputs: [info("y", [1, 2, 3, 3])],
            initializers: ["w": try tensor([2, 1, 3, 3], seed: 20),
                           "pads": try Tensor(shape: [8], scalars: [Int64](arrayLiteral: 0, 0, 0, 1, 0, 0, 1, 0))],
            valueInfo: [],
            nodes: [
                Node(name: "pad", opType: "Pad", inputs: ["x", "pads"], outputs: ["p"]),
                Node(name: "conv", opType: "Conv", inputs: ["p", "w"], outputs: ["y"],
                     attributes: ["group": .int(2), "strides": .ints([2, 2])]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertNil(steps["Pad"], "\(steps)")
    }

    /// Pads no convolution absorbs run as row copies: a nonzero value on every axis, reflect and edge (NHWC after a
    /// convolution, their pads permuted with the axes), and a one-element-wide tensor padded in its own layout.
    func testPadsThatStayRunFastInEitherLayout() throws {
        func pads(_ values: Int64...) throws -> Tensor { try Tensor(shape: [values.count], scalars: values) }
        let graph = Graph(
            name: "pads", inputs: [info("x", [1, 3, 5, 4]), info("z", [2, 1, 3, 1])],
            outputs: [info("y", [2, 8, 12, 13]), info("y2", [3, 1, 4, 6])],
            initializers: ["w": try tensor([5, 3, 1, 1], seed: 21), "fill": try Tensor(shape: [], floats: [1.5]),
                           "negative": try Tensor(shape: [], floats: [-2]),
                           "p1": try pads(0, 1, 2, 0, 0, 0, 1, 3), "p2": try pads(0, 0, 1, 2, 0, 0, 3, 1),
                           "p3": try pads(1, 0, 0, 1, 0, 2, 0, 2), "p4": try pads(0, 0, 0, 2, 1, 0, 1, 3)],
            valueInfo: [],
            nodes: [
                Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["c"]),
                Node(name: "constant", opType: "Pad", inputs: ["c", "p1", "fill"], outputs: ["a"]),
                Node(name: "reflect", opType: "Pad", inputs: ["a", "p2"], outputs: ["b"],
                     attributes: ["mode": .string("reflect")]),
                Node(name: "edge", opType: "Pad", inputs: ["b", "p3"], outputs: ["y"],
                     attributes: ["mode": .string("edge")]),
                Node(name: "narrow", opType: "Pad", inputs: ["z", "p4", "negative"], outputs: ["y2"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["FastPadNHWC"], 3, "\(steps)")
        XCTAssertEqual(steps["FastPad"], 1, "\(steps)")
        XCTAssertNil(steps["Pad"], "\(steps)")
    }

    func testResidualAddAndReluFuseIntoConvolution() throws {
        let graph = Graph(
            name: "residual", inputs: [info("x", [1, 8, 5, 5])], outputs: [info("y", [1, 8, 5, 5])],
            initializers: ["w": try tensor([8, 8, 1, 1], seed: 30), "b": try tensor([8], seed: 31)], valueInfo: [],
            nodes: [
                Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"]),
                Node(name: "add", opType: "Add", inputs: ["x", "c"], outputs: ["s"]),
                Node(name: "relu", opType: "Relu", inputs: ["s"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["FusedConv"], 1, "\(steps)")
        XCTAssertNil(steps["Add"], "\(steps)")
        XCTAssertNil(steps["Relu"], "\(steps)")
    }

    func testDenseThreeByThreeConvolutionsRunWinograd() throws {
        // Small weights keep the outputs near 1, where the 1e-5 bound is relative. A: 16 -> 16 on 24x24 with the
        // residual and Relu (4x4 tiles, 36 of them: split by tiles at 2 threads). B: 192 -> 192 on 4x5 (2x2
        // tiles, only 6: split by output channels at 2 threads).
        func small(_ shape: [Int], seed: UInt64) throws -> Tensor {
            try Tensor(shape: shape, floats: values(shape.reduce(1, *), seed: seed).map { $0 * 0.05 })
        }
        let graph = Graph(
            name: "winograd", inputs: [info("x", [1, 16, 24, 24]), info("z", [1, 192, 4, 5])],
            outputs: [info("y", [1, 16, 24, 24]), info("w", [1, 192, 4, 5])],
            initializers: ["a": try small([16, 16, 3, 3], seed: 50), "abias": try tensor([16], seed: 51),
                           "b": try small([192, 192, 3, 3], seed: 52), "bbias": try tensor([192], seed: 53)],
            valueInfo: [],
            nodes: [
                Node(name: "convA", opType: "Conv", inputs: ["x", "a", "abias"], outputs: ["c"],
                     attributes: ["pads": .ints([1, 1, 1, 1])]),
                Node(name: "add", opType: "Add", inputs: ["c", "x"], outputs: ["s"]),
                Node(name: "relu", opType: "Relu", inputs: ["s"], outputs: ["y"]),
                Node(name: "convB", opType: "Conv", inputs: ["z", "b", "bbias"], outputs: ["w"],
                     attributes: ["pads": .ints([1, 1, 1, 1])]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["FusedConv"], 2, "\(steps)")
        XCTAssertEqual(WinogradConvolutionKernel.outputTile(outputChannels: 16, inputChannels: 16), 4)
        XCTAssertEqual(WinogradConvolutionKernel.outputTile(outputChannels: 192, inputChannels: 192), 2)
    }

    func testAClampWhoseInputIsAGraphOutputIsNotFused() throws {
        let graph = Graph(
            name: "visible", inputs: [info("x", [1, 2, 4, 4])], outputs: [info("c", [1, 2, 4, 4]), info("y", [1, 2, 4, 4])],
            initializers: ["w": try tensor([2, 2, 1, 1], seed: 40)], valueInfo: [],
            nodes: [
                Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["c"]),
                Node(name: "clip", opType: "Clip", inputs: ["c"], outputs: ["y"],
                     attributes: ["min": .float(0), "max": .float(0.5)]),
            ])
        let steps = try checkOptimized(graph, opset: 6)
        XCTAssertEqual(steps["Clip"], 1, "the conv's output is visible, so the clamp must stay: \(steps)")
    }

    func testPerChannelMulAndAddFoldIntoConvolution() throws {
        let graph = Graph(
            name: "affine", inputs: [info("x", [1, 3, 6, 6])], outputs: [info("y", [1, 3, 6, 6])],
            initializers: ["w": try tensor([3, 1, 3, 3], seed: 50), "s": try tensor([3, 1, 1], seed: 51),
                           "t": try tensor([1, 3, 1, 1], seed: 52)],
            valueInfo: [],
            nodes: [
                Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["c"],
                     attributes: ["group": .int(3), "pads": .ints([1, 1, 1, 1])]),
                Node(name: "mul", opType: "Mul", inputs: ["c", "s"], outputs: ["m"]),
                Node(name: "add", opType: "Add", inputs: ["t", "m"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertNil(steps["Mul"], "\(steps)")
        XCTAssertNil(steps["Add"], "\(steps)")
    }

    func testMatMulWithBiasAddRunsPacked() throws {
        let graph = Graph(
            name: "classifier", inputs: [info("x", [2, 40])], outputs: [info("y", [2, 37])],
            initializers: ["w": try tensor([40, 37], seed: 60), "b": try tensor([37], seed: 61)], valueInfo: [],
            nodes: [
                Node(name: "matmul", opType: "MatMul", inputs: ["x", "w"], outputs: ["m"]),
                Node(name: "add", opType: "Add", inputs: ["m", "b"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["PackedGemm"], 1, "\(steps)")
        XCTAssertNil(steps["Add"], "\(steps)")
    }

    func testPoolingStaysChannelsLastBetweenConvolutions() throws {
        let graph = Graph(
            name: "pools", inputs: [info("x", [2, 3, 15, 13])], outputs: [info("y", [2, 10, 1, 1])],
            initializers: ["w1": try tensor([8, 3, 3, 3], seed: 30), "w2": try tensor([10, 8, 3, 3], seed: 31)],
            valueInfo: [],
            nodes: [
                Node(name: "conv1", opType: "Conv", inputs: ["x", "w1"], outputs: ["c1"],
                     attributes: ["pads": .ints([1, 1, 1, 1])]),
                Node(name: "max", opType: "MaxPool", inputs: ["c1"], outputs: ["m"],
                     attributes: ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]),
                                  "pads": .ints([1, 1, 1, 1])]),
                Node(name: "conv2", opType: "Conv", inputs: ["m", "w2"], outputs: ["c2"],
                     attributes: ["pads": .ints([1, 1, 1, 1])]),
                Node(name: "average", opType: "AveragePool", inputs: ["c2"], outputs: ["a"],
                     attributes: ["kernel_shape": .ints([3, 2]), "strides": .ints([2, 2]), "ceil_mode": .int(1),
                                  "count_include_pad": .int(1), "pads": .ints([0, 1, 1, 0])]),
                Node(name: "global", opType: "GlobalMaxPool", inputs: ["a"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["MaxPoolNHWC"], 1, "\(steps)")
        XCTAssertEqual(steps["AveragePoolNHWC"], 1, "\(steps)")
        XCTAssertEqual(steps["GlobalMaxPoolNHWC"], 1, "\(steps)")
        XCTAssertEqual(steps["ToNHWC"], 1, "\(steps)")
        XCTAssertNil(steps["ToNCHW"], "\(steps)")
    }

    func testConvTransposeRunsPackedChannelsLast() throws {
        let graph = Graph(
            name: "deconv", inputs: [info("x", [2, 4, 5, 6])],
            outputs: [info("y", [2, 6, 10, 13]), info("z", [2, 3, 9, 10])],
            initializers: ["w": try tensor([4, 3, 3, 3], seed: 40), "b": try tensor([6], seed: 41),
                           "v": try tensor([4, 3, 2, 3], seed: 42)],
            valueInfo: [],
            nodes: [
                // Grouped, stride 2, pads and output_padding, with bias, then Relu (fused into the store).
                Node(name: "up", opType: "ConvTranspose", inputs: ["x", "w", "b"], outputs: ["u"],
                     attributes: ["group": .int(2), "strides": .ints([2, 2]), "pads": .ints([1, 0, 1, 1]),
                                  "output_padding": .ints([1, 1])]),
                Node(name: "relu", opType: "Relu", inputs: ["u"], outputs: ["y"]),
                // Dilated, output_shape larger than the full size (negative pads: zero borders).
                Node(name: "dilated", opType: "ConvTranspose", inputs: ["x", "v"], outputs: ["z"],
                     attributes: ["dilations": .ints([2, 1]), "output_shape": .ints([9, 10])]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["ConvTransposeNHWC"], 2, "\(steps)")
        XCTAssertNil(steps["ConvTranspose"], "\(steps)")
        XCTAssertNil(steps["Relu"], "\(steps)")
    }

    func testLinearOnChannelsLastTensorRunsAsOnePackedGemmWithBiasAndRelu() throws {
        // ConvNeXt's Linear layers: MatMul of a 4-D NHWC tensor by a constant [K, N], then Add(bias), then Relu.
        let graph = Graph(
            name: "linear", inputs: [info("x", [1, 5, 7, 12])], outputs: [info("y", [1, 5, 7, 19])],
            initializers: ["w": try tensor([12, 19], seed: 70), "b": try tensor([19], seed: 71)], valueInfo: [],
            nodes: [
                Node(name: "matmul", opType: "MatMul", inputs: ["x", "w"], outputs: ["m"]),
                Node(name: "add", opType: "Add", inputs: ["m", "b"], outputs: ["a"]),
                Node(name: "relu", opType: "Relu", inputs: ["a"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps, ["PackedGemm": 1], "\(steps)")
    }

    /// GELU written out with Erf in the three orders exporters use (torch's F.gelu at opset < 20, `x * (a * 0.5)`,
    /// and Python's `0.5 * x * (1 + erf(x / sqrt(2)))`, with `* 1/sqrt(2)`) after Linear layers: each becomes the
    /// Linear's activation.
    func testDecomposedGeluBecomesTheLinearLayersActivation() throws {
        let rootTwo = Float(2).squareRoot()
        let initializers: [String: Tensor] = [
            "w1": try tensor([6, 7], seed: 150), "w2": try tensor([7, 5], seed: 151), "w3": try tensor([5, 6], seed: 152),
            "root": try Tensor(shape: [], floats: [rootTwo]), "inverse": try Tensor(shape: [1], floats: [1 / rootTwo]),
            "one": try Tensor(shape: [], floats: [1]), "half": try Tensor(shape: [], floats: [0.5]),
            "two": try Tensor(shape: [], floats: [2]),
        ]
        func gelu(_ x: String, _ y: String, order: Int) -> [Node] {
            let divided = order == 2
                ? Node(name: y + "_div", opType: "Mul", inputs: ["inverse", x], outputs: [y + "_d"])
                : Node(name: y + "_div", opType: "Div", inputs: [x, "root"], outputs: [y + "_d"])
            let common = [
                divided,
                Node(name: y + "_erf", opType: "Erf", inputs: [y + "_d"], outputs: [y + "_e"]),
                Node(name: y + "_add", opType: "Add", inputs: ["one", y + "_e"], outputs: [y + "_a"]),
            ]
            switch order {
            case 0:
                return common + [Node(name: y + "_gate", opType: "Mul", inputs: [x, y + "_a"], outputs: [y + "_g"]),
                                 Node(name: y + "_half", opType: "Mul", inputs: [y + "_g", "half"], outputs: [y])]
            case 1:
                return common + [Node(name: y + "_half", opType: "Div", inputs: [y + "_a", "two"], outputs: [y + "_h"]),
                                 Node(name: y + "_gate", opType: "Mul", inputs: [y + "_h", x], outputs: [y])]
            default:
                return common + [Node(name: y + "_half", opType: "Mul", inputs: ["half", x], outputs: [y + "_h"]),
                                 Node(name: y + "_gate", opType: "Mul", inputs: [y + "_h", y + "_a"], outputs: [y])]
            }
        }
        let graph = Graph(
            name: "gelu", inputs: [info("x", [1, 3, 4, 6])], outputs: [info("y", [1, 3, 4, 6])],
            initializers: initializers, valueInfo: [],
            nodes: [Node(name: "linear1", opType: "MatMul", inputs: ["x", "w1"], outputs: ["m1"])]
                + gelu("m1", "g1", order: 0)
                + [Node(name: "linear2", opType: "MatMul", inputs: ["g1", "w2"], outputs: ["m2"])]
                + gelu("m2", "g2", order: 1)
                + [Node(name: "linear3", opType: "MatMul", inputs: ["g2", "w3"], outputs: ["m3"])]
                + gelu("m3", "y", order: 2))
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps, ["PackedGemm": 3], "\(steps)")
    }

    /// Not GELU: the Erf input is divided by 2, not sqrt(2); the chain stays as written (and still agrees).
    func testErfChainWithOtherConstantsIsNotGelu() throws {
        let graph = Graph(
            name: "not-gelu", inputs: [info("x", [2, 5])], outputs: [info("y", [2, 5])],
            initializers: ["two": try Tensor(shape: [], floats: [2]), "one": try Tensor(shape: [], floats: [1]),
                           "half": try Tensor(shape: [], floats: [0.5])],
            valueInfo: [],
            nodes: [Node(name: "div", opType: "Div", inputs: ["x", "two"], outputs: ["d"]),
                    Node(name: "erf", opType: "Erf", inputs: ["d"], outputs: ["e"]),
                    Node(name: "add", opType: "Add", inputs: ["e", "one"], outputs: ["a"]),
                    Node(name: "gate", opType: "Mul", inputs: ["x", "a"], outputs: ["g"]),
                    Node(name: "half", opType: "Mul", inputs: ["g", "half"], outputs: ["y"])])
        let steps = try checkOptimized(graph)
        XCTAssertNil(steps["Gelu"], "\(steps)")
        XCTAssertEqual(steps["Erf"], 1, "\(steps)")
    }

    /// ConvNeXt's block end: Linear on the NHWC tensor, permute(0, 3, 1, 2), layer scale [C, 1, 1], residual Add,
    /// next depthwise conv. The permute is the NHWC tensor itself: no copy, no transform back and forth.
    func testPermuteBackAfterLinearStartsAChannelsLastChain() throws {
        let graph = Graph(
            name: "convnext", inputs: [info("x", [1, 6, 5, 4])], outputs: [info("y", [1, 6, 5, 4])],
            initializers: ["dw": try tensor([6, 1, 3, 3], seed: 160), "w": try tensor([6, 6], seed: 161),
                           "gamma": try tensor([6, 1, 1], seed: 162), "dw2": try tensor([6, 1, 3, 3], seed: 163)],
            valueInfo: [],
            nodes: [Node(name: "dw", opType: "Conv", inputs: ["x", "dw"], outputs: ["c"],
                         attributes: ["group": .int(6), "pads": .ints([1, 1, 1, 1])]),
                    Node(name: "permute", opType: "Transpose", inputs: ["c"], outputs: ["p"],
                         attributes: ["perm": .ints([0, 2, 3, 1])]),
                    Node(name: "linear", opType: "MatMul", inputs: ["p", "w"], outputs: ["l"]),
                    Node(name: "back", opType: "Transpose", inputs: ["l"], outputs: ["b"],
                         attributes: ["perm": .ints([0, 3, 1, 2])]),
                    Node(name: "scale", opType: "Mul", inputs: ["gamma", "b"], outputs: ["s"]),
                    Node(name: "residual", opType: "Add", inputs: ["s", "x"], outputs: ["r"]),
                    Node(name: "dw2", opType: "Conv", inputs: ["r", "dw2"], outputs: ["y"],
                         attributes: ["group": .int(6), "pads": .ints([1, 1, 1, 1])])])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["ToNHWC"], 1, "only the graph input: \(steps)")
        XCTAssertEqual(steps["ToNCHW"], 1, "only the graph output: \(steps)")
        XCTAssertEqual(steps["ChannelsLastAsIs"], 2, "\(steps)")
        XCTAssertNil(steps["Transpose"], "\(steps)")
    }

    func testMatMulOfTwoComputedTensorsRunsBatched() throws {
        // Attention's scores: [batch, heads, tokens, d] x [batch, 1, d, tokens] (a broadcast head axis).
        let graph = Graph(
            name: "attention", inputs: [info("q", [2, 3, 9, 8]), info("k", [2, 1, 8, 9])],
            outputs: [info("y", [2, 3, 9, 9])], initializers: [:], valueInfo: [],
            nodes: [Node(name: "matmul", opType: "MatMul", inputs: ["q", "k"], outputs: ["y"])])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps, ["BatchedMatMul": 1], "\(steps)")
    }

    /// torch's F.layer_norm at opset < 17, over the last axis, as ConvNeXt writes it.
    private func decomposedLayerNormalization(squaredBy square: String, scaleAndBias: Bool) throws -> Graph {
        var nodes = [
            Node(name: "mean", opType: "ReduceMean", inputs: ["x"], outputs: ["mean"], attributes: ["axes": .ints([-1])]),
            Node(name: "sub", opType: "Sub", inputs: ["x", "mean"], outputs: ["d"]),
            square == "Pow" ? Node(name: "pow", opType: "Pow", inputs: ["d", "two"], outputs: ["sq"])
                : Node(name: "mul", opType: "Mul", inputs: ["d", "d"], outputs: ["sq"]),
            Node(name: "variance", opType: "ReduceMean", inputs: ["sq"], outputs: ["var"], attributes: ["axes": .ints([3])]),
            Node(name: "eps", opType: "Add", inputs: ["var", "epsilon"], outputs: ["v"]),
            Node(name: "sqrt", opType: "Sqrt", inputs: ["v"], outputs: ["s"]),
            Node(name: "div", opType: "Div", inputs: ["d", "s"], outputs: [scaleAndBias ? "n" : "y"]),
        ]
        if scaleAndBias {
            nodes += [Node(name: "gamma", opType: "Mul", inputs: ["n", "scale"], outputs: ["g"]),
                      Node(name: "beta", opType: "Add", inputs: ["bias", "g"], outputs: ["y"])]
        }
        return Graph(
            name: "layernorm", inputs: [info("x", [2, 3, 4, 13])], outputs: [info("y", [2, 3, 4, 13])],
            initializers: ["two": try Tensor(shape: [], floats: [2]), "epsilon": try Tensor(shape: [], floats: [1e-6]),
                           "scale": try tensor([13], seed: 80), "bias": try tensor([1, 13], seed: 81)],
            valueInfo: [], nodes: nodes)
    }

    func testDecomposedLayerNormalizationRunsAsOneKernel() throws {
        for square in ["Pow", "Mul"] {
            for scaleAndBias in [true, false] {
                let steps = try checkOptimized(try decomposedLayerNormalization(squaredBy: square,
                                                                                scaleAndBias: scaleAndBias))
                XCTAssertEqual(steps, ["FusedLayerNorm": 1], "\(square) \(scaleAndBias): \(steps)")
            }
        }
    }

    func testDecomposedLayerNormalizationWithAVisibleIntermediateStaysAsItIs() throws {
        var graph = try decomposedLayerNormalization(squaredBy: "Pow", scaleAndBias: true)
        graph.outputs.append(info("var", [2, 3, 4, 1]))
        let steps = try checkOptimized(graph)
        XCTAssertNil(steps["FusedLayerNorm"], "\(steps)")
    }

    func testLayerNormalizationWithConstantScaleRunsFused() throws {
        let graph = Graph(
            name: "layernorm17", inputs: [info("x", [3, 5, 6])], outputs: [info("y", [3, 5, 6])],
            initializers: ["scale": try tensor([5, 6], seed: 90), "bias": try tensor([5, 6], seed: 91)], valueInfo: [],
            nodes: [Node(name: "ln", opType: "LayerNormalization", inputs: ["x", "scale", "bias"], outputs: ["y"],
                         attributes: ["axis": .int(1), "epsilon": .float(1e-4)])])
        let steps = try checkOptimized(graph, opset: 17)
        XCTAssertEqual(steps, ["FusedLayerNorm": 1], "\(steps)")
    }

    func testChannelConcatSplitAndSliceStayChannelsLast() throws {
        // Two convs concatenated on channels, split, sliced, each piece read by a conv: no layout transform
        // between the convs, only at the graph's input and outputs.
        let graph = Graph(
            name: "copies", inputs: [info("x", [1, 3, 6, 5])],
            outputs: [info("y0", [1, 2, 6, 5]), info("y1", [1, 2, 6, 5]), info("y2", [1, 2, 6, 5])],
            initializers: [
                "w1": try tensor([4, 3, 1, 1], seed: 100), "w2": try tensor([5, 3, 3, 3], seed: 101),
                "w3": try tensor([2, 3, 1, 1], seed: 102), "w4": try tensor([2, 6, 1, 1], seed: 103),
                "w5": try tensor([2, 5, 1, 1], seed: 104),
                "split": try Tensor(shape: [2], scalars: [Int64(3), 6]),
                "starts": try Tensor(shape: [1], scalars: [Int64(4)]), "ends": try Tensor(shape: [1], scalars: [Int64(9)]),
                "axes": try Tensor(shape: [1], scalars: [Int64(1)]),
            ],
            valueInfo: [],
            nodes: [
                Node(name: "c1", opType: "Conv", inputs: ["x", "w1"], outputs: ["a"]),
                Node(name: "c2", opType: "Conv", inputs: ["x", "w2"], outputs: ["b"], attributes: ["pads": .ints([1, 1, 1, 1])]),
                Node(name: "concat", opType: "Concat", inputs: ["a", "b"], outputs: ["c"], attributes: ["axis": .int(-3)]),
                Node(name: "split", opType: "Split", inputs: ["c", "split"], outputs: ["s0", "s1"], attributes: ["axis": .int(1)]),
                Node(name: "slice", opType: "Slice", inputs: ["c", "starts", "ends", "axes"], outputs: ["t"]),
                Node(name: "c3", opType: "Conv", inputs: ["s0", "w3"], outputs: ["y0"]),
                Node(name: "c4", opType: "Conv", inputs: ["s1", "w4"], outputs: ["y1"]),
                Node(name: "c5", opType: "Conv", inputs: ["t", "w5"], outputs: ["y2"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["ConcatNHWC"], 1, "\(steps)")
        XCTAssertEqual(steps["SplitNHWC"], 1, "\(steps)")
        XCTAssertEqual(steps["SliceNHWC"], 1, "\(steps)")
        XCTAssertEqual(steps["ToNHWC"], 1, "\(steps)")
        XCTAssertEqual(steps["ToNCHW"], 3, "\(steps)")
    }

    /// torchvision's channel_shuffle between convs (runs NHWC) and on a graph input (runs NCHW).
    func testChannelShuffleRunsAsOnePass() throws {
        let shapes: [String: Tensor] = [
            "grouped": try Tensor(shape: [5], scalars: [Int64(1), 3, 2, 4, 5]),
            "merged": try Tensor(shape: [4], scalars: [Int64(1), 6, 4, 5]),
        ]
        func shuffle(_ input: String, _ output: String) -> [Node] {
            [Node(name: "split_" + output, opType: "Reshape", inputs: [input, "grouped"], outputs: [output + "_g"]),
             Node(name: "transpose_" + output, opType: "Transpose", inputs: [output + "_g"], outputs: [output + "_t"],
                  attributes: ["perm": .ints([0, 2, 1, 3, 4])]),
             Node(name: "merge_" + output, opType: "Reshape", inputs: [output + "_t", "merged"], outputs: [output])]
        }
        let betweenConvs = Graph(
            name: "shuffle", inputs: [info("x", [1, 3, 4, 5])], outputs: [info("y", [1, 2, 4, 5])],
            initializers: shapes.merging(["w1": try tensor([6, 3, 1, 1], seed: 110),
                                          "w2": try tensor([2, 6, 1, 1], seed: 111)]) { $1 },
            valueInfo: [],
            nodes: [Node(name: "c1", opType: "Conv", inputs: ["x", "w1"], outputs: ["a"])] + shuffle("a", "s")
                + [Node(name: "c2", opType: "Conv", inputs: ["s", "w2"], outputs: ["y"])])
        let steps = try checkOptimized(betweenConvs)
        XCTAssertEqual(steps, ["ToNHWC": 1, "FusedConv": 2, "ChannelShuffleNHWC": 1, "ToNCHW": 1], "\(steps)")

        let alone = Graph(name: "shuffle", inputs: [info("x", [1, 6, 4, 5])], outputs: [info("y", [1, 6, 4, 5])],
                          initializers: shapes, valueInfo: [], nodes: shuffle("x", "y"))
        XCTAssertEqual(try checkOptimized(alone), ["ChannelShuffle": 1])
    }

    /// Resize in the forms exporters write (scales or sizes; nearest and linear; their coordinate modes), on a
    /// graph input (NCHW) and between convs (NHWC), against the reference.
    func testResizeRunsFastInEitherLayout() throws {
        let forms: [(mode: String, coordinates: String, nearest: String)] = [
            ("nearest", "asymmetric", "floor"), ("nearest", "half_pixel", "round_prefer_floor"),
            ("nearest", "align_corners", "round_prefer_ceil"), ("nearest", "pytorch_half_pixel", "ceil"),
            ("linear", "half_pixel", "floor"), ("linear", "pytorch_half_pixel", "floor"),
            ("linear", "align_corners", "floor"), ("linear", "asymmetric", "floor"),
            ("linear", "half_pixel_symmetric", "floor"),
        ]
        let resizeInputs: [(name: String, inputs: [String], initializers: [String: Tensor])] = [
            ("scales", ["", "scales"], ["scales": try Tensor(shape: [4], floats: [1, 1, 2, 1.5])]),
            ("downscales", ["", "scales"], ["scales": try Tensor(shape: [4], floats: [1, 1, 0.6, 0.5])]),
            ("sizes", ["", "", "sizes"], ["sizes": try Tensor(shape: [4], scalars: [Int64(1), 3, 11, 4])]),
        ]
        for form in forms {
            for parameters in resizeInputs {
                let attributes: [String: AttributeValue] = [
                    "mode": .string(form.mode), "coordinate_transformation_mode": .string(form.coordinates),
                    "nearest_mode": .string(form.nearest),
                ]
                let message = "\(form) \(parameters.name)"
                let alone = Graph(
                    name: "resize", inputs: [info("x", [1, 3, 5, 7])], outputs: [info("y", [])],
                    initializers: parameters.initializers, valueInfo: [],
                    nodes: [Node(name: "resize", opType: "Resize", inputs: ["x"] + parameters.inputs, outputs: ["y"],
                                 attributes: attributes)])
                XCTAssertEqual(try checkOptimized(alone, opset: 19), ["FastResize": 1], message)
                let betweenConvs = Graph(
                    name: "resize", inputs: [info("x", [1, 2, 5, 7])], outputs: [info("y", [])],
                    initializers: parameters.initializers.merging(
                        ["w1": try tensor([3, 2, 1, 1], seed: 120), "w2": try tensor([2, 3, 1, 1], seed: 121)]) { $1 },
                    valueInfo: [],
                    nodes: [Node(name: "c1", opType: "Conv", inputs: ["x", "w1"], outputs: ["a"]),
                            Node(name: "resize", opType: "Resize", inputs: ["a"] + parameters.inputs, outputs: ["r"],
                                 attributes: attributes),
                            Node(name: "c2", opType: "Conv", inputs: ["r", "w2"], outputs: ["y"])])
                let steps = try checkOptimized(betweenConvs, opset: 19)
                XCTAssertEqual(steps["FastResizeNHWC"], 1, "\(message): \(steps)")
                XCTAssertEqual(steps["ToNCHW"], 1, "\(message): \(steps)")
            }
        }
    }

    func testPermuteToChannelsLastAfterAConvIsNoCopy() throws {
        // ConvNeXt: depthwise conv, permute(0, 2, 3, 1), Linear on the channels-last tensor.
        let graph = Graph(
            name: "permute", inputs: [info("x", [1, 4, 5, 6])], outputs: [info("y", [1, 5, 6, 3])],
            initializers: ["w": try tensor([4, 1, 3, 3], seed: 130), "m": try tensor([4, 3], seed: 131)],
            valueInfo: [],
            nodes: [Node(name: "dw", opType: "Conv", inputs: ["x", "w"], outputs: ["c"],
                         attributes: ["group": .int(4), "pads": .ints([1, 1, 1, 1])]),
                    Node(name: "permute", opType: "Transpose", inputs: ["c"], outputs: ["p"],
                         attributes: ["perm": .ints([0, 2, 3, 1])]),
                    Node(name: "linear", opType: "MatMul", inputs: ["p", "m"], outputs: ["y"])])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps, ["ToNHWC": 1, "FusedConv": 1, "ChannelsLastAsIs": 1, "PackedGemm": 1], "\(steps)")
    }

    /// DenseNet's norm + relu after a concat (no conv before it to fold into): one pass, NHWC between convs.
    func testBatchNormalizationWithoutAConvRunsAsOneChannelAffine() throws {
        let statistics: [String: Tensor] = [
            "scale": try tensor([5], seed: 140), "shift": try tensor([5], seed: 141), "mean": try tensor([5], seed: 142),
            "var": try Tensor(shape: [5], floats: [0.5, 1, 2, 4, 0.25]),
        ]
        func normalize(_ input: String, _ output: String) -> [Node] {
            [Node(name: "bn", opType: "BatchNormalization", inputs: [input, "scale", "shift", "mean", "var"],
                  outputs: [output + "_bn"]),
             Node(name: "relu", opType: "Relu", inputs: [output + "_bn"], outputs: [output])]
        }
        let alone = Graph(name: "bn", inputs: [info("x", [2, 5, 3, 4])], outputs: [info("y", [2, 5, 3, 4])],
                          initializers: statistics, valueInfo: [], nodes: normalize("x", "y"))
        XCTAssertEqual(try checkOptimized(alone), ["ChannelAffine": 1])
        let afterConcat = Graph(
            name: "bn", inputs: [info("x", [1, 3, 4, 6])], outputs: [info("y", [1, 2, 4, 6])],
            initializers: statistics.merging(["w1": try tensor([2, 3, 1, 1], seed: 143),
                                              "w2": try tensor([2, 5, 1, 1], seed: 144)]) { $1 },
            valueInfo: [],
            nodes: [Node(name: "c1", opType: "Conv", inputs: ["x", "w1"], outputs: ["a"]),
                    Node(name: "concat", opType: "Concat", inputs: ["a", "x"], outputs: ["c"],
                         attributes: ["axis": .int(1)])]
                + normalize("c", "n") + [Node(name: "c2", opType: "Conv", inputs: ["n", "w2"], outputs: ["y"])])
        let steps = try checkOptimized(afterConcat)
        XCTAssertEqual(steps, ["ToNHWC": 1, "FusedConv": 1, "ConcatNHWC": 1, "PreactivatedConv": 1, "ToNCHW": 1],
                       "\(steps)")
    }

    func testTransposedKeyIsPackedInsteadOfTransposed() throws {
        // scores = q @ k.transpose(-2, -1) with k [batch, heads, tokens, d].
        let graph = Graph(
            name: "scores", inputs: [info("q", [2, 3, 7, 5]), info("k", [2, 3, 6, 5])],
            outputs: [info("y", [2, 3, 7, 6])], initializers: [:], valueInfo: [],
            nodes: [Node(name: "kt", opType: "Transpose", inputs: ["k"], outputs: ["t"],
                         attributes: ["perm": .ints([0, 1, 3, 2])]),
                    Node(name: "matmul", opType: "MatMul", inputs: ["q", "t"], outputs: ["y"])])
        XCTAssertEqual(try checkOptimized(graph), ["BatchedMatMul": 1])
    }

    // MARK: - Elementwise

    func testSwishAndHardSwishChainsFuseIntoConvolutions() throws {
        let graph = Graph(
            name: "swish", inputs: [info("x", [1, 5, 6, 7])], outputs: [info("y", [1, 6, 6, 7])],
            initializers: ["w1": try tensor([8, 5, 1, 1], seed: 70), "w2": try tensor([8, 1, 3, 3], seed: 71),
                           "w3": try tensor([6, 8, 1, 1], seed: 72)],
            valueInfo: [],
            nodes: [
                Node(name: "conv1", opType: "Conv", inputs: ["x", "w1"], outputs: ["c1"]),
                Node(name: "sigmoid", opType: "Sigmoid", inputs: ["c1"], outputs: ["s1"]),
                Node(name: "swish", opType: "Mul", inputs: ["c1", "s1"], outputs: ["a1"]),
                Node(name: "conv2", opType: "Conv", inputs: ["a1", "w2"], outputs: ["c2"],
                     attributes: ["group": .int(8), "pads": .ints([1, 1, 1, 1])]),
                Node(name: "hardsigmoid", opType: "HardSigmoid", inputs: ["c2"], outputs: ["s2"],
                     attributes: ["alpha": .float(Float(1) / 6)]),
                Node(name: "hardswish", opType: "Mul", inputs: ["s2", "c2"], outputs: ["a2"]),
                Node(name: "conv3", opType: "Conv", inputs: ["a2", "w3"], outputs: ["c3"]),
                Node(name: "gelu", opType: "Erf", inputs: ["c3"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["FusedInvertedBottleneck"], 1, "\(steps)")
        XCTAssertNil(steps["FusedConv"], "\(steps)")
        for absorbed in ["Sigmoid", "HardSigmoid", "Mul", "Swish", "HardSwish", "Erf"] {
            XCTAssertNil(steps[absorbed], "\(absorbed) should be in a convolution's store: \(steps)")
        }
    }

    /// x * clip(x + 3, 0, 6) / 6 in both orders, with / 6 or * (1/6), Clip with constant inputs (opset 11+).
    func testDecomposedHardSwishBecomesOneActivationInTheConvolution() throws {
        let initializers: [String: Tensor] = [
            "w1": try tensor([6, 3, 1, 1], seed: 110), "w2": try tensor([5, 6, 1, 1], seed: 111),
            "three": try Tensor(shape: [], floats: [3]), "zero": try Tensor(shape: [], floats: [0]),
            "six": try Tensor(shape: [], floats: [6]), "sixth": try Tensor(shape: [1], floats: [Float(1) / 6]),
        ]
        let graph = Graph(
            name: "hardswish", inputs: [info("x", [1, 3, 4, 5])], outputs: [info("y", [1, 5, 4, 5])],
            initializers: initializers, valueInfo: [],
            nodes: [
                Node(name: "conv1", opType: "Conv", inputs: ["x", "w1"], outputs: ["c1"]),
                Node(name: "add1", opType: "Add", inputs: ["c1", "three"], outputs: ["a1"]),
                Node(name: "clip1", opType: "Clip", inputs: ["a1", "zero", "six"], outputs: ["r1"]),
                Node(name: "mul1", opType: "Mul", inputs: ["c1", "r1"], outputs: ["m1"]),
                Node(name: "div1", opType: "Div", inputs: ["m1", "six"], outputs: ["h1"]),
                Node(name: "conv2", opType: "Conv", inputs: ["h1", "w2"], outputs: ["c2"]),
                Node(name: "add2", opType: "Add", inputs: ["three", "c2"], outputs: ["a2"]),
                Node(name: "clip2", opType: "Clip", inputs: ["a2", "zero", "six"], outputs: ["r2"]),
                Node(name: "scale2", opType: "Mul", inputs: ["r2", "sixth"], outputs: ["s2"]),
                Node(name: "mul2", opType: "Mul", inputs: ["s2", "c2"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["FusedConv"], 2, "\(steps)")
        for gone in ["Add", "Clip", "Mul", "Div", "HardSwish"] {
            XCTAssertNil(steps[gone], "\(gone): \(steps)")
        }
    }

    /// MobileNetV3's squeeze-excite: the scale [N, C, 1, 1] multiplies the NHWC activation without a transform,
    /// inside the projection reading the product.
    func testSqueezeExciteStaysChannelsLast() throws {
        let graph = Graph(
            name: "se", inputs: [info("x", [2, 4, 5, 6])], outputs: [info("y", [2, 4, 5, 6])],
            initializers: ["w": try tensor([12, 4, 1, 1], seed: 80), "w1": try tensor([3, 12, 1, 1], seed: 81),
                           "b1": try tensor([3], seed: 82), "w2": try tensor([12, 3, 1, 1], seed: 83),
                           "b2": try tensor([12], seed: 84), "w3": try tensor([4, 12, 1, 1], seed: 85)],
            valueInfo: [],
            nodes: [
                Node(name: "expand", opType: "Conv", inputs: ["x", "w"], outputs: ["e"]),
                Node(name: "hardswish", opType: "HardSwish", inputs: ["e"], outputs: ["h"]),
                Node(name: "pool", opType: "GlobalAveragePool", inputs: ["h"], outputs: ["p"]),
                Node(name: "squeeze", opType: "Conv", inputs: ["p", "w1", "b1"], outputs: ["q"]),
                Node(name: "relu", opType: "Relu", inputs: ["q"], outputs: ["r"]),
                Node(name: "excite", opType: "Conv", inputs: ["r", "w2", "b2"], outputs: ["t"]),
                Node(name: "gate", opType: "HardSigmoid", inputs: ["t"], outputs: ["s"]),
                Node(name: "scale", opType: "Mul", inputs: ["h", "s"], outputs: ["m"]),
                Node(name: "project", opType: "Conv", inputs: ["m", "w3"], outputs: ["c"]),
                Node(name: "residual", opType: "Add", inputs: ["c", "x"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph, opset: 14)
        XCTAssertNil(steps["Mul"], "\(steps)")
        XCTAssertEqual(steps["ScaledPointwiseConv"], 1, "\(steps)")
        XCTAssertEqual(steps["ToNCHW"], 1, "only the graph output goes back to NCHW: \(steps)")
        XCTAssertEqual(steps["ToNHWC"], 2, "the graph input and the pooled [N, C, 1, 1]: \(steps)")
        XCTAssertNil(steps["HardSigmoid"], "\(steps)")
        XCTAssertNil(steps["HardSwish"], "\(steps)")
    }

    /// Squeeze-excite written with ReduceMean over H, W (kept or dropped) pools the NHWC tensor directly.
    func testReduceMeanOverSpaceIsAGlobalAveragePool() throws {
        let graph = Graph(
            name: "reducemean", inputs: [info("x", [2, 3, 5, 6])],
            outputs: [info("y", [2, 8, 5, 6]), info("pooled", [2, 8])],
            initializers: ["w": try tensor([8, 3, 3, 3], seed: 120), "w1": try tensor([8, 8, 1, 1], seed: 121)],
            valueInfo: [],
            nodes: [
                Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["c"],
                     attributes: ["pads": .ints([1, 1, 1, 1])]),
                Node(name: "mean", opType: "ReduceMean", inputs: ["c"], outputs: ["m"],
                     attributes: ["axes": .ints([-1, 2])]),
                Node(name: "excite", opType: "Conv", inputs: ["m", "w1"], outputs: ["e"]),
                Node(name: "gate", opType: "Sigmoid", inputs: ["e"], outputs: ["s"]),
                Node(name: "scale", opType: "Mul", inputs: ["c", "s"], outputs: ["y"]),
                Node(name: "flat", opType: "ReduceMean", inputs: ["c"], outputs: ["pooled"],
                     attributes: ["axes": .ints([2, 3]), "keepdims": .int(0)]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["GlobalAveragePoolNHWC"], 2, "\(steps)")
        XCTAssertNil(steps["ReduceMean"], "\(steps)")
    }

    /// tf2onnx's NHWC graphs: the Transposes to NHWC and back around the elementwise ops with per-channel constants
    /// cancel (the ops run on the conv's output, constants permuted), and the last one, of the graph output, is a
    /// view of the NHWC tensor.
    func testTransposesAroundConvolutionsCancel() throws {
        let graph = Graph(
            name: "tf2onnx", inputs: [info("x", [1, 3, 5, 4])], outputs: [info("y", [1, 5, 4, 6])],
            initializers: ["w1": try tensor([6, 3, 1, 1], seed: 90), "w2": try tensor([6, 6, 3, 3], seed: 91),
                           "k": try tensor([6], seed: 92), "d": try Tensor(shape: [6], floats: [1, 2, 3, 4, 5, 6])],
            valueInfo: [],
            nodes: [
                Node(name: "conv1", opType: "Conv", inputs: ["x", "w1"], outputs: ["c1"]),
                Node(name: "to_nhwc", opType: "Transpose", inputs: ["c1"], outputs: ["t1"],
                     attributes: ["perm": .ints([0, 2, 3, 1])]),
                Node(name: "sub", opType: "Sub", inputs: ["k", "t1"], outputs: ["s"]),
                Node(name: "div", opType: "Div", inputs: ["s", "d"], outputs: ["q"]),
                Node(name: "to_nchw", opType: "Transpose", inputs: ["q"], outputs: ["t2"],
                     attributes: ["perm": .ints([0, 3, 1, 2])]),
                Node(name: "conv2", opType: "Conv", inputs: ["t2", "w2"], outputs: ["c2"],
                     attributes: ["pads": .ints([1, 1, 1, 1])]),
                Node(name: "back", opType: "Transpose", inputs: ["c2"], outputs: ["y"],
                     attributes: ["perm": .ints([0, 2, 3, 1])]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertNil(steps["Transpose"], "\(steps)")
        XCTAssertNil(steps["ToNCHW"], "\(steps)")
        XCTAssertEqual(steps["ChannelsLastAsIs"], 1, "\(steps)")
        XCTAssertEqual(steps["Sub"], 1, "\(steps)")
    }

    /// A per-channel constant ([C, 1, 1]) and a constant with the activation's full shape meet an NHWC activation:
    /// both are re-laid for NHWC once; a rank-1 activation broadcast along W is read in place.
    func testArithmeticOnChannelsLastValuesWithConstantsOfEveryShape() throws {
        let graph = Graph(
            name: "relaid", inputs: [info("x", [2, 3, 4, 5]), info("v", [5])], outputs: [info("y", [2, 4, 4, 5])],
            initializers: ["w1": try tensor([4, 3, 1, 1], seed: 100), "w2": try tensor([4, 4, 1, 1], seed: 101),
                           "d": try Tensor(shape: [4, 1, 1], floats: [0.5, 1.5, -2, 4]), "f": try tensor([1, 4, 4, 5], seed: 103),
                           "two": try Tensor(shape: [], floats: [2])],
            valueInfo: [],
            nodes: [
                Node(name: "conv1", opType: "Conv", inputs: ["x", "w1"], outputs: ["c1"]),
                Node(name: "div", opType: "Div", inputs: ["c1", "d"], outputs: ["q"]),
                Node(name: "sub", opType: "Sub", inputs: ["f", "q"], outputs: ["s"]),
                Node(name: "scale", opType: "Mul", inputs: ["s", "v"], outputs: ["m"]),
                Node(name: "square", opType: "Pow", inputs: ["m", "two"], outputs: ["p"]),
                Node(name: "conv2", opType: "Conv", inputs: ["p", "w2"], outputs: ["y"]),
            ])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["ToNCHW"], 1, "\(steps)")
        XCTAssertEqual(steps["ToNHWC"], 1, "\(steps)")
        XCTAssertEqual(steps["Div"], 1, "\(steps)")
        XCTAssertEqual(steps["Square"], 1, "Pow(x, 2) runs as a square: \(steps)")
    }

    /// More broadcast axes than the C loop takes fall back to the reference kernel inside the fast operator.
    func testBroadcastingOfManyAxes() throws {
        let graph = Graph(
            name: "rank7", inputs: [info("a", [2, 3, 2, 3, 2, 3, 2]), info("b", [3, 1, 3, 1, 3, 1])],
            outputs: [info("y", [2, 3, 2, 3, 2, 3, 2])], initializers: [:], valueInfo: [],
            nodes: [Node(name: "add", opType: "Add", inputs: ["a", "b"], outputs: ["y"])])
        let steps = try checkOptimized(graph)
        XCTAssertEqual(steps["Add"], 1, "\(steps)")
    }
}
