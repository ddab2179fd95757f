// The loader never crashes: every prefix and random corruptions of a small model, and the whole ONNX backend
// test corpus, either load or throw ONNXRunError.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import XCTest

final class LoaderRobustnessTests: XCTestCase {
    private func tinyModelBytes() throws -> [UInt8] {
        let url = TestPaths.models.appendingPathComponent("loader/tiny.onnx")
        return try [UInt8](Data(contentsOf: url))
    }

    /// Loads `bytes`; any error must be an ONNXRunError naming the source. Returns whether a model came back.
    @discardableResult
    private func loadOrRefuse(_ bytes: [UInt8], _ what: String) -> Bool {
        do {
            let model = try ModelLoader.load(bytes: bytes, source: "fuzz.onnx")
            XCTAssertFalse(model.graph.outputs.isEmpty, what)
            return true
        } catch let error as ONNXRunError {
            XCTAssertEqual(error.file, "fuzz.onnx", "\(what): \(error)")
            return false
        } catch {
            XCTFail("\(what): not an ONNXRunError: \(error)")
            return false
        }
    }

    func testEveryPrefixIsAnErrorOrAModel() throws {
        let bytes = try tinyModelBytes()
        var loaded = 0
        for length in 0..<bytes.count where loadOrRefuse(Array(bytes.prefix(length)), "prefix \(length)") {
            loaded += 1
        }
        // Only cuts after the graph and the opset import can still be complete models (trailing metadata).
        XCTAssertLessThan(loaded, 60, "\(loaded) of \(bytes.count) prefixes loaded")
        XCTAssertTrue(loadOrRefuse(bytes, "the whole file"))
    }

    func testRandomByteFlipsOutsideTheWeights() throws {
        let bytes = try tinyModelBytes()
        // The weight 'W' holds 0.25, 0.5, ... 4.0: flips there only change values, so skip its 64 bytes.
        let weight = (1...16).flatMap { value in
            withUnsafeBytes(of: (Float(value) / 4).bitPattern.littleEndian) { Array($0) }
        }
        guard let weightStart = (0...(bytes.count - weight.count)).first(where: {
            Array(bytes[$0..<$0 + weight.count]) == weight
        }) else {
            return XCTFail("the weight bytes of tiny.onnx were not found")
        }
        let candidates = Array(0..<weightStart) + Array((weightStart + weight.count)..<bytes.count)
        var generator = SplitMix64(seed: 20_261_129)
        var loaded = 0
        let trials = Self.fuzzTrials
        for trial in 0..<trials {
            var mutated = bytes
            // One to three corrupted bytes per trial: single bit flips and whole random bytes.
            for _ in 0...(generator.next() % 3) {
                let position = candidates[Int(generator.next() % UInt64(candidates.count))]
                if generator.next() % 2 == 0 {
                    mutated[position] ^= UInt8(1) << UInt8(generator.next() % 8)
                } else {
                    mutated[position] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            if loadOrRefuse(mutated, "trial \(trial)") { loaded += 1 }
        }
        print("byte flips: \(loaded) of \(trials) mutated models still load")
    }

    /// 1000 by default; LOADER_FUZZ_TRIALS=<n> runs a longer campaign.
    private static var fuzzTrials: Int {
        ProcessInfo.processInfo.environment["LOADER_FUZZ_TRIALS"].flatMap { Int($0) } ?? 1_000
    }

    /// Structural damage: byte ranges deleted, duplicated or inserted, anywhere (weights included).
    func testRandomSplices() throws {
        let bytes = try tinyModelBytes()
        var generator = SplitMix64(seed: 99)
        for trial in 0..<Self.fuzzTrials {
            var mutated = bytes
            let start = Int(generator.next() % UInt64(mutated.count))
            let length = Int(generator.next() % 16)
            let end = min(mutated.count, start + length)
            switch generator.next() % 3 {
            case 0: mutated.removeSubrange(start..<end)
            case 1: mutated.insert(contentsOf: mutated[start..<end], at: Int(generator.next() % UInt64(mutated.count)))
            default: mutated.insert(contentsOf: (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) },
                                    at: start)
            }
            loadOrRefuse(mutated, "splice trial \(trial)")
        }
    }

    func testTensorFilePrefixesAndFlips() throws {
        let url = TestPaths.models.appendingPathComponent("loader/tensors/int16_typed.pb")
        let bytes = try [UInt8](Data(contentsOf: url))
        let whole = try ModelLoader.loadTensor(bytes: bytes).tensor
        for length in 0..<bytes.count {
            do {
                // The name comes last in the file: a cut before it leaves a complete, nameless tensor.
                let (name, tensor) = try ModelLoader.loadTensor(bytes: Array(bytes.prefix(length)))
                XCTAssertEqual(name, "", "prefix \(length)")
                XCTAssertEqual(tensor.scalars(as: Int16.self), whole.scalars(as: Int16.self), "prefix \(length)")
            } catch {
                XCTAssertTrue(error is ONNXRunError, "prefix \(length): \(error)")
            }
        }
        var generator = SplitMix64(seed: 3)
        for _ in 0..<1_000 {
            var mutated = bytes
            mutated[Int(generator.next() % UInt64(bytes.count))] ^= UInt8(1) << UInt8(generator.next() % 8)
            do { _ = try ModelLoader.loadTensor(bytes: mutated) } catch { XCTAssertTrue(error is ONNXRunError) }
        }
    }

    /// Every model.onnx of the ONNX backend tests loads or throws an ONNXRunError (never crashes).
    func testBackendTestModels() throws {
        let root = try TestPaths.requireShared("onnx-backend-tests")
        let paths = (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix("/model.onnx") }.sorted()
        var loaded = 0
        var refusals: [String: Int] = [:]
        for relative in paths {
            let path = root.appendingPathComponent(relative).path
            do {
                _ = try ModelLoader.load(contentsOf: path)
                loaded += 1
            } catch let error as ONNXRunError {
                XCTAssertEqual(error.file, path)
                refusals[error.kind.rawValue, default: 0] += 1
                if ProcessInfo.processInfo.environment["LOADER_VERBOSE"] != nil { print("refused: \(error)") }
            }
        }
        XCTAssertGreaterThan(paths.count, 0)
        print("backend test models: \(loaded) of \(paths.count) load; refused: \(refusals)")
    }

    /// Every test-data tensor of the ONNX backend tests loads or throws an ONNXRunError.
    func testBackendTestTensors() throws {
        let root = try TestPaths.requireShared("onnx-backend-tests")
        let paths = (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".pb") }.sorted()
        var loaded = 0
        for relative in paths {
            do {
                _ = try ModelLoader.loadTensor(contentsOf: root.appendingPathComponent(relative).path)
                loaded += 1
            } catch {
                XCTAssertTrue(error is ONNXRunError, "\(relative): \(error)")
                if ProcessInfo.processInfo.environment["LOADER_VERBOSE"] != nil { print("refused: \(error)") }
            }
        }
        XCTAssertGreaterThan(paths.count, 0)
        print("backend test tensors: \(loaded) of \(paths.count) load")
    }
}
