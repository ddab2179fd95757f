// How `classify` turns images into a model input and outputs into ranked labels, and the per-image results.

import ArgumentParser
import Foundation
import ONNXRun
import ONNXRunVision

/// How images become the model's input and outputs become labels, decided once per model.
final class ClassificationPlan {
    let inputName: String
    let outputName: String
    let preprocessor: ImagePreprocessor
    let labels: [String]?
    let top: Int
    let appliesSoftmax: Bool
    /// Images per inference: up to --batch-size with a symbolic batch, else the fixed batch size.
    let imagesPerInference: Int
    /// A fixed batch larger than the images at hand is padded with copies of the last image.
    let fixedBatch: Int?
    private(set) var inferenceCount = 0

    init(session: InferenceSession, command: ClassifyCommand) throws {
        let model = session.model
        let inputs = session.inputs
        guard inputs.count == 1, let input = inputs.first, let type = input.type, type.elementType == .float,
              let shape = type.shape, shape.count == 4
        else {
            let declared = inputs.map { "'\($0.name)' \(Formatting.type($0.type))" }.joined(separator: ", ")
            throw CommandLineError(
                "\(model.source) does not look like an image classifier: it needs one 4-D float input "
                    + "([N,3,H,W] or [N,H,W,3]), its inputs are \(declared.isEmpty ? "none" : declared); "
                    + "use `onnxrun run \(model.source) --input FILE` to run it on tensors")
        }
        guard let output = session.outputs.first else {
            throw ONNXRunError(.invalidModel, "the model has no outputs", file: model.source)
        }
        inputName = input.name
        outputName = output.name

        // Defaults, then the model's metadata, then the command line; fixed input dimensions win over all.
        var configuration = try PreprocessingConfiguration().applying(metadata: model.metadata)
        if let size = command.size {
            configuration.inputHeight = size
            configuration.inputWidth = size
        }
        do {
            configuration = try configuration.adapted(toInputShape: shape)
        } catch let error as ONNXRunError {
            throw CommandLineError(
                "\(model.source) does not look like an image classifier: \(error.message); "
                    + "use `onnxrun run \(model.source) --input FILE` to run it on tensors")
        }
        if let resize = command.resize { configuration.resizeShorterSide = resize }
        if let preset = command.preset, let normalization = PreprocessingConfiguration.Normalization(presetName: preset) {
            configuration.normalization = normalization
        }
        if let mean = command.mean, let deviation = command.standardDeviation {
            configuration.normalization = .meanStandardDeviation(
                mean: try Self.numbers(mean, option: "--mean"),
                standardDeviation: try Self.numbers(deviation, option: "--std"))
        }
        if command.bgr { configuration.channelOrder = .bgr }
        preprocessor = try ImagePreprocessor(configuration: configuration)

        labels = try command.labels.map { try ClassLabels.load(contentsOf: $0) }
        top = command.top
        if command.raw {
            appliesSoftmax = false
        } else {
            // The metadata's word, else whether the output comes from a Softmax.
            appliesSoftmax = try !Classification.outputIsProbabilities(of: model)
        }
        if let batch = shape[0].value {
            fixedBatch = batch
            imagesPerInference = batch
        } else {
            fixedBatch = nil
            imagesPerInference = command.batchSize
        }
    }

    /// Runs one inference over `tensors` (single-image tensors) and returns each image's top classes and the time.
    /// With `profiling`, the steps' timings are appended to `timings`.
    func classify(_ tensors: [Tensor], session: InferenceSession, profiling: Bool,
                  timings: inout [NodeTiming]) throws -> ([[Classification]], Double) {
        var batch = tensors
        if let fixedBatch, let last = tensors.last, tensors.count < fixedBatch {
            batch += Array(repeating: last, count: fixedBatch - tensors.count)
        }
        let input = try ImagePreprocessor.batch(batch)
        let clock = ContinuousClock()
        let start = clock.now
        let outputs: [String: Tensor]
        if profiling {
            outputs = try session.run([inputName: input], timings: &timings)
        } else {
            outputs = try session.run([inputName: input])
        }
        let seconds = (clock.now - start).seconds
        inferenceCount += 1
        guard let output = outputs[outputName] else {
            throw ONNXRunError(.invalidModel, "the session returned no output '\(outputName)'")
        }
        let rows = try Classification.topK(output: output, labels: labels, k: top, applySoftmax: appliesSoftmax)
        guard rows.count >= tensors.count else {
            throw ONNXRunError(.invalidModel, "output '\(outputName)' \(output) has \(rows.count) rows for "
                                   + "\(tensors.count) images")
        }
        return (Array(rows.prefix(tensors.count)), seconds)
    }

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

// MARK: - Results

struct ImageResult {
    var file: String
    var classifications: [Classification] = []
    var decodeSeconds = 0.0
    var preprocessSeconds = 0.0
    var inferenceSeconds = 0.0
    var batchSize = 1
    var error: String?

    init(file: String, classifications: [Classification], decodeSeconds: Double, preprocessSeconds: Double,
         inferenceSeconds: Double, batchSize: Int) {
        self.file = file
        self.classifications = classifications
        self.decodeSeconds = decodeSeconds
        self.preprocessSeconds = preprocessSeconds
        self.inferenceSeconds = inferenceSeconds
        self.batchSize = batchSize
    }

    init(file: String, error: String) {
        self.file = file
        self.error = error
    }

    func jsonObject(probabilities: Bool) -> [String: Any] {
        if let error { return ["image": file, "error": error] }
        let scoreKey = probabilities ? "probability" : "score"
        return [
            "image": file,
            "top": classifications.map { classification -> [String: Any] in
                ["index": classification.index, "label": classification.label,
                 scoreKey: JSONOutput.number(Double(classification.score))]
            },
            "timings": ["decode_ms": decodeSeconds * 1000, "preprocess_ms": preprocessSeconds * 1000,
                        "inference_ms": inferenceSeconds * 1000, "batch_size": batchSize] as [String: Any],
        ]
    }
}
