// Every one-operator case in models/operators (tools/make_operator_models.py, onnxruntime outputs), each its own
// test, optimized and with the reference kernels: all must pass, none is expected to fail.

import Foundation
import ONNXRun
import ONNXRunConformance
import ONNXRunTestSupport
import Testing

private let operatorCases: [ConformanceCase] =
    (try? ConformanceCase.discover(in: [TestPaths.models.appendingPathComponent("operators").path])) ?? []

@Suite("models/operators")
struct OperatorCaseTests {
    @Test("operator case", arguments: operatorCases, [OptimizationLevel.all, .none])
    func operatorCase(_ testCase: ConformanceCase, _ level: OptimizationLevel) {
        // Tighter than the backend tests' rtol 1e-3: these are small float32 cases, and onnxruntime is the reference.
        let runner = ConformanceRunner(options: SessionOptions(threadCount: 1, optimizationLevel: level),
                                       tolerance: Tolerance(relative: 1e-4, absolute: 1e-5))
        if case .failed(let why) = runner.run(testCase) {
            Issue.record("\(testCase) (optimization \(level)): \(why)")
        }
    }

    @Test func casesAreFound() {
        #expect(operatorCases.count > 250, "found \(operatorCases.count) cases under models/operators")
    }
}
