// `onnxrun conformance`: runs ONNX backend-test case folders and reports failures against the expectations file.

import ArgumentParser
import Foundation
import ONNXRun
import ONNXRunConformance

struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run ONNX backend-test cases (model.onnx + test_data_set_N) and compare their outputs.",
        discussion: """
            Each DIR is one case folder or a folder of them (../shared/onnx-backend-tests/node). Outputs must match \
            within rtol 1e-3 and atol 1e-5 (floats; other types exactly). A case that fails to load, run or match \
            is a failure unless the expectations file lists it with a reason; then it is skipped. A listed case \
            that passes is a failure too, so the list stays true. Ends with `N passed, N failed, N skipped`; the \
            exit status is 1 when anything failed.
            """
    )

    static let defaultExpectations = "Tests/Conformance/expectations.txt"

    @Argument(help: ArgumentHelp("Case folders, or folders of case folders.", valueName: "DIR"))
    var directories: [String]

    @Flag(help: "Run the reference kernels without graph optimization (the oracle).")
    var noOptimize = false

    @Option(help: ArgumentHelp("Only cases whose name or suite/name matches this shell pattern (fnmatch).",
                               valueName: "GLOB"))
    var filter: String?

    @Option(help: ArgumentHelp("Cases expected to fail, one `name  reason` per line (default: "
                                   + "\(defaultExpectations) when it exists; `none` for no list).", valueName: "FILE"))
    var expectations: String?

    @Option(help: ArgumentHelp("Threads for the kernels (default: all cores).", valueName: "N"))
    var threads: Int?

    @Flag(name: [.short, .long], help: "Print every skipped case with its reason and error, and every pass.")
    var verbose = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let list = try loadExpectations()
        let cases = try ConformanceCase.discover(in: directories).filter { testCase in
            guard let filter else { return true }
            return fnmatch(filter, testCase.name, 0) == 0 || fnmatch(filter, testCase.qualifiedName, 0) == 0
        }
        let runner = ConformanceRunner(options: SessionOptions(threadCount: threads,
                                                               optimizationLevel: noOptimize ? .none : .all))
        var passed = 0, failed = 0
        var skippedByReason: [String: Int] = [:]
        for testCase in cases {
            switch list.verdict(for: testCase, runner.run(testCase)) {
            case .passed:
                passed += 1
                if verbose { print("pass \(testCase)") }
            case .failed(let why):
                failed += 1
                print("FAIL \(testCase): \(oneLine(why))")
            case .skipped(let reason, let error):
                skippedByReason[reason, default: 0] += 1
                if verbose { print("skip \(testCase): \(reason) [\(oneLine(error))]") }
            }
        }
        let skipped = skippedByReason.values.reduce(0, +)
        if skipped > 0 {
            print("skipped, as the expectations list them:")
            for (reason, count) in skippedByReason.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
                print(String(format: "%6d  ", count) + reason)
            }
        }
        print("\(passed) passed, \(failed) failed, \(skipped) skipped")
        if failed > 0 { throw ExitCode(1) }
    }

    /// The given file, or the default one when it exists under the current folder.
    private func loadExpectations() throws -> ConformanceExpectations {
        if expectations == "none" { return ConformanceExpectations() }
        let path = expectations ?? Self.defaultExpectations
        if expectations == nil && !FileManager.default.fileExists(atPath: path) { return ConformanceExpectations() }
        return try ConformanceExpectations(contentsOf: path)
    }

    private func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
