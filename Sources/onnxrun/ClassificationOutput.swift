// How `classify` prints its per-image results: JSON objects, and the option values it parses.

import ArgumentParser
import Foundation
import ONNXRunVision

extension FileClassification {
    /// `{"image", "top": [{"index", "label", "probability"|"score"}], "timings"}`, or `{"image", "error"}`.
    func jsonObject(probabilities: Bool) -> [String: Any] {
        let classification: ImageClassification
        switch result {
        case .failure(let error): return ["image": path, "error": error.description]
        case .success(let success): classification = success
        }
        let scoreKey = probabilities ? "probability" : "score"
        let timings = classification.timings
        return [
            "image": path,
            "top": classification.top.map { prediction -> [String: Any] in
                ["index": prediction.index, "label": prediction.label,
                 scoreKey: JSONOutput.number(Double(prediction.score))]
            },
            "timings": ["decode_ms": timings.decodeSeconds * 1000, "preprocess_ms": timings.preprocessSeconds * 1000,
                        "inference_ms": timings.inferenceSeconds * 1000, "batch_size": timings.batchSize]
                as [String: Any],
        ]
    }
}

enum ClassifyOptionValues {
    /// `R,G,B` or one value for all channels, as floats; a ValidationError otherwise.
    static func numbers(_ text: String, option: String) throws -> [Float] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { Float($0) }
        guard values.count == parts.count, [1, 3].contains(values.count), values.allSatisfy(\.isFinite) else {
            throw ValidationError("\(option) expects 1 or 3 comma-separated numbers (0...1 scale), got '\(text)'")
        }
        return values
    }
}
