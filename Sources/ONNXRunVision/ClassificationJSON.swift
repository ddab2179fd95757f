// The JSON form of a classified image, shared by `onnxrun MODEL IMAGE --json` and the server's /classify.

extension FileClassification {
    /// `{"image", "top": [{"index", "label", "probability"|"score"}], "timings"}`, or `{"image", "error"}`.
    /// Scores are "probability" when `probabilities`; non-finite numbers (which JSON lacks) become "nan", "inf",
    /// "-inf".
    public func jsonObject(probabilities: Bool) -> [String: Any] {
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
                let score = Double(prediction.score)
                return ["index": prediction.index, "label": prediction.label,
                        scoreKey: score.isFinite ? score as Any : (score.isNaN ? "nan" : score > 0 ? "inf" : "-inf")]
            },
            "timings": ["decode_ms": timings.decodeSeconds * 1000, "preprocess_ms": timings.preprocessSeconds * 1000,
                        "inference_ms": timings.inferenceSeconds * 1000, "batch_size": timings.batchSize]
                as [String: Any],
        ]
    }
}
