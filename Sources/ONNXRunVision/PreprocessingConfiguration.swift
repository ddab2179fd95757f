// PreprocessingConfiguration: the resize/crop/normalize/layout recipe, and how a model's metadata_props set it.

import Foundation
import ONNXRun

/// The recipe that turns a decoded photo into a model input, as torchvision's
/// `Resize(resize) -> CenterCrop(crop) -> ToTensor() -> Normalize(mean, std)` does (with PIL images).
public struct PreprocessingConfiguration: Sendable, Equatable {
    // MARK: Types

    /// Where the channel axis is.
    public enum Layout: String, Sendable, Equatable, CaseIterable {
        /// `[N, 3, H, W]` (PyTorch exports).
        case nchw = "NCHW"
        /// `[N, H, W, 3]` (TensorFlow/Keras exports).
        case nhwc = "NHWC"
    }

    /// The order of the three channels in the tensor.
    public enum ChannelOrder: String, Sendable, Equatable, CaseIterable {
        case rgb = "RGB"
        /// Caffe-style models.
        case bgr = "BGR"
    }

    /// How 0...255 pixel values become tensor values.
    public enum Normalization: Sendable, Equatable {
        /// torchvision's ImageNet statistics: mean 0.485, 0.456, 0.406 and std 0.229, 0.224, 0.225 (0...1 scale).
        case imagenet
        /// Inception/Keras "tf" style: `x / 127.5 - 1`, in [-1, 1].
        case inception
        /// The pixel values themselves, 0...255.
        case raw
        /// `(x / 255 - mean[c]) / std[c]`: torchvision's ToTensor then Normalize. Mean and std are on the 0...1
        /// scale, in R, G, B order whatever the tensor's channel order, with 1 value (all channels) or 3.
        case meanStandardDeviation(mean: [Float], standardDeviation: [Float])

        /// The preset names accepted by `init(presetName:)` and the metadata key.
        public static let presetNames = ["imagenet", "inception", "raw"]

        /// A preset by name (`imagenet`, `inception`, `raw`), or nil.
        public init?(presetName: String) {
            switch presetName.lowercased() {
            case "imagenet": self = .imagenet
            case "inception": self = .inception
            case "raw": self = .raw
            default: return nil
            }
        }

        /// 256 tensor values per channel (R, G, B), indexed by the pixel value; computed in Float with the same
        /// operations as torchvision so the values are bit-identical to PyTorch's.
        func lookupTables() throws -> [[Float]] {
            switch self {
            case .imagenet:
                return try Normalization.meanStandardDeviation(mean: [0.485, 0.456, 0.406],
                                                               standardDeviation: [0.229, 0.224, 0.225])
                    .lookupTables()
            case .inception:
                let table = (0..<256).map { Float($0) / 127.5 - 1 }
                return [table, table, table]
            case .raw:
                let table = (0..<256).map { Float($0) }
                return [table, table, table]
            case .meanStandardDeviation(let mean, let standardDeviation):
                guard [1, 3].contains(mean.count), [1, 3].contains(standardDeviation.count) else {
                    throw ONNXRunError(.invalidArgument,
                                       "mean and std need 1 or 3 values, got \(mean.count) and \(standardDeviation.count)")
                }
                return try (0..<3).map { channel in
                    let channelMean = mean.count == 3 ? mean[channel] : mean[0]
                    let channelDeviation = standardDeviation.count == 3 ? standardDeviation[channel] : standardDeviation[0]
                    guard channelMean.isFinite, channelDeviation.isFinite, channelDeviation != 0 else {
                        throw ONNXRunError(.invalidArgument, "mean \(channelMean) / std \(channelDeviation) "
                                           + "is not usable (std must be finite and non-zero)")
                    }
                    return (0..<256).map { (Float($0) / 255 - channelMean) / channelDeviation }
                }
            }
        }
    }

    // MARK: Properties

    /// The model's input height and width: the centre crop's size.
    public var inputHeight: Int
    public var inputWidth: Int
    /// The shorter side after resizing; nil means `floor(min(inputHeight, inputWidth) / 0.875)` (256 for 224),
    /// the usual ImageNet evaluation ratio.
    public var resizeShorterSide: Int?
    /// How the longer side is rounded when resizing (default `.nearest`; torchvision's `Resize(int)` uses `.down`).
    public var longerSideRounding: ImageResampler.LongerSideRounding
    public var normalization: Normalization
    public var channelOrder: ChannelOrder
    public var layout: Layout

    /// The usual ImageNet evaluation: resize to input / 0.875, centre crop, ImageNet mean/std, RGB, NCHW.
    public init(inputHeight: Int = 224, inputWidth: Int = 224, resizeShorterSide: Int? = nil,
                longerSideRounding: ImageResampler.LongerSideRounding = .nearest,
                normalization: Normalization = .imagenet, channelOrder: ChannelOrder = .rgb,
                layout: Layout = .nchw) {
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.resizeShorterSide = resizeShorterSide
        self.longerSideRounding = longerSideRounding
        self.normalization = normalization
        self.channelOrder = channelOrder
        self.layout = layout
    }

    /// The shorter side the image is resized to.
    public var effectiveResizeShorterSide: Int {
        resizeShorterSide ?? Int((Double(min(inputHeight, inputWidth)) / 0.875).rounded(.down))
    }

    /// The tensor shape for a batch of `batchSize` images.
    public func shape(batchSize: Int = 1) -> [Int] {
        switch layout {
        case .nchw: [batchSize, 3, inputHeight, inputWidth]
        case .nhwc: [batchSize, inputHeight, inputWidth, 3]
        }
    }

    // MARK: Model input shape

    /// Layout and spatial size read from a model input's declared shape: rank 4, batch first, and exactly one of
    /// axis 1 or axis 3 of size 3 (NCHW when both are, the PyTorch convention). Spatial dimensions that are not
    /// fixed keep this configuration's values. Throws when the shape cannot be an image batch.
    public func adapted(toInputShape shape: [ONNXRun.Dimension]?) throws -> PreprocessingConfiguration {
        guard let shape, shape.count == 4 else {
            let text = shape.map { "[\($0.map(\.description).joined(separator: ","))]" } ?? "unknown"
            throw ONNXRunError(.invalidInput, "an image input needs rank 4 ([N,3,H,W] or [N,H,W,3]); the model declares \(text)")
        }
        var copy = self
        if shape[1].value == 3 {
            copy.layout = .nchw
            copy.inputHeight = shape[2].value ?? inputHeight
            copy.inputWidth = shape[3].value ?? inputWidth
        } else if shape[3].value == 3 {
            copy.layout = .nhwc
            copy.inputHeight = shape[1].value ?? inputHeight
            copy.inputWidth = shape[2].value ?? inputWidth
        } else if shape[1].value == nil, shape[3].value == nil {
            // Fully dynamic: keep the configured layout and size.
        } else {
            let declared = shape.map(\.description).joined(separator: ",")
            throw ONNXRunError(.invalidInput, "an image input needs 3 channels on axis 1 (NCHW) or 3 (NHWC); "
                               + "the model declares [\(declared)]")
        }
        return copy
    }

    // MARK: Model metadata

    /// Keys of a model's `metadata_props` that override the defaults (all optional, case-insensitive values):
    ///
    /// | key | value | example |
    /// |---|---|---|
    /// | `onnxrun.preprocess.resize` | shorter side after resizing, pixels | `256` |
    /// | `onnxrun.preprocess.resize_rounding` | longer side rounding: `nearest` or `down` (torchvision) | `down` |
    /// | `onnxrun.preprocess.crop` | centre crop `H,W` or one number for square (else the input shape) | `224` |
    /// | `onnxrun.preprocess.normalization` | preset: `imagenet`, `inception`, `raw` | `imagenet` |
    /// | `onnxrun.preprocess.mean` | per-channel mean on the 0...1 scale, R,G,B order (1 or 3 numbers) | `0.485,0.456,0.406` |
    /// | `onnxrun.preprocess.std` | per-channel std on the 0...1 scale, R,G,B order (1 or 3 numbers) | `0.229,0.224,0.225` |
    /// | `onnxrun.preprocess.layout` | `NCHW` or `NHWC` | `NCHW` |
    /// | `onnxrun.preprocess.channel_order` | `RGB` or `BGR` | `RGB` |
    /// | `onnxrun.postprocess.output` | `logits` (softmax applied by onnxrun) or `probabilities` | `logits` |
    ///
    /// `mean` and `std` go together and win over `normalization`. For `(x - 127) / 128` on 0...255 values write
    /// mean `0.4980392156862745` (127/255) and std `0.5019607843137255` (128/255).
    public enum MetadataKey {
        public static let resize = "onnxrun.preprocess.resize"
        public static let resizeRounding = "onnxrun.preprocess.resize_rounding"
        public static let crop = "onnxrun.preprocess.crop"
        public static let normalization = "onnxrun.preprocess.normalization"
        public static let mean = "onnxrun.preprocess.mean"
        public static let standardDeviation = "onnxrun.preprocess.std"
        public static let layout = "onnxrun.preprocess.layout"
        public static let channelOrder = "onnxrun.preprocess.channel_order"
        public static let output = "onnxrun.postprocess.output"
    }

    /// This configuration with the `onnxrun.preprocess.*` keys of `metadata` applied (see `MetadataKey`); keys
    /// that are absent leave the current values. Throws `.invalidModel` naming the key when a value is malformed.
    public func applying(metadata: [String: String]) throws -> PreprocessingConfiguration {
        var copy = self
        func fail(_ key: String, _ value: String, _ expected: String) -> ONNXRunError {
            ONNXRunError(.invalidModel, "metadata \(key) = '\(value)': expected \(expected)")
        }
        func numbers(_ key: String) throws -> [Float]? {
            guard let value = metadata[key] else { return nil }
            let parts = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let parsed = parts.compactMap { Float($0) }
            guard parsed.count == parts.count, [1, 3].contains(parsed.count), parsed.allSatisfy(\.isFinite) else {
                throw fail(key, value, "1 or 3 comma-separated numbers")
            }
            return parsed
        }
        func positiveIntegers(_ key: String, count: ClosedRange<Int>) throws -> [Int]? {
            guard let value = metadata[key] else { return nil }
            let parts = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let parsed = parts.compactMap { Int($0) }.filter { $0 > 0 && $0 <= 1 << 16 }
            guard parsed.count == parts.count, count.contains(parsed.count) else {
                throw fail(key, value, count.count == 1 ? "a positive integer" : "a positive integer or H,W")
            }
            return parsed
        }

        if let resize = try positiveIntegers(MetadataKey.resize, count: 1...1) { copy.resizeShorterSide = resize[0] }
        if let value = metadata[MetadataKey.resizeRounding] {
            guard let rounding = ImageResampler.LongerSideRounding(rawValue: value.lowercased()) else {
                throw fail(MetadataKey.resizeRounding, value, "nearest or down")
            }
            copy.longerSideRounding = rounding
        }
        if let crop = try positiveIntegers(MetadataKey.crop, count: 1...2) {
            copy.inputHeight = crop[0]
            copy.inputWidth = crop.count == 2 ? crop[1] : crop[0]
        }
        if let value = metadata[MetadataKey.normalization] {
            guard let preset = Normalization(presetName: value) else {
                throw fail(MetadataKey.normalization, value, Normalization.presetNames.joined(separator: ", "))
            }
            copy.normalization = preset
        }
        let mean = try numbers(MetadataKey.mean)
        let deviation = try numbers(MetadataKey.standardDeviation)
        switch (mean, deviation) {
        case (nil, nil): break
        case (let mean?, let deviation?):
            guard deviation.allSatisfy({ $0 != 0 }) else {
                throw fail(MetadataKey.standardDeviation, metadata[MetadataKey.standardDeviation] ?? "", "non-zero values")
            }
            copy.normalization = .meanStandardDeviation(mean: mean, standardDeviation: deviation)
        case (nil, _):
            throw ONNXRunError(.invalidModel, "metadata has \(MetadataKey.standardDeviation) without \(MetadataKey.mean)")
        case (_, nil):
            throw ONNXRunError(.invalidModel, "metadata has \(MetadataKey.mean) without \(MetadataKey.standardDeviation)")
        }
        if let value = metadata[MetadataKey.layout] {
            guard let layout = Layout(rawValue: value.uppercased()) else {
                throw fail(MetadataKey.layout, value, "NCHW or NHWC")
            }
            copy.layout = layout
        }
        if let value = metadata[MetadataKey.channelOrder] {
            guard let order = ChannelOrder(rawValue: value.uppercased()) else {
                throw fail(MetadataKey.channelOrder, value, "RGB or BGR")
            }
            copy.channelOrder = order
        }
        return copy
    }

    /// Whether the model's outputs are already probabilities according to `onnxrun.postprocess.output`
    /// (nil when the key is absent). Throws when the value is neither `logits` nor `probabilities`.
    public static func outputsAreProbabilities(metadata: [String: String]) throws -> Bool? {
        guard let value = metadata[MetadataKey.output] else { return nil }
        switch value.lowercased() {
        case "logits": return false
        case "probabilities": return true
        default:
            throw ONNXRunError(.invalidModel, "metadata \(MetadataKey.output) = '\(value)': expected logits or probabilities")
        }
    }
}
