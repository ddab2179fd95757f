// Keras MobileNetV2 exported by tf2onnx (NHWC input, Clip-as-Relu6, BatchNorm as Mul/Add) against onnxruntime.

import Foundation
import ONNXRunTestSupport
import XCTest

@testable import ONNXRun

final class KerasModelTests: XCTestCase {
    /// tools/export_keras_mobilenetv2.py --alpha 0.35 --size 96 --opset 13 --classes 10 --dynamic-batch.
    static var modelDirectory: URL { TestPaths.models.appendingPathComponent("keras-mobilenetv2-0.35-96") }

    // MARK: - Against onnxruntime

    /// Reference and optimized sessions, 1 and 2 threads, batch 1 and batch 3, within 1e-4 of onnxruntime.
    func testCommittedKerasMobileNetV2MatchesOnnxRuntime() throws {
        try ModelReferenceTests.checkModel(at: Self.modelDirectory)
    }

    // MARK: - What the export is

    /// The properties that make this the Keras case: NHWC input with a symbolic batch, the tf2onnx node forms the
    /// optimizer meets, and Keras's preprocessing hints. If a re-export lost one, the test above would test less.
    func testExportHasKerasLayoutAndTf2onnxNodeForms() throws {
        let model = try ModelLoader.load(contentsOf: Self.modelDirectory.appendingPathComponent("model.onnx").path)
        XCTAssertEqual(model.producerName, "tf2onnx")
        let input = try XCTUnwrap(model.graph.inputs.first?.type?.shape)
        XCTAssertEqual(input.count, 4)
        XCTAssertNil(input.first?.value, "batch should be symbolic")
        XCTAssertEqual(input.dropFirst().map(\.value), [96, 96, 3], "NHWC input as Keras has it")
        let opTypes = Set(model.graph.nodes.map(\.opType))
        for expected in ["Transpose", "Conv", "Clip", "Mul", "Add", "Pad", "GlobalAveragePool", "MatMul", "Softmax"] {
            XCTAssertTrue(opTypes.contains(expected), "tf2onnx's graph should contain \(expected)")
        }
        XCTAssertEqual(model.metadata["onnxrun.preprocess.layout"], "NHWC")
        XCTAssertEqual(model.metadata["onnxrun.preprocess.normalization"], "inception")
        XCTAssertEqual(model.metadata["onnxrun.postprocess.output"], "probabilities")
    }

    /// The three images of test_data_set_1 give clearly different probabilities, so a runtime that ignored (or
    /// mislaid, e.g. read as NCHW) its input could not match the references by accident.
    func testReferenceOutputsDependOnTheInput() throws {
        let expected = try ModelLoader.loadTensor(contentsOf: Self.modelDirectory
            .appendingPathComponent("test_data_set_1/output_0.pb").path).tensor
        XCTAssertEqual(expected.shape, [3, 10])
        let values = expected.floats
        let rows = (0..<3).map { Array(values[$0 * 10..<($0 + 1) * 10]) }
        for (first, second) in [(0, 1), (0, 2), (1, 2)] {
            let change = zip(rows[first], rows[second]).map { abs($0 - $1) }.max() ?? 0
            XCTAssertGreaterThan(change, 1e-2, "rows \(first) and \(second) differ by only \(change)")
        }
        for row in rows {
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, "softmax rows sum to 1")
        }
    }
}
