// `onnxrun MODEL IMAGE...` (classify, the default command): top-k labels per image, with timings, batching and JSON.

import ArgumentParser
import Foundation
import ONNXRun
import ONNXRunVision

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify images (JPEG, PNG; files or folders) with an image classifier (the default command).",
        discussion: """
            Preprocessing: resize the shorter side (default input/0.875, e.g. 256 for 224), centre crop to the \
            input size, normalize (default ImageNet mean/std), RGB, layout NCHW or NHWC from the input shape. \
            The model's metadata (onnxrun.preprocess.*) overrides the defaults; options override both. \
            Scores are softmax probabilities unless --raw or the model already outputs probabilities. \
            Images are batched (--batch-size) when the model's batch dimension is symbolic.
            """
    )

    @Argument(help: "The .onnx model file.")
    var model: String

    @Argument(help: "Image files (JPEG, PNG) or folders of them.")
    var images: [String] = []

    @Option(name: [.customShort("k"), .long], help: "How many classes to show per image.")
    var top = 5

    @Option(help: ArgumentHelp("Class names, one per line (default: ImageNet for 1000 or 1001 classes).",
                               valueName: "FILE"))
    var labels: String?

    @Flag(help: "Show raw scores (no softmax).")
    var raw = false

    @Option(help: ArgumentHelp("Input height and width when the model's are symbolic.", valueName: "N"))
    var size: Int?

    @Option(help: ArgumentHelp("Resize the shorter side to R before the centre crop.", valueName: "R"))
    var resize: Int?

    @Option(help: ArgumentHelp("Normalization preset: imagenet, inception ([-1, 1]) or raw (0...255).",
                               valueName: "NAME"))
    var preset: String?

    @Option(help: ArgumentHelp("Per-channel mean, 0...1 scale, R,G,B (with --std).", valueName: "R,G,B"))
    var mean: String?

    @Option(name: .customLong("std"),
            help: ArgumentHelp("Per-channel standard deviation, 0...1 scale, R,G,B (with --mean).", valueName: "R,G,B"))
    var standardDeviation: String?

    @Flag(help: "Feed channels in BGR order.")
    var bgr = false

    @Option(help: "Images per inference when the batch dimension is symbolic.")
    var batchSize = 8

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @Flag(help: "Print one JSON array (one object per image) instead of text.")
    var json = false

    @Flag(help: "Per-step time table over all inferences (on stderr with --json).")
    var profile = false

    @Flag(help: "Use the reference kernels without graph optimization.")
    var noOptimize = false

    func validate() throws {
        if images.isEmpty { throw ValidationError("missing IMAGE: give image files or folders after the model") }
        if top < 1 { throw ValidationError("-k must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let size, !(1...65536).contains(size) { throw ValidationError("--size must be 1...65536") }
        if let resize, !(1...65536).contains(resize) { throw ValidationError("--resize must be 1...65536") }
        if let preset, PreprocessingConfiguration.Normalization(presetName: preset) == nil {
            throw ValidationError("--preset must be one of "
                                      + PreprocessingConfiguration.Normalization.presetNames.joined(separator: ", "))
        }
        if (mean == nil) != (standardDeviation == nil) { throw ValidationError("--mean and --std go together") }
        if preset != nil && mean != nil { throw ValidationError("--preset and --mean/--std are exclusive") }
    }

    // MARK: - Running

    func run() throws {
        let options = SessionOptions(threadCount: threads, optimizationLevel: noOptimize ? .none : .all)
        let session = try InferenceSession(contentsOf: model, options: options)
        let plan = try ClassificationPlan(session: session, command: self)
        let files = try ImageFiles.expand(images)
        let clock = ContinuousClock()
        let start = clock.now

        var results: [ImageResult] = []
        var timings: [NodeTiming] = []
        var failures = 0
        let progress = ProgressBar(total: files.count, enabled: files.count >= 16 && StandardError.isTerminal)
        for batchStart in stride(from: 0, to: files.count, by: plan.imagesPerInference) {
            let batchFiles = Array(files[batchStart..<min(batchStart + plan.imagesPerInference, files.count)])
            // In file order; successes are filled in after the batch's inference.
            var batchResults = batchFiles.map { ImageResult(file: $0, error: "not classified") }
            var prepared: [(slot: Int, tensor: Tensor, decodeSeconds: Double, preprocessSeconds: Double)] = []
            for (slot, file) in batchFiles.enumerated() {
                do {
                    let decodeStart = clock.now
                    let image = try ImageDecoder.decode(contentsOf: file)
                    let preprocessStart = clock.now
                    let tensor = try plan.preprocessor.tensor(for: image)
                    prepared.append((slot, tensor, (preprocessStart - decodeStart).seconds,
                                     (clock.now - preprocessStart).seconds))
                } catch let error as ONNXRunError {
                    // One bad image must not hide the others; a lone image fails the usual way.
                    guard files.count > 1 else { throw error }
                    failures += 1
                    progress.clear()
                    CommandLineError.report(error.description)
                    batchResults[slot].error = error.description
                }
            }
            if !prepared.isEmpty {
                let (classifications, seconds) = try plan.classify(prepared.map(\.tensor), session: session,
                                                                   profiling: profile, timings: &timings)
                for (index, image) in prepared.enumerated() {
                    batchResults[image.slot] = ImageResult(
                        file: batchFiles[image.slot], classifications: classifications[index],
                        decodeSeconds: image.decodeSeconds, preprocessSeconds: image.preprocessSeconds,
                        inferenceSeconds: seconds / Double(prepared.count), batchSize: prepared.count)
                }
            }
            results += batchResults
            if !json {
                // The bar shares the terminal with stdout: take it away while results print.
                progress.clear()
                printText(batchResults)
            }
            progress.update(batchStart + batchFiles.count)
        }
        progress.clear()
        let totalSeconds = (clock.now - start).seconds

        if json {
            print(try JSONOutput.string(results.map { $0.jsonObject(probabilities: plan.appliesSoftmax) }))
        } else if files.count > 1 {
            let classified = results.filter { $0.error == nil }
            print(String(format: "%d images in %.2f s: %.1f images/s", classified.count, totalSeconds,
                         Double(classified.count) / max(totalSeconds, 1e-9))
                      + " (per image: " + timingText(classified) + ")")
        }
        if profile {
            let table = StepProfile.table(StepProfile.aggregate(timings, runs: max(plan.inferenceCount, 1)))
            if json { StandardError.write(table + "\n") } else { print(table) }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    // MARK: - Text output

    private func printText(_ results: [ImageResult]) {
        for result in results where result.error == nil {
            print(Formatting.printable(result.file))
            let rankWidth = String(result.classifications.count).count
            for (rank, classification) in result.classifications.enumerated() {
                let score = raw ? String(format: "%10.4f", classification.score)
                    : String(format: "%6.2f%%", classification.score * 100)
                print("  \(Formatting.rightAligned(String(rank + 1), to: rankWidth)). \(score)  "
                          + "\(Formatting.rightAligned(String(classification.index), to: 4))  "
                          + Formatting.printable(classification.label))
            }
            print("  " + timingText([result]) + (result.batchSize > 1 ? " (batch of \(result.batchSize))" : ""))
        }
    }

    /// `decode 3.10 ms, preprocess 1.92 ms, inference 9.81 ms`, averaged over `results`.
    private func timingText(_ results: [ImageResult]) -> String {
        let count = Double(max(results.count, 1))
        let decode = results.reduce(0) { $0 + $1.decodeSeconds } / count
        let preprocess = results.reduce(0) { $0 + $1.preprocessSeconds } / count
        let inference = results.reduce(0) { $0 + $1.inferenceSeconds } / count
        return "decode \(Formatting.milliseconds(decode)) ms, preprocess \(Formatting.milliseconds(preprocess)) ms, "
            + "inference \(Formatting.milliseconds(inference)) ms"
    }
}

// MARK: - Plan

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

    private static func numbers(_ text: String, option: String) throws -> [Float] {
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

// MARK: - Image files

enum ImageFiles {
    static let extensions: Set<String> = ["jpg", "jpeg", "png", "jpe", "jfif"]

    /// Files as given; folders replaced by the JPEG and PNG files under them (recursively, sorted).
    static func expand(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ONNXRunError(.io, "no such file or folder", file: path)
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            guard let enumerator = FileManager.default.enumerator(atPath: path) else {
                throw ONNXRunError(.io, "cannot list the folder", file: path)
            }
            var found: [String] = []
            while let relative = enumerator.nextObject() as? String {
                let fileExtension = (relative as NSString).pathExtension.lowercased()
                if extensions.contains(fileExtension) {
                    found.append((path as NSString).appendingPathComponent(relative))
                }
            }
            guard !found.isEmpty else { throw ONNXRunError(.io, "the folder holds no JPEG or PNG files", file: path) }
            files += found.sorted()
        }
        return files
    }
}

// MARK: - Progress

/// `[#########           ] 45/100` on stderr, redrawn in place; only for terminals.
final class ProgressBar {
    let total: Int
    let enabled: Bool
    private var drawn = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = width * done / total
        StandardError.write("\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
                                + "] \(done)/\(total)")
        drawn = true
    }

    func clear() {
        guard drawn else { return }
        StandardError.write("\r" + String(repeating: " ", count: 50) + "\r")
        drawn = false
    }
}
