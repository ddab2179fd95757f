// A case in the ONNX backend-test layout (model.onnx + test_data_set_N/input_K.pb, output_K.pb), and finding them.

import Foundation
import ONNXRun

/// One case folder: `model.onnx` and one or more `test_data_set_N` folders of TensorProto `.pb` files.
public struct ConformanceCase: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The case folder.
    public let folder: URL

    public init(folder: URL) {
        self.folder = folder.standardizedFileURL
    }

    /// The folder's name (`test_abs`): what expectations files list. Unique across the ONNX suites.
    public var name: String { folder.lastPathComponent }

    /// `suite/name` (`node/test_abs`), the folder with its parent: what reports print.
    public var qualifiedName: String { folder.deletingLastPathComponent().lastPathComponent + "/" + name }

    public var description: String { qualifiedName }

    public var modelPath: String { folder.appendingPathComponent("model.onnx").path }

    public static func < (left: ConformanceCase, right: ConformanceCase) -> Bool {
        left.qualifiedName < right.qualifiedName
    }

    // MARK: - Finding cases

    /// The cases under each path: a folder holding `model.onnx` is one case; otherwise each of its subfolders that
    /// holds one is (`onnx-backend-tests/node`). Sorted by qualified name.
    public static func discover(in paths: [String]) throws -> [ConformanceCase] {
        let manager = FileManager.default
        var cases: Set<ConformanceCase> = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ONNXRunError(.io, "not a folder of conformance cases", file: path)
            }
            let folder = URL(fileURLWithPath: path, isDirectory: true)
            if manager.fileExists(atPath: folder.appendingPathComponent("model.onnx").path) {
                cases.insert(ConformanceCase(folder: folder))
                continue
            }
            let names: [String]
            do {
                names = try manager.contentsOfDirectory(atPath: path)
            } catch {
                throw ONNXRunError(.io, "cannot list the folder: \(error.localizedDescription)", file: path)
            }
            let found = names.map { folder.appendingPathComponent($0, isDirectory: true) }
                .filter { manager.fileExists(atPath: $0.appendingPathComponent("model.onnx").path) }
            guard !found.isEmpty else {
                throw ONNXRunError(.io, "no model.onnx in the folder or its subfolders", file: path)
            }
            cases.formUnion(found.map(ConformanceCase.init(folder:)))
        }
        return cases.sorted()
    }

    // MARK: - Test data

    /// The `test_data_set_N` folder names, in order.
    func dataSetNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix("test_data_set_") }
            .sorted { (Int($0.dropFirst("test_data_set_".count)) ?? 0) < (Int($1.dropFirst("test_data_set_".count)) ?? 0) }
    }

    /// `prefix0.pb`, `prefix1.pb`, ... in `dataSet`, until the first missing number; each with its stored name.
    public func numberedTensors(in dataSet: String, prefix: String) throws -> [(name: String, tensor: Tensor)] {
        let directory = folder.appendingPathComponent(dataSet)
        var result: [(name: String, tensor: Tensor)] = []
        while true {
            let path = directory.appendingPathComponent("\(prefix)\(result.count).pb").path
            guard FileManager.default.fileExists(atPath: path) else { return result }
            result.append(try ModelLoader.loadTensor(contentsOf: path))
        }
    }
}
