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
}
