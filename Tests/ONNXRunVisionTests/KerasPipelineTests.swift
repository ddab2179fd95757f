// End to end on the committed Keras export: photo -> metadata-driven NHWC/inception preprocessing -> model, against
// the PIL preprocessing and onnxruntime outputs that tools/export_keras_mobilenetv2.py --photos wrote.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import ONNXRunVision
import XCTest

final class KerasPipelineTests: XCTestCase {
    private var modelDirectory: URL { TestPaths.models.appendingPathComponent("keras-mobilenetv2-0.35-96") }

    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.floats, b.floats).map { abs($0 - $1) }.max() ?? .infinity
    }

    /// The model's metadata alone (layout NHWC, `inception`, resize 110, crop 96, probabilities) reproduces the
    /// exporter's PIL tensors (test_data_set_2: chelsea.png, test_data_set_3: coffee.png), and the session's
    /// probabilities match onnxruntime's.
    func testPhotosThroughMetadataPreprocessingMatchOnnxRuntime() throws {
        let session = try InferenceSession(
            contentsOf: modelDirectory.appendingPathComponent("model.onnx").path, options: SessionOptions(threadCount: 1))
        let configuration = try PreprocessingConfiguration(model: session.model)
        XCTAssertEqual(configuration.layout, .nhwc)
        XCTAssertEqual(configuration.normalization, .inception)
        XCTAssertEqual(configuration.shape(), [1, 96, 96, 3])
        XCTAssertTrue(try Classification.outputIsProbabilities(of: session.model), "Keras ends in Softmax")
        let preprocessor = try ImagePreprocessor(configuration: configuration)
        guard let inputName = session.inputs.first?.name, let outputName = session.outputs.first?.name else {
            return XCTFail("the model declares no input or output")
        }

        for (set, photo) in [("test_data_set_2", "chelsea"), ("test_data_set_3", "coffee")] {
            let folder = modelDirectory.appendingPathComponent(set)
            let expectedInput = try ModelLoader.loadTensor(contentsOf: folder.appendingPathComponent("input_0.pb").path).tensor
            let expectedOutput = try ModelLoader.loadTensor(contentsOf: folder.appendingPathComponent("output_0.pb").path).tensor
            let image = try ImageDecoder.decode(
                contentsOf: TestPaths.models.appendingPathComponent("images/\(photo).png").path)
            let tensor = try preprocessor.tensor(for: image)
            XCTAssertEqual(tensor.shape, expectedInput.shape, photo)
            // PIL's bilinear resize is reproduced exactly, and x / 127.5 - 1 is the same float32 arithmetic.
            XCTAssertLessThanOrEqual(maxDifference(tensor, expectedInput), 1e-6, "\(photo): preprocessed tensor")

            guard let probabilities = try session.run([inputName: tensor])[outputName] else {
                return XCTFail("no output \(outputName)")
            }
            XCTAssertEqual(probabilities.shape, expectedOutput.shape, photo)
            XCTAssertLessThanOrEqual(maxDifference(probabilities, expectedOutput), 1e-4, "\(photo): probabilities")
            let top = try Classification.topK(output: probabilities, labels: (0..<10).map { "class \($0)" }, k: 3,
                                              applySoftmax: false)[0]
            let expectedTop = expectedOutput.floats.indices.sorted { expectedOutput.floats[$0] > expectedOutput.floats[$1] }
            XCTAssertEqual(top.map(\.index), Array(expectedTop.prefix(3)), photo)
        }
    }
}
