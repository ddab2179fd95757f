// Quantized and float16 models made by onnxruntime's own tools (tools/quantize.py) against onnxruntime's outputs,
// with the acceptance of issue #9: static int8 (QDQ, QOperator) every output within 2 quanta (the final
// DequantizeLinear's scale) and >= 99 % within 1; dynamic int8 within 1e-3 x max(1, max|ref|); float16 within
// 5e-2 x max(1, max|ref|); the same top-1 everywhere. Reference kernels and the optimized path alike — except for a
// QDQ model's reference run, which is the ONNX spec's float path (DequantizeLinear -> float Conv -> QuantizeLinear):
// onnxruntime fuses every unit into an integer operator (as the optimized path does), and one rounding flipped by a
// different float summation order compounds over the network (onnxruntime's own fused and unfused runs of this model
// differ by 13 quanta). There only the top-1 is checked; the quanta are printed.

import Foundation
import ONNXRunTestSupport
import ONNXRunConformance
import XCTest

@testable import ONNXRun

final class QuantizedModelTests: XCTestCase {
    enum Acceptance {
        /// Within `2` quanta everywhere, `>= 99 %` within 1.
        case quanta
        /// Within `factor * max(1, max|reference|)`.
        case relative(Float)
    }

    /// The scale of the DequantizeLinear that produces graph output `name` (the output's quantum).
    private func outputQuantum(_ model: Model, _ name: String) throws -> Float {
        let node = try XCTUnwrap(model.graph.nodes.first { $0.opType == "DequantizeLinear" && $0.outputs.first == name },
                                 "no DequantizeLinear produces \(name)")
        return try XCTUnwrap(model.graph.initializers[node.inputs[1]]?.floats.first, "the output's scale is not constant")
    }

    /// Runs every test_data_set of `folder` (reference kernels and optimized) and applies `acceptance`.
    /// Returns the optimized run's outputs per test set.
    @discardableResult
    private func check(_ folder: String, _ acceptance: Acceptance, referenceIsFloatPath: Bool = false,
                       levels: [OptimizationLevel] = [.none, .all],
                       file: StaticString = #filePath, line: UInt = #line) throws -> [String: [String: Tensor]] {
        let directory = TestPaths.models.appendingPathComponent(folder)
        let model = try ModelLoader.load(contentsOf: directory.appendingPathComponent("model.onnx").path)
        let sets = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix("test_data_set_") }.sorted()
        XCTAssertFalse(sets.isEmpty, "\(folder) has no test data", file: file, line: line)
        var optimizedOutputs: [String: [String: Tensor]] = [:]
        for level in levels {
            let session = try InferenceSession(model: model, options: SessionOptions(threadCount: 1, optimizationLevel: level))
            var worst: Float = 0, withinOne = 0, total = 0
            for set in sets {
                var feeds: [String: Tensor] = [:]
                for (index, input) in try ConformanceCase(folder: directory).numberedTensors(in: set, prefix: "input_").enumerated() {
                    feeds[session.inputs[index].name] = input.tensor
                }
                let outputs = try session.run(feeds)
                if level == .all { optimizedOutputs[set] = outputs }
                for (index, expected) in try ConformanceCase(folder: directory).numberedTensors(in: set, prefix: "output_").enumerated() {
                    let name = session.outputs[index].name
                    let label = "\(folder) \(set) \(level == .none ? "reference" : "optimized") '\(name)'"
                    let actual = try XCTUnwrap(outputs[name], label, file: file, line: line)
                    XCTAssertEqual(actual.elementType, expected.tensor.elementType, label, file: file, line: line)
                    XCTAssertEqual(actual.shape, expected.tensor.shape, label, file: file, line: line)
                    let a = try castTensor(actual, to: .float).floats, b = try castTensor(expected.tensor, to: .float).floats
                    guard a.count == b.count else { continue }
                    let differences = zip(a, b).map { abs($0 - $1) }
                    switch acceptance {
                    case .quanta:
                        let quantum = try outputQuantum(model, name)
                        let steps = differences.map { $0 / quantum }
                        worst = max(worst, steps.max() ?? 0)
                        withinOne += steps.filter { $0 <= 1.01 }.count
                        total += steps.count
                        if !(referenceIsFloatPath && level == .none) {
                            XCTAssertLessThanOrEqual(steps.max() ?? 0, 2.01, "\(label): quanta off", file: file, line: line)
                        }
                    case .relative(let factor):
                        let bound = factor * max(1, b.map(abs).max() ?? 0)
                        worst = max(worst, (differences.max() ?? 0) / max(1, b.map(abs).max() ?? 0))
                        XCTAssertLessThanOrEqual(differences.max() ?? 0, bound, "\(label): max abs difference",
                                                 file: file, line: line)
                    }
                    if actual.rank == 2, let classes = actual.shape.last, classes > 1 {
                        for row in 0..<actual.shape[0] {
                            let slice = row * classes..<(row + 1) * classes
                            XCTAssertEqual(argmax(a[slice]), argmax(b[slice]), "\(label): top-1 of row \(row)",
                                           file: file, line: line)
                        }
                    }
                }
            }
            if total > 0 {
                let share = Double(withinOne) / Double(total)
                if !(referenceIsFloatPath && level == .none) {
                    XCTAssertGreaterThanOrEqual(share, 0.99, "\(folder): share within one quantum", file: file, line: line)
                }
                print("\(folder) \(level): worst \(worst) quanta, \(String(format: "%.2f", share * 100)) % within 1")
            } else {
                print("\(folder) \(level): worst |difference| / max(1, max|ref|) = \(worst)")
            }
        }
        return optimizedOutputs
    }

    func testMobileNetV2QDQStatic() throws { try check("mobilenetv2-0.35-96-qdq", .quanta, referenceIsFloatPath: true) }
    func testMobileNetV2QOperatorStatic() throws { try check("mobilenetv2-0.35-96-qoperator", .quanta) }
    /// Concat, AveragePool and Softmax units (tools/make_qdq_units.py), which onnxruntime fuses into QLinearConcat,
    /// QLinearAveragePool and QLinearSoftmax.
    func testQDQConcatAveragePoolSoftmaxUnits() throws { try check("qdq-units", .quanta, referenceIsFloatPath: true) }

    func testMobileNetV2Dynamic() throws { try check("mobilenetv2-0.35-96-dynamic", .relative(1e-3)) }
    func testMobileNetV2Float16() throws { try check("mobilenetv2-0.35-96-float16", .relative(5e-2)) }

    /// Small models of every layer kind MobileNetV2 has, batch 2 (tools/make_reduced_precision_units.py): dynamic
    /// int8 per tensor, dynamic uint8 weights with zero points and a per-column MatMulInteger, float16.
    func testDynamicUnitsInt8() throws { try check("dynamic-units-int8", .relative(1e-3)) }
    func testDynamicUnitsUInt8PerChannel() throws { try check("dynamic-units-uint8-per-channel", .relative(1e-3)) }
    func testFloat16Units() throws { try check("float16-units", .relative(5e-2)) }

    /// convert_float_to_float16(keep_io_types=False): float16 inputs and outputs (Keras MobileNetV2, NHWC, softmax).
    func testFloat16InputsAndOutputs() throws { try check("keras-mobilenetv2-0.35-96-float16-io", .relative(5e-2)) }

    /// The bundled pretrained EfficientNet-Lite0, quantized (QDQ, calibrated on the bundled photos): onnxruntime's
    /// outputs for the photos, and the float model's top-1 (models/images/expected-top5.json). The optimized path
    /// only (the float path of 400 M MACs in a debug build is slow, and ../shared's fp32 tests cover it).
    func testEfficientNetLite0QDQClassifiesLikeTheFloatModel() throws {
        let outputs = try check("efficientnet-lite0-qdq", .quanta, levels: [.all])
        let expected = try JSONSerialization.jsonObject(
            with: Data(contentsOf: TestPaths.models.appendingPathComponent("images/expected-top5.json"))) as? [String: Any]
        let photos = try XCTUnwrap(expected?["photos"] as? [String: [[Any]]], "expected-top5.json has no photos")
        for (set, photo) in [("test_data_set_0", "chelsea"), ("test_data_set_1", "coffee")] {
            let logits = try XCTUnwrap(outputs[set]?.values.first, "no output for \(set)").floats
            let top1 = try XCTUnwrap(photos[photo]?.first?.first as? Int, "expected-top5.json has no \(photo)")
            XCTAssertEqual(argmax(logits[...]), top1, "\(photo): top-1 of the quantized model")
        }
    }
}

private func argmax(_ values: ArraySlice<Float>) -> Int {
    values.indices.max { values[$0] < values[$1] } ?? values.startIndex
}
