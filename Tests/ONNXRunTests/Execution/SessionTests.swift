// The session's contract: input validation errors, unsupported operators reported together, concurrent runs,
// and the optimizer's rewrites visible in the executed steps.

import Foundation
import ONNXRunTestSupport
import Synchronization
import XCTest

@testable import ONNXRun

final class SessionTests: XCTestCase {
    private var mobileNetPath: String {
        TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
    }

    private func referenceInput(_ set: Int = 0) throws -> Tensor {
        try ModelLoader.loadTensor(contentsOf: TestPaths.models
            .appendingPathComponent("mobilenetv2-0.35-96/test_data_set_\(set)/input_0.pb").path).tensor
    }

    private func expectError(_ kind: ONNXRunError.Kind, containing fragments: [String],
                             file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as ONNXRunError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(error.description.contains(fragment), "'\(fragment)' not in: \(error)", file: file, line: line)
            }
        } catch {
            XCTFail("not an ONNXRunError: \(error)", file: file, line: line)
        }
    }

    // MARK: Inputs

    func testDynamicBatchRunsAtBatchOneAndThree() throws {
        let session = try InferenceSession(contentsOf: mobileNetPath)
        let name = session.inputs[0].name
        XCTAssertEqual(session.inputs[0].type?.shape?.first, .symbolic("batch"))
        let single = try session.run([name: try referenceInput(0)])
        let triple = try session.run([name: try referenceInput(1)])
        XCTAssertEqual(single[session.outputs[0].name]?.shape.first, 1)
        XCTAssertEqual(triple[session.outputs[0].name]?.shape.first, 3)
    }

    func testFixedBatchRejectsAnotherBatchNamingTheInputAndShapes() throws {
        // A model with fixed shapes: one Conv (made by tools/make_operator_models.py).
        let directory = TestPaths.models.appendingPathComponent("operators/conv_3x3_group1_bias_pads1")
        let session = try InferenceSession(contentsOf: directory.appendingPathComponent("model.onnx").path)
        let input = session.inputs[0]
        let declared = try XCTUnwrap(input.type?.fixedShape)
        var wrong = declared
        wrong[0] = 3
        let tensor = try Tensor(shape: wrong, floats: [Float](repeating: 0, count: wrong.reduce(1, *)))
        expectError(.invalidInput, containing: [input.name, describeShape(declared), describeShape(wrong)]) {
            _ = try session.run([input.name: tensor])
        }
    }

    func testMissingUnknownAndMistypedInputs() throws {
        let session = try InferenceSession(contentsOf: mobileNetPath)
        let name = session.inputs[0].name
        expectError(.invalidInput, containing: ["'\(name)' is missing"]) { _ = try session.run([:]) }
        expectError(.invalidInput, containing: ["no input 'nope'", name]) {
            _ = try session.run([name: try referenceInput(), "nope": Tensor(scalar: Float(1))])
        }
        let integers = try Tensor(shape: [1, 3, 96, 96], scalars: [Int64](repeating: 0, count: 3 * 96 * 96))
        expectError(.invalidInput, containing: ["int64", "float"]) { _ = try session.run([name: integers]) }
        let wrongRank = try Tensor(shape: [3, 96, 96], floats: [Float](repeating: 0, count: 3 * 96 * 96))
        expectError(.invalidInput, containing: ["[3,96,96]"]) { _ = try session.run([name: wrongRank]) }
    }

    // MARK: Loading

    func testEveryUnsupportedOperatorIsReportedInOneError() throws {
        let input = ValueInfo(name: "x", type: TensorType(elementType: .float, fixedShape: [1, 4]))
        let graph = Graph(
            name: "g", inputs: [input],
            outputs: [ValueInfo(name: "z", type: TensorType(elementType: .float, fixedShape: [1, 4]))],
            initializers: [:], valueInfo: [],
            nodes: [
                Node(name: "first", opType: "NoSuchOp", inputs: ["x"], outputs: ["y"]),
                Node(name: "second", opType: "Relu", inputs: ["y"], outputs: ["y2"]),
                Node(name: "third", opType: "AlsoMissing", domain: "com.example", inputs: ["y2"], outputs: ["z"]),
            ])
        let model = Model(irVersion: 8, opsetImports: ["": 13, "com.example": 1], graph: graph, source: "test.onnx")
        expectError(.unsupported, containing: ["test.onnx", "NoSuchOp (ai.onnx, opset 13) used by 'first'",
                                               "AlsoMissing (com.example, opset 1) used by 'third'"]) {
            _ = try InferenceSession(model: model)
        }
    }

    func testReturnedOutputsAreNotOverwrittenByTheNextRun() throws {
        // Conv (a planned kernel writing an arena buffer) -> Flatten (a view of that buffer) -> graph output.
        let weights = try Tensor(shape: [2, 1, 1, 1], floats: [1, -1])
        let graph = Graph(
            name: "g", inputs: [ValueInfo(name: "x", type: TensorType(elementType: .float, fixedShape: [1, 1, 2, 2]))],
            outputs: [ValueInfo(name: "y", type: TensorType(elementType: .float, fixedShape: [1, 8]))],
            initializers: ["w": weights], valueInfo: [],
            nodes: [
                Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["c"]),
                Node(name: "flatten", opType: "Flatten", inputs: ["c"], outputs: ["y"]),
            ])
        let session = try InferenceSession(model: Model(irVersion: 8, opsetImports: ["": 13], graph: graph))
        let first = try XCTUnwrap(session.run(["x": try Tensor(shape: [1, 1, 2, 2], floats: [1, 2, 3, 4])])["y"])
        _ = try session.run(["x": try Tensor(shape: [1, 1, 2, 2], floats: [5, 6, 7, 8])])
        XCTAssertEqual(first.floats, [1, 2, 3, 4, -1, -2, -3, -4])
    }

    // MARK: Threads

    func testConcurrentRunsAgreeWithASingleRun() throws {
        let session = try InferenceSession(contentsOf: mobileNetPath, options: SessionOptions(threadCount: 2))
        let name = session.inputs[0].name, output = session.outputs[0].name
        let input = try referenceInput(1)
        let expected = try XCTUnwrap(session.run([name: input])[output]).floats
        let results = Mutex<[[Float]]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<3 {
                let values = (try? session.run([name: input])[output]?.floats) ?? []
                results.withLock { $0.append(values) }
            }
        }
        for values in results.withLock({ $0 }) {
            XCTAssertEqual(values, expected)
        }
    }

    func testOneAndTwoThreadsAgree() throws {
        let input = try referenceInput(1)
        var outputs: [[Float]] = []
        for threads in [1, 2] {
            let session = try InferenceSession(contentsOf: mobileNetPath, options: SessionOptions(threadCount: threads))
            outputs.append(try XCTUnwrap(session.run([session.inputs[0].name: input])[session.outputs[0].name]).floats)
        }
        let difference = zip(outputs[0], outputs[1]).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(difference, 1e-5)
    }

    // MARK: Optimizer

    /// The executed steps of one profiled run, by op type.
    private func executedOpTypes(_ path: String) throws -> [String: Int] {
        let session = try InferenceSession(contentsOf: path)
        let input = session.inputs[0]
        let shape = (input.type?.shape ?? []).map { $0.value ?? 1 }
        var timings: [NodeTiming] = []
        _ = try session.run([input.name: Tensor(zeros: .float, shape: shape)], timings: &timings)
        return timings.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
    }

    func testMobileNetV2RunsAsFusedConvolutionsOnly() throws {
        let steps = try executedOpTypes(mobileNetPath)
        // 52 Conv, each with its Clip or residual Add fused: no standalone Clip, Add or BatchNormalization.
        // The 16 expansion 1x1 convs each run inside one step with the depthwise conv that reads them and the
        // projection (+ residual) after it; the first block (no expansion) runs its depthwise and projection in one
        // step with the stem before it as the expansion; the last 1x1 runs alone: 16 * 3 + 3 + 1 = 52.
        XCTAssertEqual(steps["FusedInvertedBottleneck"], 17, "\(steps)")
        XCTAssertEqual(steps["FusedConv"], 1, "\(steps)")
        for op in ["Conv", "Clip", "Add", "BatchNormalization"] {
            XCTAssertNil(steps[op], "\(op) should be fused away: \(steps)")
        }
        // One transform into NHWC at the input; GlobalAveragePool reads NHWC and leaves it.
        XCTAssertEqual(steps["ToNHWC"], 1, "\(steps)")
        XCTAssertNil(steps["ToNCHW"], "\(steps)")
    }

    func testKerasExportRunsAsFusedConvolutionsOnly() throws {
        // tf2onnx: NHWC input through Transpose, depthwise BatchNorm as Mul + Add, Pad before stride-2 depthwise,
        // MatMul + Add classifier.
        let path = TestPaths.models.appendingPathComponent("keras-mobilenetv2-0.35-96/model.onnx").path
        let steps = try executedOpTypes(path)
        // 52 Conv: 16 expansion + depthwise + projection blocks and the stem + first depthwise + projection run as
        // one step each (as in the PyTorch export), the last 1x1 alone.
        XCTAssertEqual(steps["FusedInvertedBottleneck"], 17, "\(steps)")
        XCTAssertEqual(steps["FusedConv"], 1, "\(steps)")
        for op in ["Conv", "Mul", "Add", "Clip", "Pad", "Transpose", "ToNHWC", "ToNCHW"] {
            XCTAssertNil(steps[op], "\(op) should be folded or fused away: \(steps)")
        }
    }

    func testPadIsFoldedIntoConvolution() throws {
        let path = try TestPaths.requireShared("models/efficientnet-lite0-imagenet-torch-op13/model.onnx").path
        let steps = try executedOpTypes(path)
        XCTAssertNil(steps["Pad"], "\(steps)")
        XCTAssertNil(steps["Conv"], "\(steps)")
    }
}
