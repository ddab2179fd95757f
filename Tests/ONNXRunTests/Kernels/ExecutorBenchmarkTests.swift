// Whole-model latency through InferenceSession, with the time per operator type: only when ONNXRUN_BENCHMARK is set.
//
//   ONNXRUN_BENCHMARK=1 swift test -c release --filter ExecutorBenchmarkTests
// Models come from ../shared/models (or ONNXRUN_SHARED=<path to shared>). Prints medians; asserts only that the
// outputs match the stored onnxruntime outputs (a benchmark of wrong results is worthless).

import Foundation
import ONNXRunTestSupport
import XCTest

@testable import ONNXRun

final class ExecutorBenchmarkTests: XCTestCase {
    private func modelsDirectory() throws -> URL {
        guard ProcessInfo.processInfo.environment["ONNXRUN_BENCHMARK"] != nil else {
            throw XCTSkip("set ONNXRUN_BENCHMARK=1 (and build with -c release) to run the model benchmark")
        }
        if let shared = ProcessInfo.processInfo.environment["ONNXRUN_SHARED"] {
            return URL(fileURLWithPath: shared).appendingPathComponent("models")
        }
        return try TestPaths.requireShared("models")
    }

    func testModelLatency() throws {
        let models = try modelsDirectory()
        let names = ["mobilenetv2-1.0-224-torch-op13", "mobilenetv2-0.5-224-torch-op13-dynbatch",
                     "mobilenetv2-0.35-96-torch-op13", "efficientnet-lite0-imagenet-torch-op13-padfused"]
        for name in names {
            let directory = models.appendingPathComponent(name)
            let input = try ModelLoader.loadTensor(
                contentsOf: directory.appendingPathComponent("test_data_set_0/input_0.pb").path)
            let expected = try ModelLoader.loadTensor(
                contentsOf: directory.appendingPathComponent("test_data_set_0/output_0.pb").path)
            for threads in [1, 2] {
                let session = try InferenceSession(
                    contentsOf: directory.appendingPathComponent("model.onnx").path,
                    options: SessionOptions(threadCount: threads))
                let feeds = [session.inputs[0].name: input.tensor]
                let output = try session.run(feeds)[session.outputs[0].name]
                let actual = try XCTUnwrap(output).floats, reference = expected.tensor.floats
                let error = zip(actual, reference).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(error, 1e-4, "\(name) differs from onnxruntime")
                for _ in 0..<5 { _ = try session.run(feeds) }
                var times: [Double] = []
                for _ in 0..<40 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try session.run(feeds)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6)
                }
                times.sort()
                // Per operator type, the median over 15 profiled runs.
                var perType: [String: [Double]] = [:]
                var perStep: [[Double]] = []
                var stepNames: [String] = []
                for _ in 0..<15 {
                    var timings: [NodeTiming] = []
                    _ = try session.run(feeds, timings: &timings)
                    if perStep.isEmpty {
                        perStep = Array(repeating: [], count: timings.count)
                        stepNames = timings.map { String(format: "%@ %@ %.1f MFLOP", $0.opType, $0.name, $0.flops * 1e-6) }
                    }
                    for (index, timing) in timings.enumerated() where index < perStep.count {
                        perStep[index].append(timing.seconds * 1e6)
                    }
                    var sums: [String: Double] = [:]
                    for timing in timings { sums[timing.opType, default: 0] += timing.seconds * 1e3 }
                    for (type, sum) in sums { perType[type, default: []].append(sum) }
                }
                let breakdown = perType.map { type, values in (type, values.sorted()[values.count / 2]) }
                    .sorted { $0.1 > $1.1 }
                    .map { String(format: "%@ %.3f", $0.0, $0.1) }.joined(separator: ", ")
                if ProcessInfo.processInfo.environment["ONNXRUN_BENCHMARK_STEPS"] != nil {
                    for (name, values) in zip(stepNames, perStep) {
                        print(String(format: "  STEP %8.1f us  %@", values.sorted()[values.count / 2], name))
                    }
                }
                print(String(format: "BENCH %@ threads %d: median %.3f ms, best %.3f ms, max error %.1e | %@",
                             name, threads, times[times.count / 2], times[0], error, breakdown))
            }
        }
    }
}
