// The ONNX backend tests in ../shared (node, pytorch-converted, pytorch-operator, simple), each case its own test,
// optimized and with the reference kernels: a case passes, or fails as Tests/Conformance/expectations.txt says.

import Foundation
import ONNXRun
import ONNXRunConformance
import ONNXRunTestSupport
import Testing

enum BackendSuites {
    static let names = ["node", "pytorch-converted", "pytorch-operator", "simple"]

    /// `../shared/onnx-backend-tests`, when present.
    static let root: URL? = TestPaths.shared.map { $0.appendingPathComponent("onnx-backend-tests") }
        .flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0 : nil }

    /// Every case of the four suites; none without ../shared.
    static let cases: [ConformanceCase] = root.map { root in
        (try? ConformanceCase.discover(in: names.map { root.appendingPathComponent($0).path })) ?? []
    } ?? []

    static let expectationsPath = TestPaths.packageRoot.appendingPathComponent("Tests/Conformance/expectations.txt").path
}

@Suite("ONNX backend conformance")
struct BackendConformanceTests {
    @Test("backend case", .enabled(if: BackendSuites.root != nil,
                                   "../shared/onnx-backend-tests is absent (a plain fresh clone): skipping the ONNX backend tests"),
          arguments: BackendSuites.cases, [OptimizationLevel.all, .none])
    func backendCase(_ testCase: ConformanceCase, _ level: OptimizationLevel) throws {
        let expectations = try ConformanceExpectations(contentsOf: BackendSuites.expectationsPath)
        let outcome = ConformanceRunner(options: SessionOptions(threadCount: 1, optimizationLevel: level)).run(testCase)
        switch expectations.verdict(for: testCase, outcome) {
        case .passed:
            break
        case .failed(let why):
            Issue.record("\(testCase) (optimization \(level)): \(why)")
        case .skipped(let reason, _):
            // Cancelling a case of a parameterized test skips that case alone.
            try Test.cancel("\(testCase): \(reason)")
        }
    }

    /// Every line of the expectations file names a case that exists, so no line is dead.
    @Test(.enabled(if: BackendSuites.root != nil, "../shared/onnx-backend-tests is absent: skipping"))
    func expectationsNameExistingCases() throws {
        let expectations = try ConformanceExpectations(contentsOf: BackendSuites.expectationsPath)
        let names = Set(BackendSuites.cases.map(\.name))
        #expect(BackendSuites.cases.count > 1800, "found only \(BackendSuites.cases.count) cases")
        for name in expectations.reasons.keys.sorted() where !names.contains(name) {
            Issue.record("expectations.txt lists '\(name)', which is in none of \(BackendSuites.names)")
        }
    }
}

/// The real exports in ../shared/models (same layout) through the reference kernels alone: the small MobileNetV2
/// always, all six (about 2 minutes in a debug build) with ONNXRUN_SLOW_TESTS=1.
@Test("shared model with the reference kernels",
      .enabled(if: TestPaths.shared != nil, "../shared is absent (a plain fresh clone): skipping ../shared/models"),
      arguments: sharedModels())
func sharedModelWithReferenceKernels(_ testCase: ConformanceCase) {
    let outcome = ConformanceRunner(options: SessionOptions(threadCount: 1, optimizationLevel: .none)).run(testCase)
    if case .failed(let why) = outcome { Issue.record("\(testCase): \(why)") }
}

private func sharedModels() -> [ConformanceCase] {
    guard let root = TestPaths.shared?.appendingPathComponent("models"),
          let cases = try? ConformanceCase.discover(in: [root.path]) else { return [] }
    let all = ProcessInfo.processInfo.environment["ONNXRUN_SLOW_TESTS"] == "1"
    return cases.filter { all || $0.name == "mobilenetv2-0.35-96-torch-op13" }
}
