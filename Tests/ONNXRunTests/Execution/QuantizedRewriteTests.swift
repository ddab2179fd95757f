// The int8 rewrites on onnxruntime-quantized MobileNetV2 0.35@96 (QOperator and QDQ): every convolution runs on the
// int8 kernels with its residual QLinearAdd fused, the classifier on the int8 GEMM, the input quantization in C,
// and layout transforms only at the chain's edges. (QuantizedModelTests checks the outputs against onnxruntime.)

import Foundation
import ONNXRunTestSupport
import ONNXRunConformance
import XCTest

@testable import ONNXRun

final class QuantizedRewriteTests: XCTestCase {
    /// Op type -> number of executed steps of one optimized run of `folder`'s model on its first test input.
    private func executedSteps(_ folder: String) throws -> [String: Int] {
        let directory = TestPaths.models.appendingPathComponent(folder)
        let session = try InferenceSession(contentsOf: directory.appendingPathComponent("model.onnx").path,
                                           options: SessionOptions(threadCount: 1))
        let input = try XCTUnwrap(ConformanceCase(folder: directory).numberedTensors(in: "test_data_set_0",
                                                                                     prefix: "input_").first)
        var timings: [NodeTiming] = []
        _ = try session.run([session.inputs[0].name: input.tensor], timings: &timings)
        XCTAssertTrue(timings.filter { $0.opType == "QuantizedConv" }.allSatisfy { $0.isIntegerArithmetic && $0.flops > 0 })
        return timings.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
    }

    private func checkMobileNetV2(_ folder: String) throws {
        let steps = try executedSteps(folder)
        // 52 convolutions, 10 of them with their residual QLinearAdd; nothing else computes.
        XCTAssertEqual(steps["QuantizedConv"], 52, "\(folder): \(steps)")
        XCTAssertEqual(steps["QuantizedGemm"], 1, "\(folder): \(steps)")
        // The input's QuantizeLinear in C (the QDQ export also re-quantizes around its classifier's Flatten).
        XCTAssertNotNil(steps["QuantizeToUint8"], "\(folder): \(steps)")
        XCTAssertEqual(steps["QLinearGlobalAveragePoolNHWC"], 1, "\(folder): \(steps)")
        for unexpected in ["QLinearConv", "QLinearAdd", "QGemm", "Conv", "Add", "ToNCHW"] {
            XCTAssertNil(steps[unexpected], "\(folder): \(unexpected) still runs: \(steps)")
        }
        XCTAssertEqual(steps["ToNHWC"], 1, "\(folder): one transform, of the quantized input: \(steps)")
    }

    /// Dynamic quantization: each DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul -> Add chain is one step on the
    /// int8 kernels, with its Clip and residual Add; the classifier's MatMulInteger chain likewise.
    func testDynamicMobileNetV2RunsOnIntegerKernels() throws {
        let steps = try executedSteps("mobilenetv2-0.35-96-dynamic")
        XCTAssertEqual(steps["DynamicQuantizedConv"], 52, "\(steps)")
        XCTAssertEqual(steps["DynamicQuantizedMatMul"], 1, "\(steps)")
        for unexpected in ["DynamicQuantizeLinear", "ConvInteger", "MatMulInteger", "Cast", "Mul", "Add", "Clip", "ToNCHW"] {
            XCTAssertNil(steps[unexpected], "\(unexpected) still runs: \(steps)")
        }
        XCTAssertEqual(steps["ToNHWC"], 1, "one transform, of the input: \(steps)")
    }

    /// float16 with float32 inputs and outputs: the input's Cast to float16 is one vectorized rounding (and the
    /// output's Cast back a copy); everything else runs the steps of the float32 model it was converted from.
    func testFloat16MobileNetV2FusesAsTheFloatModel() throws {
        var steps = try executedSteps("mobilenetv2-0.35-96-float16")
        XCTAssertEqual(steps.removeValue(forKey: "RoundToHalfPrecision"), 1, "\(steps)")
        XCTAssertEqual(steps.removeValue(forKey: "Cast"), 1, "\(steps)")
        XCTAssertEqual(steps, try executedSteps("mobilenetv2-0.35-96"))
    }

    func testQOperatorMobileNetV2RunsOnIntegerKernels() throws { try checkMobileNetV2("mobilenetv2-0.35-96-qoperator") }
    func testQDQMobileNetV2RunsOnIntegerKernels() throws { try checkMobileNetV2("mobilenetv2-0.35-96-qdq") }
}
