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

    @Option(name: [.customShort("k"), .long], help: ArgumentHelp("How many classes to show per image.", valueName: "K"))
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

    @Option(help: ArgumentHelp("Images per inference when the batch dimension is symbolic.", valueName: "N"))
    var batchSize = 8

    @Option(help: ArgumentHelp("Threads for the kernels (default: all cores).", valueName: "N"))
    var threads: Int?

    @Flag(help: "Print one JSON array (one object per image) instead of text.")
    var json = false

    @Flag(help: "Per-step time table over all inferences (on stderr with --json).")
    var profile = false

    @Option(help: PrecisionOption.help)
    var precision: Precision = .fp32

    @Flag(help: ArgumentHelp("Decode large JPEGs at 1/2, 1/4 or 1/8 scale (faster; moves scores slightly).",
                             discussion: "Keeps the decoded shorter side at least the resize size, as Pillow's draft mode."))
    var fastDecode = false

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
        if let mean { _ = try ClassifyOptionValues.numbers(mean, option: "--mean") }
        if let standardDeviation { _ = try ClassifyOptionValues.numbers(standardDeviation, option: "--std") }
    }

    // MARK: - Running

    func run() throws {
        let sessionOptions = PrecisionOption.sessionOptions(threads: threads, noOptimize: noOptimize, precision: precision)
        let session = try InferenceSession(contentsOf: model, options: sessionOptions)
        let classifier: ImageClassifier
        do {
            classifier = try ImageClassifier(session: session, options: classifierOptions())
        } catch let error as ONNXRunError where error.kind == .unsupported {
            throw CommandLineError(error.description + "; use `onnxrun run \(model) --input FILE` to run it on tensors")
        }
        let files = try ImageFiles.expand(images)
        let clock = ContinuousClock()
        let start = clock.now

        var results: [FileClassification] = []
        var failures = 0
        let progress = ProgressBar(total: files.count, enabled: files.count >= 16 && StandardError.isTerminal)
        let summary = try classifier.classify(contentsOf: files, collectingStepTimings: profile) { batch in
            for case .failure(let error) in batch.map(\.result) {
                // One bad image must not hide the others; a lone image fails the usual way.
                guard files.count > 1 else { throw error }
                failures += 1
                progress.clear()
                CommandLineError.report(error.description)
            }
            results += batch
            if !json {
                // The bar shares the terminal with stdout: take it away while results print.
                progress.clear()
                printText(batch)
            }
            progress.update(results.count)
        }
        progress.clear()
        let totalSeconds = (clock.now - start).seconds

        if json {
            print(try JSONOutput.string(results.map { $0.jsonObject(probabilities: classifier.scoresAreProbabilities) }))
        } else if files.count > 1 {
            let classified = results.compactMap { try? $0.result.get() }
            print(String(format: "%d images in %.2f s: %.1f images/s", classified.count, totalSeconds,
                         Double(classified.count) / max(totalSeconds, 1e-9))
                      + " (per image: " + timingText(classified) + ")")
        }
        if profile {
            let table = StepProfile.table(StepProfile.aggregate(summary.stepTimings, runs: max(summary.inferenceCount, 1)))
            if json { StandardError.write(table + "\n") } else { print(table) }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// The classifier's options from the command line (validated by `validate()`).
    private func classifierOptions() throws -> ImageClassifier.Options {
        var overrides = ImageClassifier.PreprocessingOverrides(inputSize: size, resizeShorterSide: resize,
                                                               channelOrder: bgr ? .bgr : nil)
        if let preset { overrides.normalization = PreprocessingConfiguration.Normalization(presetName: preset) }
        if let mean, let standardDeviation {
            overrides.normalization = .meanStandardDeviation(
                mean: try ClassifyOptionValues.numbers(mean, option: "--mean"),
                standardDeviation: try ClassifyOptionValues.numbers(standardDeviation, option: "--std"))
        }
        return ImageClassifier.Options(labels: try labels.map { try ClassLabels.load(contentsOf: $0) }, top: top,
                                       batchSize: batchSize, rawScores: raw, preprocessing: overrides,
                                       fastDecode: fastDecode)
    }

    // MARK: - Text output

    private func printText(_ results: [FileClassification]) {
        for file in results {
            guard case .success(let result) = file.result else { continue }
            print(Formatting.printable(file.path))
            let rankWidth = String(result.top.count).count
            for (rank, classification) in result.top.enumerated() {
                let score = raw ? String(format: "%10.4f", classification.score)
                    : String(format: "%6.2f%%", classification.score * 100)
                print("  \(Formatting.rightAligned(String(rank + 1), to: rankWidth)). \(score)  "
                          + "\(Formatting.rightAligned(String(classification.index), to: 4))  "
                          + Formatting.printable(classification.label))
            }
            let batchSize = result.timings.batchSize
            print("  " + timingText([result]) + (batchSize > 1 ? " (batch of \(batchSize))" : ""))
        }
    }

    /// `decode 3.10 ms, preprocess 1.92 ms, inference 9.81 ms`, averaged over `results`.
    private func timingText(_ results: [ImageClassification]) -> String {
        let count = Double(max(results.count, 1))
        let decode = results.reduce(0) { $0 + $1.timings.decodeSeconds } / count
        let preprocess = results.reduce(0) { $0 + $1.timings.preprocessSeconds } / count
        let inference = results.reduce(0) { $0 + $1.timings.inferenceSeconds } / count
        return "decode \(Formatting.milliseconds(decode)) ms, preprocess \(Formatting.milliseconds(preprocess)) ms, "
            + "inference \(Formatting.milliseconds(inference)) ms"
    }
}
