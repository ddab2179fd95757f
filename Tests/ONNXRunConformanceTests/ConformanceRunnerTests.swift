// The conformance runner's parts on small inputs: tolerance comparison, the expectations file, verdicts, a broken case.

import Foundation
import ONNXRun
import ONNXRunConformance
import ONNXRunTestSupport
import Testing

@Suite struct TensorComparisonTests {
    @Test func floatsWithinToleranceMatchAndNaNMatchesNaN() throws {
        let expected = try Tensor(shape: [4], floats: [1, -2, .nan, .infinity])
        let actual = try Tensor(shape: [4], floats: [1.0005, -2, .nan, .infinity])
        #expect(TensorComparison.mismatch(actual, expected: expected, tolerance: .backendTests) == nil)
    }

    @Test func floatMismatchNamesCountWorstElementAndDifferences() throws {
        let expected = try Tensor(shape: [2, 2], floats: [1, 2, 3, 4])
        let actual = try Tensor(shape: [2, 2], floats: [1, 2.5, 3, 4.01])
        let text = try #require(TensorComparison.mismatch(actual, expected: expected, tolerance: .backendTests))
        #expect(text.contains("2 of 4 elements differ"), "\(text)")
        #expect(text.contains("max abs diff 0.5"), "\(text)")
        #expect(text.contains("max rel diff 0.25"), "\(text)")
        #expect(text.contains("worst at [0,1]: 2.5, expected 2"), "\(text)")
    }

    @Test func nanAgainstANumberDiffers() throws {
        let text = TensorComparison.mismatch(try Tensor(shape: [1], floats: [.nan]),
                                             expected: try Tensor(shape: [1], floats: [0]), tolerance: .backendTests)
        #expect(text?.contains("max abs diff inf") == true, "\(text ?? "nil")")
    }

    @Test func integersCompareExactlyEvenBeyondDoublePrecision() throws {
        let big = Int64(1) << 60
        let expected = try Tensor(shape: [2], scalars: [big, 3] as [Int64])
        #expect(TensorComparison.mismatch(expected, expected: expected, tolerance: .backendTests) == nil)
        let off = try Tensor(shape: [2], scalars: [big + 1, 3] as [Int64])
        #expect(TensorComparison.mismatch(off, expected: expected, tolerance: .backendTests)?
            .contains("1 of 2 elements differ") == true)
    }

    @Test func shapeAndTypeMismatchesAreNamed() throws {
        let expected = try Tensor(shape: [2, 3], floats: Array(repeating: 0, count: 6))
        #expect(TensorComparison.mismatch(try Tensor(shape: [3, 2], floats: Array(repeating: 0, count: 6)),
                                          expected: expected, tolerance: .backendTests) == "shape [3,2], expected [2,3]")
        #expect(TensorComparison.mismatch(Tensor(zeros: .int64, shape: [2, 3]), expected: expected,
                                          tolerance: .backendTests) == "type int64[2,3], expected float[2,3]")
    }

    @Test func float16IsDecoded() throws {
        // 0x3C00 = 1.0, 0xC000 = -2.0, 0x7C00 = +inf, 0x0001 = the smallest subnormal.
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7C00, 0x0001]
        let tensor = try bits.withUnsafeBytes { try Tensor(elementType: .float16, shape: [4], copying: $0) }
        #expect(tensor.doubleElements == [1, -2, .infinity, 0x1p-24])
    }
}

@Suite struct ConformanceExpectationsTests {
    @Test func parsesNamesReasonsAndComments() throws {
        let list = try ConformanceExpectations(parsing: """
            # a comment
            test_a   op not implemented: If   # why
              test_b\ttype not supported: int4

            """)
        #expect(list.reasons == ["test_a": "op not implemented: If", "test_b": "type not supported: int4"])
    }

    @Test func rejectsALineWithoutReasonAndDuplicates() {
        #expect(throws: ONNXRunError.self) { try ConformanceExpectations(parsing: "test_a\n") }
        #expect(throws: ONNXRunError.self) { try ConformanceExpectations(parsing: "test_a x\ntest_a y\n") }
    }

    @Test func verdicts() throws {
        let listed = ConformanceCase(folder: URL(fileURLWithPath: "/suite/test_listed"))
        let other = ConformanceCase(folder: URL(fileURLWithPath: "/suite/test_other"))
        let list = ConformanceExpectations(reasons: ["test_listed": "op not implemented: If"])
        #expect(list.verdict(for: other, .passed) == .passed)
        #expect(list.verdict(for: other, .failed("boom")) == .failed("boom"))
        #expect(list.verdict(for: listed, .failed("boom")) == .skipped(reason: "op not implemented: If", error: "boom"))
        guard case .failed(let why) = list.verdict(for: listed, .passed) else {
            Issue.record("a listed case that passes must fail")
            return
        }
        #expect(why.contains("remove the line"))
    }
}

@Suite struct ConformanceRunnerTests {
    private let runner = ConformanceRunner(options: SessionOptions(threadCount: 1))
    private let relu = TestPaths.models.appendingPathComponent("operators/relu")

    /// A scratch copy of models/operators/relu, changed by `change`.
    private func scratchCopy(_ change: (URL) throws -> Void) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)/relu")
        try FileManager.default.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: relu, to: folder)
        try change(folder)
        return folder
    }

    @Test func discoversOneCaseOrAFolderOfCases() throws {
        let one = try ConformanceCase.discover(in: [relu.path])
        #expect(one.map(\.qualifiedName) == ["operators/relu"])
        let all = try ConformanceCase.discover(in: [relu.deletingLastPathComponent().path])
        #expect(all.count > 250 && all.contains(one[0]))
        #expect(throws: ONNXRunError.self) { try ConformanceCase.discover(in: ["/nonexistent"]) }
    }

    @Test func passesAndFailsWithTheOutputNamed() throws {
        #expect(runner.run(ConformanceCase(folder: relu)) == .passed)
        // Relu's input as its expected output differs wherever the input is negative.
        let folder = try scratchCopy { folder in
            let data = folder.appendingPathComponent("test_data_set_0")
            try FileManager.default.removeItem(at: data.appendingPathComponent("output_0.pb"))
            try FileManager.default.copyItem(at: data.appendingPathComponent("input_0.pb"),
                                             to: data.appendingPathComponent("output_0.pb"))
        }
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        guard case .failed(let why) = runner.run(ConformanceCase(folder: folder)) else {
            Issue.record("a wrong reference must fail")
            return
        }
        #expect(why.hasPrefix("test_data_set_0: output '") && why.contains("elements differ"), "\(why)")
    }

    @Test func aBrokenModelOrMissingDataIsAFailureNotASkip() throws {
        let folder = try scratchCopy { folder in
            try Data([0x0A, 0xFF]).write(to: folder.appendingPathComponent("model.onnx"))
        }
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        guard case .failed(let why) = runner.run(ConformanceCase(folder: folder)) else {
            Issue.record("a broken model must fail")
            return
        }
        #expect(why.hasPrefix("load: "), "\(why)")
        try FileManager.default.copyItem(at: relu.appendingPathComponent("model.onnx"),
                                         to: folder.appendingPathComponent("model2.onnx"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.onnx"))
        try FileManager.default.moveItem(at: folder.appendingPathComponent("model2.onnx"),
                                         to: folder.appendingPathComponent("model.onnx"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("test_data_set_0"))
        #expect(runner.run(ConformanceCase(folder: folder)) == .failed("no test_data_set_N folder"))
    }
}
