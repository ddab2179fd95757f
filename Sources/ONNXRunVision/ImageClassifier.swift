// ImageClassifier: a model file in, ranked labels out. Decoding, the model's preprocessing recipe, batching,
// softmax and top-k behind one Sendable object that the CLI, the server and embedding hosts share.

import Dispatch
import ONNXRun

/// Classifies photos with an ONNX image classifier, preprocessing them as the model's metadata says.
///
/// Thread safety: one classifier may be used from any number of threads or tasks at once; each call runs its own
/// inference (see `InferenceSession`).
///
/// ```swift
/// let classifier = try ImageClassifier(contentsOf: "mobilenetv2.onnx")
/// let result = try classifier.classify(imageAt: "cat.jpg")
/// for prediction in result.top { print(prediction.index, prediction.label, prediction.score) }
/// ```
public final class ImageClassifier: Sendable {
    // MARK: Options

    /// What the caller decides; everything else comes from the model.
    public struct Options: Sendable {
        /// Class names in output order; nil gives the ImageNet names for 1000 or 1001 classes, else `class <i>`.
        /// One name fewer than classes puts `background` first (see `ClassLabels.resolve`).
        public var labels: [String]?
        /// Predictions per image.
        public var top: Int
        /// Images per inference in `classify(_:)` and `classify(contentsOf:)` when the batch dimension is
        /// symbolic (a fixed batch dimension decides it otherwise).
        public var batchSize: Int
        /// Scores as the model outputs them, without softmax.
        public var rawScores: Bool
        /// Changes to the model's preprocessing recipe.
        public var preprocessing: PreprocessingOverrides
        public var decodingLimits: ImageDecodingLimits
        /// Decode JPEGs at least twice as large as the resize at 1/2, 1/4 or 1/8 scale (Pillow's draft mode):
        /// faster, but the scores move slightly (see `ImagePreprocessor.write(encoded:source:into:limits:fastDecode:)`).
        public var fastDecode: Bool

        public init(labels: [String]? = nil, top: Int = 5, batchSize: Int = 8, rawScores: Bool = false,
                    preprocessing: PreprocessingOverrides = .init(), decodingLimits: ImageDecodingLimits = .default,
                    fastDecode: Bool = false) {
            self.labels = labels
            self.top = top
            self.batchSize = batchSize
            self.rawScores = rawScores
            self.preprocessing = preprocessing
            self.decodingLimits = decodingLimits
            self.fastDecode = fastDecode
        }
    }

    /// Overrides of the recipe read from the model, applied after its metadata (nil: keep the model's).
    public struct PreprocessingOverrides: Sendable, Equatable {
        /// Input height and width, used where the model's input dimensions are symbolic.
        public var inputSize: Int?
        /// The shorter side after resizing, before the centre crop.
        public var resizeShorterSide: Int?
        public var normalization: PreprocessingConfiguration.Normalization?
        public var channelOrder: PreprocessingConfiguration.ChannelOrder?

        public init(inputSize: Int? = nil, resizeShorterSide: Int? = nil,
                    normalization: PreprocessingConfiguration.Normalization? = nil,
                    channelOrder: PreprocessingConfiguration.ChannelOrder? = nil) {
            self.inputSize = inputSize
            self.resizeShorterSide = resizeShorterSide
            self.normalization = normalization
            self.channelOrder = channelOrder
        }
    }

    // MARK: Properties

    public let session: InferenceSession
    /// The recipe in use: `preprocessor.configuration`.
    public let preprocessor: ImagePreprocessor
    public let inputName: String
    public let outputName: String
    public let options: Options
    /// Whether scores are probabilities: softmax applied by the classifier, or the model already outputs them.
    public let scoresAreProbabilities: Bool
    /// Images per inference in the batched calls.
    public let imagesPerInference: Int
    private let appliesSoftmax: Bool
    /// A fixed batch larger than the images at hand is padded with copies of the last image.
    private let fixedBatch: Int?

    // MARK: Creating

    /// Loads the model at `path` (with `sessionOptions`: threads, optimization) and prepares the classifier.
    public convenience init(contentsOf path: String, sessionOptions: SessionOptions = .init(),
                            options: Options = .init()) throws {
        try self.init(session: InferenceSession(contentsOf: path, options: sessionOptions), options: options)
    }

    /// A classifier over an existing session. Throws `.unsupported` when the model does not look like an image
    /// classifier (one 4-D float input, at least one output), `.invalidArgument` for unusable options, and
    /// `.invalidModel` for malformed preprocessing metadata.
    public init(session: InferenceSession, options: Options = .init()) throws {
        let model = session.model
        guard options.top > 0 else { throw ONNXRunError(.invalidArgument, "top needs at least 1, got \(options.top)") }
        guard options.batchSize > 0 else {
            throw ONNXRunError(.invalidArgument, "the batch size needs at least 1, got \(options.batchSize)")
        }
        let inputs = session.inputs
        let notAClassifier = { (reason: String) in
            ONNXRunError(.unsupported, "does not look like an image classifier: \(reason)", file: model.source)
        }
        guard inputs.count == 1, let input = inputs.first, let type = input.type, type.elementType == .float,
              let shape = type.shape, shape.count == 4
        else {
            let declared = inputs.map { "'\($0.name)' \($0.type.map(\.description) ?? "(no type)")" }
            throw notAClassifier("it needs one 4-D float input ([N,3,H,W] or [N,H,W,3]), its inputs are "
                                     + (declared.isEmpty ? "none" : declared.joined(separator: ", ")))
        }
        guard let output = session.outputs.first else { throw notAClassifier("the model has no outputs") }
        let configuration: PreprocessingConfiguration
        do {
            configuration = try Self.configuration(metadata: model.metadata, inputShape: shape,
                                                   overrides: options.preprocessing)
        } catch let error as ONNXRunError where error.kind == .invalidInput {
            throw notAClassifier(error.message)
        } catch let error as ONNXRunError {
            throw error.adding(file: model.source)
        }
        preprocessor = try ImagePreprocessor(configuration: configuration)
        if case .fixed(let classCount) = output.type?.shape?.dropFirst().first {
            // Labels that cannot fit the output fail now rather than on the first image.
            _ = try ClassLabels.resolve(options.labels, classCount: classCount)
        }
        self.session = session
        self.options = options
        inputName = input.name
        outputName = output.name
        if options.rawScores {
            appliesSoftmax = false
            scoresAreProbabilities = false
        } else {
            // The metadata's word, else whether the output comes from a Softmax.
            let outputIsProbabilities = try Classification.outputIsProbabilities(of: model)
            appliesSoftmax = !outputIsProbabilities
            scoresAreProbabilities = true
        }
        if case .fixed(let batch) = shape[0] {
            fixedBatch = batch
            imagesPerInference = batch
        } else {
            fixedBatch = nil
            imagesPerInference = options.batchSize
        }
    }

    /// The recipe: defaults, then the model's metadata, then the input size override; the input's fixed
    /// dimensions win over those; then the other overrides.
    static func configuration(metadata: [String: String], inputShape: [Dimension],
                              overrides: PreprocessingOverrides) throws -> PreprocessingConfiguration {
        var configuration = try PreprocessingConfiguration().applying(metadata: metadata)
        if let size = overrides.inputSize {
            configuration.inputHeight = size
            configuration.inputWidth = size
        }
        configuration = try configuration.adapted(toInputShape: inputShape)
        if let resize = overrides.resizeShorterSide { configuration.resizeShorterSide = resize }
        if let normalization = overrides.normalization { configuration.normalization = normalization }
        if let channelOrder = overrides.channelOrder { configuration.channelOrder = channelOrder }
        return configuration
    }

    // MARK: Classifying

    /// Decodes (JPEG, PNG) and classifies the image file at `path`.
    public func classify(imageAt path: String) throws -> ImageClassification {
        try classifyOne(prepare(imageAt: path))
    }

    /// Decodes (JPEG, PNG) and classifies an encoded image in memory; `source` names it in errors.
    public func classify(imageBytes bytes: [UInt8], source: String = "<memory>") throws -> ImageClassification {
        try classifyOne(bytes.withUnsafeBytes { try prepare(encoded: $0, source: source) })
    }

    /// Classifies decoded images, `imagesPerInference` per inference; results in the order of `images`.
    public func classify(_ images: [RGBImage]) throws -> [ImageClassification] {
        var results: [ImageClassification] = []
        results.reserveCapacity(images.count)
        for start in stride(from: 0, to: images.count, by: imagesPerInference) {
            let batch = images[start..<min(start + imagesPerInference, images.count)]
            let prepared = try batch.map { image in
                try measure { try preprocessor.tensor(for: image) }
            }
            let inference = try infer(prepared.map(\.value), stepTimings: nil)
            for (classes, preprocessing) in zip(inference.top, prepared) {
                results.append(ImageClassification(top: classes, timings: ClassificationTimings(
                    decodeSeconds: 0, preprocessSeconds: preprocessing.seconds,
                    inferenceSeconds: inference.seconds / Double(batch.count), batchSize: batch.count)))
            }
        }
        return results
    }

    /// Classifies the image files at `paths`, `imagesPerInference` per inference, handing each batch's results
    /// to `handleBatch` (on the calling thread, in the order of `paths`) as soon as the batch is done. A file
    /// that cannot be read or decoded gets its error in its result and does not stop the others; a failed
    /// inference throws. This is the entry for folders and streams of files: however it schedules decoding and
    /// inference, the results arrive in this order.
    @discardableResult
    public func classify(contentsOf paths: [String], collectingStepTimings: Bool = false,
                         _ handleBatch: ([FileClassification]) throws -> Void) throws -> ClassificationRunSummary {
        var summary = ClassificationRunSummary()
        var stepTimings: [NodeTiming] = []
        for start in stride(from: 0, to: paths.count, by: imagesPerInference) {
            let batchPaths = Array(paths[start..<min(start + imagesPerInference, paths.count)])
            var results: [FileClassification] = []
            var prepared: [(slot: Int, tensor: Tensor, decodeSeconds: Double, preprocessSeconds: Double)] = []
            for (slot, path) in batchPaths.enumerated() {
                do {
                    let image = try prepare(imageAt: path)
                    prepared.append((slot, image.tensor, image.decodeSeconds, image.preprocessSeconds))
                    results.append(FileClassification(path: path, result: .failure(
                        ONNXRunError(.invalidArgument, "not classified", file: path))))
                } catch let error as ONNXRunError {
                    results.append(FileClassification(path: path, result: .failure(error.adding(file: path))))
                }
            }
            if !prepared.isEmpty {
                let inference = try withUnsafeMutablePointer(to: &stepTimings) { timings in
                    try infer(prepared.map(\.tensor), stepTimings: collectingStepTimings ? timings : nil)
                }
                summary.inferenceCount += 1
                for (image, classes) in zip(prepared, inference.top) {
                    results[image.slot].result = .success(ImageClassification(top: classes, timings: ClassificationTimings(
                        decodeSeconds: image.decodeSeconds, preprocessSeconds: image.preprocessSeconds,
                        inferenceSeconds: inference.seconds / Double(prepared.count), batchSize: prepared.count)))
                }
            }
            try handleBatch(results)
        }
        summary.stepTimings = stepTimings
        return summary
    }

    // MARK: Steps

    /// The file at `path` read (one read), decoded and preprocessed into a model input; reading counts as decoding.
    private func prepare(imageAt path: String) throws -> (tensor: Tensor, decodeSeconds: Double,
                                                          preprocessSeconds: Double) {
        let bytes = try measure { try ImageDecoder.contents(ofFile: path, limits: options.decodingLimits) }
        var image = try bytes.value.withUnsafeBytes { try prepare(encoded: $0, source: path) }
        image.decodeSeconds += bytes.seconds
        return image
    }

    /// Encoded bytes decoded and preprocessed straight into a new model input (only the columns the resize reads
    /// are decoded; see `ImagePreprocessor.write(encoded:source:into:limits:fastDecode:)`).
    private func prepare(encoded bytes: UnsafeRawBufferPointer, source: String) throws
        -> (tensor: Tensor, decodeSeconds: Double, preprocessSeconds: Double) {
        var tensor = Tensor(zeros: .float, shape: preprocessor.configuration.shape(batchSize: 1))
        let timings = try tensor.withUnsafeMutableBufferPointer(as: Float.self) { output in
            try preprocessor.write(encoded: bytes, source: source, into: output, limits: options.decodingLimits,
                                   fastDecode: options.fastDecode)
        }
        return (tensor, timings.decodeSeconds, timings.preprocessSeconds)
    }

    private func classifyOne(_ image: (tensor: Tensor, decodeSeconds: Double, preprocessSeconds: Double)) throws
        -> ImageClassification {
        let inference = try infer([image.tensor], stepTimings: nil)
        return ImageClassification(top: inference.top[0], timings: ClassificationTimings(
            decodeSeconds: image.decodeSeconds, preprocessSeconds: image.preprocessSeconds,
            inferenceSeconds: inference.seconds, batchSize: 1))
    }

    /// One inference over single-image tensors: each image's top classes, and the inference's seconds.
    private func infer(_ tensors: [Tensor],
                       stepTimings: UnsafeMutablePointer<[NodeTiming]>?) throws -> (top: [[Classification]], seconds: Double) {
        var batch = tensors
        if let fixedBatch, let last = tensors.last, tensors.count < fixedBatch {
            batch += Array(repeating: last, count: fixedBatch - tensors.count)
        }
        let input = try ImagePreprocessor.batch(batch)
        let outputs = try measure {
            if let stepTimings {
                return try session.run([inputName: input], timings: &stepTimings.pointee)
            }
            return try session.run([inputName: input])
        }
        guard let output = outputs.value[outputName] else {
            throw ONNXRunError(.invalidModel, "the session returned no output '\(outputName)'", file: session.model.source)
        }
        let rows = try Classification.topK(output: output, labels: options.labels, k: options.top,
                                           applySoftmax: appliesSoftmax)
        guard rows.count >= tensors.count else {
            throw ONNXRunError(.invalidModel, "output '\(outputName)' \(output) has \(rows.count) rows for "
                                   + "\(tensors.count) images", file: session.model.source)
        }
        return (Array(rows.prefix(tensors.count)), outputs.seconds)
    }

    private func measure<Value>(_ body: () throws -> Value) rethrows -> (value: Value, seconds: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        return (value, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
}

// MARK: - Results

/// One image's predictions, best first, and what they cost.
public struct ImageClassification: Sendable {
    /// The `top` best classes: index in the output, label, and probability (a raw score with `rawScores`).
    public var top: [Classification]
    public var timings: ClassificationTimings

    public init(top: [Classification], timings: ClassificationTimings) {
        self.top = top
        self.timings = timings
    }
}

/// Per-stage seconds for one image.
public struct ClassificationTimings: Sendable, Equatable {
    public var decodeSeconds: Double
    public var preprocessSeconds: Double
    /// The inference's time divided by the images it ran on.
    public var inferenceSeconds: Double
    /// Images in the inference this one ran in.
    public var batchSize: Int

    public init(decodeSeconds: Double, preprocessSeconds: Double, inferenceSeconds: Double, batchSize: Int) {
        self.decodeSeconds = decodeSeconds
        self.preprocessSeconds = preprocessSeconds
        self.inferenceSeconds = inferenceSeconds
        self.batchSize = batchSize
    }
}

/// A file's classification, or why it has none.
public struct FileClassification: Sendable {
    public var path: String
    public var result: Result<ImageClassification, ONNXRunError>

    public init(path: String, result: Result<ImageClassification, ONNXRunError>) {
        self.path = path
        self.result = result
    }
}

/// What `classify(contentsOf:)` did besides the per-image results.
public struct ClassificationRunSummary: Sendable {
    public var inferenceCount = 0
    /// Each inference's per-step timings, when collected.
    public var stepTimings: [NodeTiming] = []
}
