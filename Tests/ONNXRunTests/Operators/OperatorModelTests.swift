// Every one-operator case in models/operators (tools/make_operator_models.py, onnxruntime outputs) through the
// reference kernels: all must pass, none may be skipped.

import Foundation
import XCTest
import ONNXRunTestSupport
@testable import ONNXRun

final class OperatorModelTests: XCTestCase {
    func testEveryOperatorModelMatchesOnnxruntime() throws {
        let root = TestPaths.models.appendingPathComponent("operators")
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path)
            .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/model.onnx").path) }.sorted()
        XCTAssertGreaterThan(names.count, 0, "no cases under \(root.path)")
        var passed = 0
        for name in names {
            switch BackendCase.run(root.appendingPathComponent(name), relativeTolerance: 1e-4, absoluteTolerance: 1e-5) {
            case .passed: passed += 1
            case .failed(let reason): XCTFail("\(name): \(reason)")
            case .skipped(let reason): XCTFail("\(name) skipped: \(reason)")
            }
        }
        print("models/operators: \(passed) of \(names.count) cases passed")
    }
}
