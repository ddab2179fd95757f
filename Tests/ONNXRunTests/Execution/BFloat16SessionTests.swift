// Sessions in `.bf16` precision: the option's fallbacks, and whole models against onnxruntime's float32 outputs.

import Foundation
import ONNXRunTestSupport
import XCTest

@testable import ONNXRun

final class BFloat16SessionTests: XCTestCase {
    private func requireBFloat16Instructions() throws {
        guard Precision.bfloat16Instructions != nil else {
            throw XCTSkip("this CPU lacks AVX512-BF16: a bf16 session runs fp32 (checked by testFallbacks)")
        }
    }

    func testFallbacks() throws {
        let path = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
        XCTAssertEqual(SessionOptions().precision, .fp32)
        XCTAssertEqual(try InferenceSession(contentsOf: path).precision, .fp32)
        // The reference kernels are the oracle: always float32.
        let reference = try InferenceSession(contentsOf: path,
                                             options: SessionOptions(optimizationLevel: .none, precision: .bf16))
        XCTAssertEqual(reference.precision, .fp32)
        XCTAssertEqual(reference.kernelDescription, "fp32 reference kernels")
        let asked = try InferenceSession(contentsOf: path, options: SessionOptions(precision: .bf16))
        XCTAssertEqual(asked.precision, Precision.bfloat16Instructions == nil ? .fp32 : .bf16)
        XCTAssertEqual(asked.kernelDescription.hasPrefix("bf16 "), Precision.bfloat16Instructions != nil,
                       asked.kernelDescription)
    }

    /// Max abs deviation from onnxruntime's float32 logits (measured 2026-11-30: 0.049 and 0.065 on the two photos
    /// for the pretrained EfficientNet-Lite0, 0.12 and 0.16 for the random-weight MobileNetV2 0.35 @96), more than
    /// float32's 1e-5 (the bfloat16 kernels did run) and at most `tolerance`; the same top-1 on the photos.
    private func checkModel(_ name: String, tolerance: Float, sameTopOne: Bool) throws {
        let directory = TestPaths.models.appendingPathComponent(name)
        let model = try ModelLoader.load(contentsOf: directory.appendingPathComponent("model.onnx").path)
        for threads in [1, 2] {
            let session = try InferenceSession(model: model,
                                               options: SessionOptions(threadCount: threads, precision: .bf16))
            XCTAssertEqual(session.precision, .bf16)
            for set in 0..<2 {
                let setURL = directory.appendingPathComponent("test_data_set_\(set)")
                let input = try ModelLoader.loadTensor(contentsOf: setURL.appendingPathComponent("input_0.pb").path)
                let expected = try ModelLoader.loadTensor(
                    contentsOf: setURL.appendingPathComponent("output_0.pb").path).tensor
                let outputs = try session.run([session.inputs[0].name: input.tensor])
                let actual = try XCTUnwrap(outputs[session.outputs[0].name])
                XCTAssertEqual(actual.shape, expected.shape)
                let difference = zip(actual.floats, expected.floats).map { abs($0 - $1) }.max() ?? 0
                let label = "\(name) set \(set), \(threads) threads"
                XCTAssertGreaterThan(difference, 1e-4, "\(label): no bfloat16 rounding visible")
                XCTAssertLessThanOrEqual(difference, tolerance, "\(label): max abs deviation from float32")
                if sameTopOne, let classes = actual.shape.last {
                    for row in 0..<actual.shape[0] {
                        let slice = row * classes..<(row + 1) * classes
                        XCTAssertEqual(ModelReferenceTests.argmax(actual.floats[slice]),
                                       ModelReferenceTests.argmax(expected.floats[slice]), "\(label): top-1")
                    }
                }
            }
        }
    }

    func testPretrainedEfficientNetLite0KeepsTopOne() throws {
        try requireBFloat16Instructions()
        try checkModel("efficientnet-lite0", tolerance: 0.15, sameTopOne: true)
    }

    func testMobileNetV2() throws {
        try requireBFloat16Instructions()
        try checkModel("mobilenetv2-0.35-96", tolerance: 0.3, sameTopOne: false)
    }
}
