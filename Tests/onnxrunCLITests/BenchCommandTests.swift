// `onnxrun bench`: the JSON report has its keys with consistent values.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import XCTest

final class BenchCommandTests: XCTestCase {
    func testJSONReportHasTheTimingKeys() throws {
        let model = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
        let result = try CommandLineProcess.run(["bench", model, "--json", "--runs", "3", "--warmup", "1",
                                                 "--threads", "1"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let object = try XCTUnwrap(try CommandLineProcess.json(result) as? [String: Any])
        for key in ["load_ms", "first_run_ms", "median_ms", "p90_ms", "min_ms"] {
            let value = try XCTUnwrap(object[key] as? Double, "\(key) missing")
            XCTAssertGreaterThan(value, 0, key)
        }
        let minimum = try XCTUnwrap(object["min_ms"] as? Double)
        let median = try XCTUnwrap(object["median_ms"] as? Double)
        let percentile90 = try XCTUnwrap(object["p90_ms"] as? Double)
        XCTAssertLessThanOrEqual(minimum, median)
        XCTAssertLessThanOrEqual(median, percentile90)
        XCTAssertEqual(object["runs"] as? Int, 3)
        XCTAssertEqual(object["threads"] as? Int, 1)
        XCTAssertEqual(object["batch"] as? Int, 1)
    }

    /// `--precision bf16` says what ran: bf16 with AVX512-BF16 where the CPU has it, else one note and fp32.
    func testPrecisionIsReported() throws {
        let model = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
        let result = try CommandLineProcess.run(["bench", model, "--runs", "1", "--warmup", "0", "--threads", "1",
                                                 "--precision", "bf16"])
        XCTAssertEqual(result.status, 0, result.standardError)
        if Precision.bfloat16Instructions != nil {
            XCTAssertTrue(result.standardOutput.contains("precision: bf16"), result.standardOutput)
            XCTAssertTrue(result.standardOutput.contains("kernels: bf16 AVX512-BF16"), result.standardOutput)
        } else {
            XCTAssertTrue(result.standardError.contains("--precision bf16 runs fp32: this CPU lacks AVX512-BF16"),
                          result.standardError)
            XCTAssertTrue(result.standardOutput.contains("precision: fp32"), result.standardOutput)
        }
        let reference = try CommandLineProcess.run(["bench", model, "--runs", "1", "--warmup", "0", "--json",
                                                    "--no-optimize", "--precision", "bf16"])
        XCTAssertEqual(reference.status, 0, reference.standardError)
        XCTAssertTrue(reference.standardError.contains("no effect with --no-optimize"), reference.standardError)
        let object = try XCTUnwrap(try CommandLineProcess.json(reference) as? [String: Any])
        XCTAssertEqual(object["precision"] as? String, "fp32")
        XCTAssertEqual(object["kernels"] as? String, "fp32 reference kernels")
        let invalid = try CommandLineProcess.run(["bench", model, "--precision", "fp16"])
        XCTAssertNotEqual(invalid.status, 0)
    }

    func testProfileTableSumsToTheWhole() throws {
        let model = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
        let result = try CommandLineProcess.run(["bench", model, "--json", "--profile", "--runs", "2", "--warmup", "0",
                                                 "--threads", "1"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let object = try XCTUnwrap(try CommandLineProcess.json(result) as? [String: Any])
        let steps = try XCTUnwrap(object["profile"] as? [[String: Any]])
        XCTAssertFalse(steps.isEmpty)
        let shares = steps.compactMap { $0["share"] as? Double }
        XCTAssertEqual(shares.count, steps.count)
        XCTAssertEqual(shares.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertTrue(steps.contains { ($0["op"] as? String ?? "").contains("Conv") })
    }

    /// The text report: input shape with the batch applied, latency statistics, throughput, and the profile tables.
    func testTextReportWithProfile() throws {
        let model = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96/model.onnx").path
        let result = try CommandLineProcess.run(["bench", model, "--runs", "2", "--warmup", "0", "--threads", "1",
                                                 "--batch", "2", "--profile"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let text = result.standardOutput
        for expected in ["input input: float[2,3,96,96]", "threads: 1", "load: ", "first run: ",
                         "latency over 2 runs", "median ", "p90 ", "throughput: ", "per step", "per op type:"] {
            XCTAssertTrue(text.contains(expected), "'\(expected)' missing from:\n\(text)")
        }
        let totalLine = try XCTUnwrap(text.split(separator: "\n").first { $0.contains(" total ") })
        XCTAssertTrue(totalLine.contains("100.0%"), String(totalLine))
    }

    /// Inputs from a file (the .pb's batch of 3 decides the shape) or shaped by --shape, in the text report.
    func testInputFromAFileAndAGivenShape() throws {
        let folder = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96")
        let model = folder.appendingPathComponent("model.onnx").path
        let file = folder.appendingPathComponent("test_data_set_1/input_0.pb").path
        let fromFile = try CommandLineProcess.run(["bench", model, "--runs", "1", "--warmup", "0", "--threads", "1",
                                                   "--input", file])
        XCTAssertEqual(fromFile.status, 0, fromFile.standardError)
        XCTAssertTrue(fromFile.standardOutput.contains("input input: float[3,3,96,96]"), fromFile.standardOutput)
        let shaped = try CommandLineProcess.run(["bench", model, "--runs", "1", "--warmup", "0", "--threads", "1",
                                                 "--shape", "input=2,3,96,96"])
        XCTAssertEqual(shaped.status, 0, shaped.standardError)
        XCTAssertTrue(shaped.standardOutput.contains("input input: float[2,3,96,96]"), shaped.standardOutput)
        assertCleanFailure(try CommandLineProcess.run(["bench", model, "--shape", "input=2,4,96,96"]),
                           mentioning: ["--shape input=2,4,96,96", "does not fit"])
        assertCleanFailure(try CommandLineProcess.run(["bench", model, "--shape", "image=1,3,96,96"]),
                           mentioning: ["'image'", "'input'"])
    }

    func testMissingModelFailsWithOneLine() throws {
        assertCleanFailure(try CommandLineProcess.run(["bench", "/nonexistent.onnx"]))
    }
}
