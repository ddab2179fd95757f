// The C API as C programs see it: tools/install-c-api into a temporary prefix, the examples built with cc and
// pkg-config and run without LD_LIBRARY_PATH against onnxruntime's outputs and the reference top-5; and every
// declaration of onnxrun.h checked against its Swift implementation at compile time.

import CONNXRunHeader
import Foundation
import ONNXRun
import ONNXRunC
import ONNXRunTestSupport
import XCTest

final class CAPITests: XCTestCase {
    static let examples = TestPaths.packageRoot.appendingPathComponent("Examples/C")
    static let mobileNet = TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96")

    private var prefix: URL!

    override func setUpWithError() throws {
        prefix = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-c-api-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: prefix)
    }

    /// The test's environment without LD_LIBRARY_PATH (the programs must find everything through rpath), with
    /// pkg-config pointed at the prefix.
    private var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["LD_LIBRARY_PATH"] = nil
        environment["PKG_CONFIG_PATH"] = prefix.appendingPathComponent("lib/pkgconfig").path
        return environment
    }

    /// `tools/install-c-api --from-build` with the library `swift test` built, then `cc EXAMPLE.c $(pkg-config
    /// --cflags --libs onnxrun)` as the README says; returns the program. Skips without cc or pkg-config.
    private func installAndBuild(example: String, extraFlags: String = "") throws -> URL {
        for tool in ["cc", "pkg-config"] {
            let found = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
                .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
            if !found { throw XCTSkip("\(tool) is not installed: skipping the C API build test") }
        }
        let library = try XCTUnwrap(ChildProcess.builtProduct(named: "libonnxrun-c.so"),
                                    "libonnxrun-c.so was not built beside the test bundle")
        let install = try ChildProcess.run(
            TestPaths.packageRoot.appendingPathComponent("tools/install-c-api"),
            ["--from-build", library.deletingLastPathComponent().path, prefix.path], environment: environment)
        XCTAssertEqual(install.status, 0, install.standardError)
        for installed in ["include/onnxrun.h", "lib/libonnxrun.so", "lib/pkgconfig/onnxrun.pc"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: prefix.appendingPathComponent(installed).path), installed)
        }
        let program = prefix.appendingPathComponent(example)
        let source = Self.examples.appendingPathComponent("\(example).c").path
        let compile = try ChildProcess.run(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "cc '\(source)' $(pkg-config --cflags --libs onnxrun) \(extraFlags) -o '\(program.path)'"],
            environment: environment)
        XCTAssertEqual(compile.status, 0, compile.standardError)
        return program
    }

    /// Writes a TensorProto's floats as raw float32 (what a host hands the C API).
    private func writeRawFloats(of tensorFile: URL, to destination: URL) throws -> Tensor {
        let tensor = try ModelLoader.loadTensor(contentsOf: tensorFile.path).tensor
        try tensor.floats.withUnsafeBytes { try Data($0).write(to: destination) }
        return tensor
    }

    // MARK: - Through an installed library

    func testRunModelExampleMatchesOnnxruntimeFromFourThreadsAndRefusesMisuse() throws {
        let program = try installAndBuild(example: "run_model", extraFlags: "-lpthread")
        let input = prefix.appendingPathComponent("input.f32"), expected = prefix.appendingPathComponent("output.f32")
        let dataSet = Self.mobileNet.appendingPathComponent("test_data_set_0")
        let inputTensor = try writeRawFloats(of: dataSet.appendingPathComponent("input_0.pb"), to: input)
        _ = try writeRawFloats(of: dataSet.appendingPathComponent("output_0.pb"), to: expected)
        let broken = prefix.appendingPathComponent("broken.onnx")
        try Data([0x08, 0x07, 0x12] + Array(repeating: 0xFF, count: 40)).write(to: broken)

        let result = try ChildProcess.run(
            program, [Self.mobileNet.appendingPathComponent("model.onnx").path, input.path,
                      inputTensor.shape.map(String.init).joined(separator: ","), expected.path, broken.path, "2"],
            environment: environment)
        XCTAssertFalse(result.crashed, result.standardError)
        XCTAssertEqual(result.status, 0, result.standardOutput + result.standardError)
        XCTAssertTrue(result.standardOutput.contains("all checks passed"), result.standardOutput)
        // The program checks each difference against 1e-4; the lines must be there (not skipped).
        for line in ["run_f32: output rank 2, 1000 values", "4 threads x 8 runs", "onnxrun_session_run: output 'logits'"] {
            XCTAssertTrue(result.standardOutput.contains(line), "'\(line)' missing: \(result.standardOutput)")
        }
        for misuse in ["missing file", "malformed model", "wrong shape", "rank 9", "negative dimension", "NULL session",
                       "NULL input", "destroyed session", "unknown element type"] {
            XCTAssertTrue(result.standardOutput.contains("error as expected (\(misuse)): "), "\(misuse) not reported")
        }
    }

    func testClassifyExampleGivesTheReferenceTopFive() throws {
        let program = try installAndBuild(example: "classify")
        let images = TestPaths.models.appendingPathComponent("images")
        let photos = ["chelsea", "coffee"].map { images.appendingPathComponent("\($0).png").path }
        let result = try ChildProcess.run(
            program, [TestPaths.models.appendingPathComponent("efficientnet-lite0/model.onnx").path] + photos,
            environment: environment)
        XCTAssertEqual(result.status, 0, result.standardError)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: images.appendingPathComponent("expected-top5.json")))
        let expected = try XCTUnwrap((object as? [String: Any])?["photos"] as? [String: [[Any]]])
        // "  1.  38.34%   282  tiger cat", after each photo's path line.
        let blocks = result.standardOutput.components(separatedBy: "\n").split { !$0.hasPrefix(" ") }
        XCTAssertEqual(blocks.count, 2, result.standardOutput)
        for (name, block) in zip(["chelsea", "coffee"], blocks) {
            let rows = block.map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            let reference = try XCTUnwrap(expected[name])
            XCTAssertEqual(rows.compactMap { Int($0[2]) }, reference.compactMap { $0[0] as? Int }, name)
            XCTAssertEqual(rows.map { $0[3...].joined(separator: " ") }, reference.compactMap { $0[1] as? String }, name)
            for (row, entry) in zip(rows, reference) {
                let percent = try XCTUnwrap(Double(row[1].dropLast()))
                XCTAssertEqual(percent / 100, try XCTUnwrap(entry[2] as? Double), accuracy: 2e-4, name)
            }
        }
    }

    // MARK: - The header against the implementation

    /// Compiles only when both functions have the same type: the header's declaration and the Swift definition.
    private func sameSignature<each Parameter, Result>(_ declared: (repeat each Parameter) -> Result,
                                                       _ implemented: (repeat each Parameter) -> Result) {}

    func testHeaderDeclarationsMatchTheImplementations() throws {
        sameSignature(onnxrun_session_create, onnxrunSessionCreate)
        sameSignature(onnxrun_session_destroy, onnxrunSessionDestroy)
        sameSignature(onnxrun_session_input_count, onnxrunSessionInputCount)
        sameSignature(onnxrun_session_input_name, onnxrunSessionInputName)
        sameSignature(onnxrun_session_output_count, onnxrunSessionOutputCount)
        sameSignature(onnxrun_session_output_name, onnxrunSessionOutputName)
        sameSignature(onnxrun_session_input_type, onnxrunSessionInputType)
        sameSignature(onnxrun_session_output_type, onnxrunSessionOutputType)
        sameSignature(onnxrun_session_run_f32, onnxrunSessionRunF32)
        sameSignature(onnxrun_session_run, onnxrunSessionRun)
        sameSignature(onnxrun_classifier_create, onnxrunClassifierCreate)
        sameSignature(onnxrun_classifier_destroy, onnxrunClassifierDestroy)
        sameSignature(onnxrun_classifier_classify_file, onnxrunClassifierClassifyFile)
        sameSignature(onnxrun_classifier_classify_bytes, onnxrunClassifierClassifyBytes)

        // Through the C declarations: a classifier handle is not a session, a session has names.
        var error: UnsafeMutablePointer<CChar>?
        let classifier = try XCTUnwrap(onnxrun_classifier_create(
            Self.mobileNet.appendingPathComponent("model.onnx").path, nil, 3, 1, &error))
        XCTAssertNil(error)
        XCTAssertEqual(onnxrun_session_input_count(classifier), 0)
        var type: Int32 = 0, rank = 0
        var shape = [Int64](repeating: 0, count: 8)
        XCTAssertNotEqual(onnxrun_session_input_type(classifier, 0, &type, &shape, &rank, &error), 0)
        XCTAssertEqual(error.map { String(cString: $0) }, "invalid argument: session is not a live session (destroyed, or another kind of handle)")
        onnxrun_free(error)
        onnxrun_classifier_destroy(classifier)
        XCTAssertEqual(String(cString: onnxrun_version()), ONNXRUN_VERSION)
    }

    func testGenericRunPassesOtherElementTypesAndSeveralInputs() throws {
        // C = A + B with int64 A [2,3] and B [3] (onnxruntime's case in models/operators): two inputs, int64.
        let model = TestPaths.models.appendingPathComponent("operators/add_int64_broadcast/model.onnx")
        var error: UnsafeMutablePointer<CChar>?
        let session = try XCTUnwrap(onnxrun_session_create(model.path, 1, &error))
        defer { onnxrun_session_destroy(session) }
        XCTAssertEqual(onnxrun_session_input_count(session), 2)
        var inputs: [onnxrun_tensor] = []
        for index in 0..<2 {
            var input = onnxrun_tensor()
            XCTAssertEqual(onnxrun_session_input_type(session, index, &input.element_type, &input.shape.0, &input.rank,
                                                      &error), 0)
            XCTAssertEqual(input.element_type, Int32(ONNXRUN_ELEMENT_INT64.rawValue))
            input.name = onnxrun_session_input_name(session, index)
            inputs.append(input)
        }
        XCTAssertEqual([inputs[0].rank, inputs[1].rank], [2, 1])
        XCTAssertEqual([inputs[0].shape.0, inputs[0].shape.1, inputs[1].shape.0], [2, 3, 3])
        var left: [Int64] = [1, 2, 3, -4, -5, -6], right: [Int64] = [1000, -7, 1 << 40]
        var output = onnxrun_tensor()
        let status = left.withUnsafeMutableBytes { leftBytes in
            right.withUnsafeMutableBytes { rightBytes in
                inputs[0].data = leftBytes.baseAddress
                inputs[1].data = rightBytes.baseAddress
                return onnxrun_session_run(session, inputs, 2, &output, 1, &error)
            }
        }
        XCTAssertEqual(status, 0, error.map { String(cString: $0) } ?? "")
        XCTAssertEqual(output.element_type, Int32(ONNXRUN_ELEMENT_INT64.rawValue))
        XCTAssertEqual(output.name.map { String(cString: $0) }, "C")
        XCTAssertEqual([output.rank, Int(output.shape.0), Int(output.shape.1)], [2, 2, 3])
        let sums = Array(UnsafeBufferPointer(start: output.data?.assumingMemoryBound(to: Int64.self), count: 6))
        XCTAssertEqual(sums, (0..<6).map { left[$0] + right[$0 % 3] })
        onnxrun_free(output.data)

        // A float input where int64 is declared, and an output name the model lacks: errors, outputs left NULL.
        inputs[0].element_type = Int32(ONNXRUN_ELEMENT_FLOAT.rawValue)
        XCTAssertNotEqual(onnxrun_session_run(session, inputs, 2, &output, 1, &error), 0)
        XCTAssertNil(output.data)
        XCTAssertTrue(error.map { String(cString: $0) }?.contains("expects int64[2,3], got float[2,3]") == true)
        onnxrun_free(error)
        inputs[0].element_type = Int32(ONNXRUN_ELEMENT_INT64.rawValue)
        output.name = nil
        "nope".withCString { name in
            output.name = name
            XCTAssertNotEqual(onnxrun_session_run(session, inputs, 2, &output, 1, &error), 0)
        }
        XCTAssertTrue(error.map { String(cString: $0) }?.contains("no output 'nope'") == true)
        onnxrun_free(error)
    }

    /// Runs a one-input, one-output model through onnxrun_session_run; returns the output's type and bytes.
    private func runOne(_ model: String, type: onnxrun_element_type, shape: [Int64],
                        bytes: [UInt8]) throws -> (type: Int32, bytes: [UInt8]) {
        var error: UnsafeMutablePointer<CChar>?
        let path = TestPaths.models.appendingPathComponent("operators/\(model)/model.onnx").path
        let session = try XCTUnwrap(onnxrun_session_create(path, 1, &error))
        defer { onnxrun_session_destroy(session) }
        var input = onnxrun_tensor()
        input.name = onnxrun_session_input_name(session, 0)
        input.element_type = Int32(type.rawValue)
        input.rank = shape.count
        withUnsafeMutableBytes(of: &input.shape) { dimensions in
            shape.withUnsafeBytes { dimensions.copyMemory(from: $0) }
        }
        var output = onnxrun_tensor()
        var data = bytes
        let status = data.withUnsafeMutableBytes { buffer in
            input.data = buffer.baseAddress
            return onnxrun_session_run(session, &input, 1, &output, 1, &error)
        }
        XCTAssertEqual(status, 0, error.map { String(cString: $0) } ?? "")
        defer { onnxrun_free(output.data) }
        let byteCount = (0..<output.rank).reduce(1) { product, axis in
            product * Int(withUnsafeBytes(of: output.shape) { $0.load(fromByteOffset: axis * 8, as: Int64.self) })
        }
        let elementSize = output.element_type == Int32(ONNXRUN_ELEMENT_FLOAT16.rawValue) ? 2 : 4
        return (output.element_type, Array(UnsafeRawBufferPointer(start: output.data, count: byteCount * elementSize)))
    }

    func testFloat16AndBoolPassAsBytes() throws {
        // Cast float -> float16: the output's bits are onnxruntime's.
        let dataSet = TestPaths.models.appendingPathComponent("operators/cast_float_to_float16/test_data_set_0")
        let input = try ModelLoader.loadTensor(contentsOf: dataSet.appendingPathComponent("input_0.pb").path).tensor
        let expected = try ModelLoader.loadTensor(contentsOf: dataSet.appendingPathComponent("output_0.pb").path).tensor
        let half = try runOne("cast_float_to_float16", type: ONNXRUN_ELEMENT_FLOAT, shape: input.shape.map { Int64($0) },
                              bytes: input.withUnsafeBytes { Array($0) })
        XCTAssertEqual(half.type, Int32(ONNXRUN_ELEMENT_FLOAT16.rawValue))
        XCTAssertEqual(half.bytes, expected.withUnsafeBytes { Array($0) })

        // Cast bool -> float, with a C "true" byte that is not 1.
        let float = try runOne("cast_bool_to_float", type: ONNXRUN_ELEMENT_BOOL, shape: [3], bytes: [2, 0, 1])
        XCTAssertEqual(float.bytes, [Float(1), 0, 1].withUnsafeBytes { Array($0) })
    }
}
