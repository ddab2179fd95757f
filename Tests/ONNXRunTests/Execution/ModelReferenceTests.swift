// Whole models against onnxruntime's outputs: the committed models, and ../shared's real exports when present.

import Foundation
import ONNXRunTestSupport
import XCTest

@testable import ONNXRun

final class ModelReferenceTests: XCTestCase {
    /// Runs every `test_data_set_*` of the model folder at `directory` with and without optimization, at 1 and 2
    /// threads, and checks each output against the reference: max abs difference <= 1e-4, same argmax per row.
    static func checkModel(at directory: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let modelPath = directory.appendingPathComponent("model.onnx").path
        let model = try ModelLoader.load(contentsOf: modelPath)
        let sets = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix("test_data_set_") }.sorted()
        XCTAssertFalse(sets.isEmpty, "\(directory.path) has no test_data_set", file: file, line: line)
        let configurations: [(String, SessionOptions)] = [
            ("reference", SessionOptions(threadCount: 1, optimizationLevel: .none)),
            ("optimized, 1 thread", SessionOptions(threadCount: 1, optimizationLevel: .all)),
            ("optimized, 2 threads", SessionOptions(threadCount: 2, optimizationLevel: .all)),
        ]
        for (label, options) in configurations {
            let session = try InferenceSession(model: model, options: options)
            for set in sets {
                let setURL = directory.appendingPathComponent(set)
                var feeds: [String: Tensor] = [:]
                for (index, input) in session.inputs.enumerated() {
                    let loaded = try ModelLoader.loadTensor(contentsOf: setURL.appendingPathComponent("input_\(index).pb").path)
                    feeds[input.name] = loaded.tensor
                }
                let outputs = try session.run(feeds)
                for (index, output) in session.outputs.enumerated() {
                    let expected = try ModelLoader.loadTensor(
                        contentsOf: setURL.appendingPathComponent("output_\(index).pb").path).tensor
                    guard let actual = outputs[output.name] else {
                        XCTFail("\(label): output \(output.name) missing", file: file, line: line)
                        continue
                    }
                    XCTAssertEqual(actual.shape, expected.shape, "\(directory.lastPathComponent) \(set) \(label)",
                                   file: file, line: line)
                    guard actual.shape == expected.shape, actual.elementType == .float else { continue }
                    let (a, b) = (actual.floats, expected.floats)
                    let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThanOrEqual(difference, 1e-4,
                                             "\(directory.lastPathComponent) \(set) \(label): max abs difference",
                                             file: file, line: line)
                    if let classes = actual.shape.last, classes > 1, actual.rank == 2 {
                        for row in 0..<actual.shape[0] {
                            let slice = row * classes..<(row + 1) * classes
                            XCTAssertEqual(argmax(a[slice]), argmax(b[slice]),
                                           "\(directory.lastPathComponent) \(set) \(label): argmax of row \(row)",
                                           file: file, line: line)
                        }
                    }
                }
            }
        }
    }

    static func argmax(_ values: ArraySlice<Float>) -> Int {
        values.indices.max { values[$0] < values[$1] }.map { $0 - values.startIndex } ?? -1
    }

    /// The multi-layer blocks of models/operators (ResNet stem + MaxPool + residual block, RegNet grouped and
    /// dilated convolutions, GoogLeNet pools, a ConvTranspose decoder): optimized they run as NHWC chains.
    func testConvolutionBlocksMatchOnnxruntime() throws {
        for name in ["block_resnet_stem_maxpool_basic_block", "block_regnet_grouped_dilated", "block_googlenet_pools",
                     "block_decoder_conv_transpose"] {
            try Self.checkModel(at: TestPaths.models.appendingPathComponent("operators/\(name)"))
        }
    }

    func testCommittedMobileNetV2() throws {
        try Self.checkModel(at: TestPaths.models.appendingPathComponent("mobilenetv2-0.35-96"))
    }

    func testCommittedEfficientNetLite0() throws {
        try Self.checkModel(at: TestPaths.models.appendingPathComponent("efficientnet-lite0"))
    }

    /// Hard-swish and hard-sigmoid squeeze-excite (MobileNetV3), swish and sigmoid squeeze-excite (EfficientNet).
    func testCommittedModelsWithOtherActivations() throws {
        for name in ["mobilenetv3-small-0.25-64", "efficientnet-tiny-64"] {
            try Self.checkModel(at: TestPaths.models.appendingPathComponent(name))
        }
    }

    func testSharedModels() throws {
        let models = try TestPaths.requireShared("models")
        for name in try FileManager.default.contentsOfDirectory(atPath: models.path).sorted()
        where FileManager.default.fileExists(atPath: models.appendingPathComponent(name).appendingPathComponent("model.onnx").path) {
            try Self.checkModel(at: models.appendingPathComponent(name))
        }
    }
}
