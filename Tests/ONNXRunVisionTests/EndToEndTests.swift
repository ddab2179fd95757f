// End to end with ../shared: photo -> decode -> preprocess -> EfficientNet-Lite0 (real ImageNet weights) -> top-5,
// against the expected-top5.json made with PIL + onnxruntime.

import Foundation
import ONNXRun
import ONNXRunTestSupport
import ONNXRunVision
import XCTest

final class EndToEndTests: XCTestCase {
    private struct Expected {
        var index: Int
        var label: String
        var probability: Float
    }

    private func expectedTop5() throws -> [String: [Expected]] {
        let url = try TestPaths.requireShared("images/expected-top5.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        guard let photos = json?["photos"] as? [String: [[Any]]] else {
            throw ONNXRunError(.io, "unexpected layout", file: url.path)
        }
        return photos.mapValues { rows in
            rows.compactMap { row in
                guard row.count == 3, let index = row[0] as? Int, let label = row[1] as? String,
                      let probability = row[2] as? Double else { return nil }
                return Expected(index: index, label: label, probability: Float(probability))
            }
        }
    }

    func testPhotosClassifyAsExpected() throws {
        let expected = try expectedTop5()
        let modelPath = try TestPaths.requireShared("models/efficientnet-lite0-imagenet-torch-op13/model.onnx").path
        let session = try InferenceSession(contentsOf: modelPath)
        // The recipe of expected-top5.json: shorter side 256 (rounded), crop 224, (x - 127) / 128, RGB, NCHW.
        let defaults = PreprocessingConfiguration(
            normalization: .meanStandardDeviation(mean: [127.0 / 255], standardDeviation: [128.0 / 255]))
        let configuration = try PreprocessingConfiguration(model: session.model, defaults: defaults)
        XCTAssertEqual(configuration.shape(), [1, 3, 224, 224])
        let preprocessor = try ImagePreprocessor(configuration: configuration)
        let applySoftmax = try !Classification.outputIsProbabilities(of: session.model)
        XCTAssertTrue(applySoftmax, "EfficientNet-Lite0 ends in logits")

        var tensors: [Tensor] = []
        let names = expected.keys.sorted()
        for name in names {
            let image = try ImageDecoder.decode(contentsOf: TestPaths.requireShared("images/\(name).png").path)
            tensors.append(try preprocessor.tensor(for: image))
        }
        guard let inputName = session.inputs.first?.name, let outputName = session.outputs.first?.name else {
            return XCTFail("the model declares no input or output")
        }
        for (name, tensor) in zip(names, tensors) {
            let output = try session.run([inputName: tensor])
            guard let logits = output[outputName] else { return XCTFail("no output \(outputName)") }
            let top = try Classification.topK(output: logits, k: 5, applySoftmax: applySoftmax)[0]
            let want = expected[name] ?? []
            XCTAssertEqual(top.map(\.index), want.map(\.index), name)
            XCTAssertEqual(top.map(\.label), want.map(\.label), name)
            for (got, reference) in zip(top, want) {
                // expected-top5.json rounds to 4 decimals.
                XCTAssertEqual(got.score, reference.probability, accuracy: 1e-4, "\(name) \(reference.label)")
            }
            print("\(name): " + top.map { "\($0.label) \(String(format: "%.4f", $0.score))" }.joined(separator: ", "))
        }
    }
}
