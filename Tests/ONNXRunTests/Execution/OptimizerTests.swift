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

    private func tensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
        try Tensor(shape: shape, floats: values(shape.reduce(1, *), seed: seed))
    }

    /// Runs `graph` unoptimized and optimized (1 and 2 threads); checks agreement within 1e-5 and returns the
    /// optimized run's executed op types.
    private func checkOptimized(_ graph: Graph, opset: Int = 13, file: StaticString = #filePath,
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

    private func info(_ name: String, _ shape: [Int]) -> ValueInfo {
        ValueInfo(name: name, type: TensorType(elementType: .float, fixedShape: shape))
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
        XCTAssertEqual(steps["FusedExpandDepthwiseConv"], 1, "\(steps)")
        XCTAssertEqual(steps["FusedConv"], 1, "\(steps)")
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

    /// MobileNetV3's squeeze-excite: the scale [N, C, 1, 1] multiplies the NHWC activation without a transform.
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
        XCTAssertEqual(steps["Mul"], 1, "\(steps)")
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

    /// tf2onnx's NHWC graphs: Transpose(0, 2, 3, 1) after a conv is a view of its NHWC output, elementwise ops with
    /// per-channel constants run on it, and Transpose(0, 3, 1, 2) feeds the next conv without a transform.
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
        XCTAssertEqual(steps["NHWCView"], 2, "\(steps)")
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
