// The committed loader fixtures (models/loader, written by tools/make_loader_fixtures.py): the tiny model's IR,
// every element type from raw_data and typed fields, external data, and .npy files.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import XCTest

final class FixtureLoadingTests: XCTestCase {
    private let folder = TestPaths.models.appendingPathComponent("loader")
    private func path(_ relative: String) -> String { folder.appendingPathComponent(relative).path }

    // MARK: The tiny model

    func testTinyModelIR() throws {
        let model = try ModelLoader.load(contentsOf: path("tiny.onnx"))
        XCTAssertEqual(model.irVersion, 7)
        XCTAssertEqual(model.opsetImports, ["": 13])
        XCTAssertEqual(model.producerName, "make_loader_fixtures")
        XCTAssertEqual(model.metadata, ["purpose": "loader tests"])
        XCTAssertEqual(model.source, path("tiny.onnx"))
        let graph = model.graph
        XCTAssertEqual(graph.name, "tiny")
        // 'W' is an initializer also listed as an input: a constant, not an input.
        XCTAssertEqual(graph.inputs.map(\.name), ["X"])
        XCTAssertEqual(graph.inputs[0].type, TensorType(elementType: .float, shape: [.symbolic("N"), .fixed(4)]))
        XCTAssertEqual(graph.outputs[0].type, TensorType(elementType: .float, shape: [.unknown, .fixed(16)]))
        XCTAssertEqual(graph.valueInfo.map(\.name), ["gemm"])
        XCTAssertEqual(graph.initializers["W"]?.floats, (1...16).map { Float($0) / 4 })
        XCTAssertEqual(graph.initializers["W"]?.shape, [4, 4])
        XCTAssertEqual(graph.initializers["shape"]?.integers, [-1, 16])
        XCTAssertEqual(graph.initializers["shape"]?.elementType, .int64)
        // File order is Gemm, Constant, Mul, Reshape, Identity; Gemm needs Mul's output.
        XCTAssertEqual(graph.nodes.map(\.opType), ["Constant", "Mul", "Gemm", "Reshape", "Identity"])
        XCTAssertEqual(graph.nodes.map(\.name), ["Constant_1", "Mul_2", "gemm", "reshape", "identity"])
        XCTAssertEqual(graph.nodes[1].inputs, ["X", "half"])
        XCTAssertEqual(graph.nodes[4].domain, "", "ai.onnx is normalized to the default domain")

        guard case .tensor(let half)? = graph.nodes[0].attributes["value"] else {
            return XCTFail("Constant has no tensor attribute")
        }
        XCTAssertEqual(half.shape, [])
        XCTAssertEqual(half.floats, [0.5])
        let gemm = graph.nodes[2].attributes
        guard case .float(let alpha)? = gemm["alpha"], case .int(let transB)? = gemm["transB"] else {
            return XCTFail("Gemm attributes: \(gemm)")
        }
        XCTAssertEqual(alpha, 1)
        XCTAssertEqual(transB, 1)
        let notes = graph.nodes[4].attributes
        guard case .floats(let floats)? = notes["note_floats"], case .ints(let ints)? = notes["note_ints"],
              case .strings(let strings)? = notes["note_strings"], case .string(let string)? = notes["note_string"],
              case .int(let int)? = notes["note_int"] else {
            return XCTFail("Identity attributes: \(notes)")
        }
        XCTAssertEqual(floats, [1.5, -2])
        XCTAssertEqual(ints, [3, -4])
        XCTAssertEqual(strings, ["a", "b"])
        XCTAssertEqual(string, "same")
        XCTAssertEqual(int, 7)
    }

    // MARK: Element types

    /// Each element type, written with raw_data and with the typed fields, equals numpy's own .npy of it.
    func testEveryElementTypeFromRawAndTypedFields() throws {
        let types: [(String, ElementType)] = [
            ("float32", .float), ("float16", .float16), ("float64", .double), ("int8", .int8), ("uint8", .uint8),
            ("int16", .int16), ("uint16", .uint16), ("int32", .int32), ("int64", .int64), ("uint32", .uint32),
            ("uint64", .uint64), ("bool", .bool),
        ]
        for (name, elementType) in types {
            let expected = try NumpyFile.read(contentsOf: path("tensors/\(name).npy"))
            XCTAssertEqual(expected.elementType, elementType, name)
            for form in ["raw", "typed"] {
                let (tensorName, tensor) = try ModelLoader.loadTensor(contentsOf: path("tensors/\(name)_\(form).pb"))
                XCTAssertEqual(tensorName, "\(name)_values")
                XCTAssertEqual(tensor.elementType, elementType, "\(name) \(form)")
                XCTAssertEqual(tensor.shape, [3, 4], "\(name) \(form)")
                XCTAssertEqual(bytes(of: tensor), bytes(of: expected), "\(name) \(form)")
            }
        }
        XCTAssertEqual(try NumpyFile.read(contentsOf: path("tensors/float16.npy")).elementType, .float16)
        let (_, bfloat) = try ModelLoader.loadTensor(contentsOf: path("tensors/bfloat16_typed.pb"))
        XCTAssertEqual(bfloat.elementType, .bfloat16)
        // 1.0, -2.0, 0.5 as bfloat16 bit patterns.
        XCTAssertEqual(bytes(of: bfloat), [0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f])
        XCTAssertEqual(try NumpyFile.read(contentsOf: path("tensors/bool.npy")).scalars(as: Bool.self).prefix(3),
                       [false, true, true])
    }

    private func bytes(of tensor: Tensor) -> [UInt8] {
        tensor.withUnsafeBytes { Array($0) }
    }

    // MARK: External data

    func testExternalDataLoads() throws {
        let model = try ModelLoader.load(contentsOf: path("external/model.onnx"))
        XCTAssertEqual(model.graph.initializers["B"]?.shape, [2, 3])
        XCTAssertEqual(model.graph.initializers["B"]?.floats, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
        // From bytes, with the folder given explicitly.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path("external/model.onnx"))))
        let fromBytes = try ModelLoader.load(bytes: bytes, baseDirectory: path("external"))
        XCTAssertEqual(fromBytes.graph.initializers["B"]?.floats, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    }

    func testExternalDataOutsideTheModelFolderIsRefused() {
        assertRefused(path("external-escape/model.onnx"), .invalidModel, "initializer 'B'", "leaves the model's folder")
        assertRefused(path("external-absolute/model.onnx"), .invalidModel, "initializer 'B'", "absolute path")
    }

    func testExternalDataThroughASymlinkOutsideIsRefused() throws {
        let folder = try temporaryFolder()
        let files = FileManager.default
        try files.copyItem(atPath: path("external/model.onnx"), toPath: folder + "/model.onnx")
        try files.createSymbolicLink(atPath: folder + "/weights.bin", withDestinationPath: path("external/weights.bin"))
        assertRefused(folder + "/model.onnx", .invalidModel, "initializer 'B'", "outside the model's folder")
    }

    func testShortOrMissingExternalFileIsRefused() throws {
        let folder = try temporaryFolder()
        let files = FileManager.default
        try files.copyItem(atPath: path("external/model.onnx"), toPath: folder + "/model.onnx")
        assertRefused(folder + "/model.onnx", .io, "initializer 'B'", "not found")
        // 16 bytes of offset + 24 of data are needed; give 30.
        try Data(repeating: 0, count: 30).write(to: URL(fileURLWithPath: folder + "/weights.bin"))
        assertRefused(folder + "/model.onnx", .malformedModel, "initializer 'B'", "has 30 bytes")
    }

    private func temporaryFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("onnxrun-loader-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    private func assertRefused(_ modelPath: String, _ kind: ONNXRunError.Kind, _ fragments: String...,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try ModelLoader.load(contentsOf: modelPath)
            XCTFail("\(modelPath) loaded", file: file, line: line)
        } catch let error as ONNXRunError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            XCTAssertEqual(error.file, modelPath, file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(error.description.contains(fragment), "'\(fragment)' not in: \(error)",
                              file: file, line: line)
            }
        } catch {
            XCTFail("not an ONNXRunError: \(error)", file: file, line: line)
        }
    }

    // MARK: NumPy files

    func testNumpyVersionsAndRoundTrip() throws {
        let expected = (0..<24).map { (Float($0) - 7) / 3 }
        for version in 1...3 {
            let tensor = try NumpyFile.read(contentsOf: path("numpy/version\(version).npy"))
            XCTAssertEqual(tensor.shape, [2, 3, 4])
            XCTAssertEqual(tensor.floats, expected)
        }
        let scalar = try NumpyFile.read(contentsOf: path("numpy/scalar.npy"))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.scalars(as: Double.self), [2.5])

        let written = try temporaryFolder() + "/written.npy"
        let original = try NumpyFile.read(contentsOf: path("numpy/version1.npy"))
        try NumpyFile.write(original, to: written)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: written)),
                       try Data(contentsOf: URL(fileURLWithPath: path("numpy/version1.npy"))),
                       "the same bytes numpy writes")
        for tensor in [try Tensor(shape: [0, 2], scalars: [Int64]()), Tensor(scalar: true),
                       try Tensor(shape: [3], scalars: [UInt8(1), 2, 255])] {
            try NumpyFile.write(tensor, to: written)
            let back = try NumpyFile.read(contentsOf: written)
            XCTAssertEqual(back.elementType, tensor.elementType)
            XCTAssertEqual(back.shape, tensor.shape)
            XCTAssertEqual(bytes(of: back), bytes(of: tensor))
        }
    }

    func testNumpyFortranOrderBigEndianAndGarbageAreRefused() throws {
        for (name, fragment) in [("fortran", "Fortran order"), ("bigendian", "big-endian")] {
            XCTAssertThrowsError(try NumpyFile.read(contentsOf: path("numpy/\(name).npy"))) { error in
                XCTAssertEqual((error as? ONNXRunError)?.kind, .unsupported, "\(error)")
                XCTAssertTrue("\(error)".contains(fragment), "\(error)")
                XCTAssertTrue("\(error)".contains("\(name).npy"), "\(error)")
            }
        }
        let valid = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path("numpy/version1.npy"))))
        // Every prefix and some corrupted headers: an error, never a crash.
        for length in 0..<valid.count {
            XCTAssertThrowsError(try NumpyFile.read(bytes: Array(valid.prefix(length))))
        }
        var generator = SplitMix64(seed: 7)
        for _ in 0..<500 {
            var bytes = Array(valid.prefix(128))
            bytes[Int(generator.next() % 128)] = UInt8(truncatingIfNeeded: generator.next())
            bytes += valid.dropFirst(128)
            _ = try? NumpyFile.read(bytes: bytes)
        }
    }
}

/// A small seeded generator, so that the fuzz tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
