// Class labels, softmax and top-k: turning a classifier's output vector into named, ranked predictions.

import Foundation
import ONNXRun

/// One ranked prediction.
public struct Classification: Sendable, Equatable {
    /// Index in the model's output vector.
    public var index: Int
    public var label: String
    /// A probability when softmax was applied (or the model outputs probabilities), else the raw score.
    public var score: Float

    public init(index: Int, label: String, score: Float) {
        self.index = index
        self.label = label
        self.score = score
    }

    // MARK: - Scores

    /// Numerically stable softmax: `exp(x - max) / sum`, accumulated in Double. Non-finite inputs give NaN for
    /// every class except when the largest score is +infinity (those classes share the probability).
    public static func softmax(_ scores: [Float]) -> [Float] {
        guard let maximum = scores.max() else { return [] }
        if maximum == .infinity {
            let count = Float(scores.count(where: { $0 == .infinity }))
            return scores.map { $0 == .infinity ? 1 / count : 0 }
        }
        let exponentials = scores.map { Foundation.exp(Double($0) - Double(maximum)) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { Float($0 / total) }
    }

    /// The `k` highest scores (ties: lower index first; NaN ranks last), with their labels. `labels` are resolved
    /// with `ClassLabels.resolve` (nil: ImageNet names for 1000 or 1001 classes). With `applySoftmax`, scores are
    /// first turned into probabilities; pass false when the model already ends in Softmax.
    public static func topK(scores: [Float], labels: [String]? = nil, k: Int,
                            applySoftmax: Bool = true) throws -> [Classification] {
        guard k > 0 else { throw ONNXRunError(.invalidArgument, "top-k needs k > 0, got \(k)") }
        let names = try ClassLabels.resolve(labels, classCount: scores.count)
        let values = applySoftmax ? softmax(scores) : scores
        func ranksBefore(_ left: Int, _ right: Int) -> Bool {
            let a = values[left], b = values[right]
            if a.isNaN != b.isNaN { return b.isNaN }
            if a != b, !a.isNaN { return a > b }
            return left < right
        }
        // A bounded insertion keeps this O(n k) without sorting 1000 entries for k = 5.
        var best: [Int] = []
        best.reserveCapacity(min(k, values.count) + 1)
        for index in values.indices {
            if best.count == k, let last = best.last, !ranksBefore(index, last) { continue }
            let position = best.firstIndex { ranksBefore(index, $0) } ?? best.count
            best.insert(index, at: position)
            if best.count > k { best.removeLast() }
        }
        return best.map { Classification(index: $0, label: names[$0], score: values[$0]) }
    }

    /// `topK` over a model output tensor: float32 `[classes]` or `[1, classes]` (any shape with one non-unit axis
    /// of classes); returns one list per batch row for `[N, classes]`.
    public static func topK(output: Tensor, labels: [String]? = nil, k: Int,
                            applySoftmax: Bool = true) throws -> [[Classification]] {
        guard output.elementType == .float else {
            throw ONNXRunError(.invalidArgument, "classification needs a float32 output, got \(output)")
        }
        let rows: Int, classes: Int
        switch output.rank {
        case 1: (rows, classes) = (1, output.shape[0])
        case 2: (rows, classes) = (output.shape[0], output.shape[1])
        default:
            // [N, C, 1, 1] and similar: classes on axis 1, every other axis after it of size 1.
            guard output.rank > 2, output.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
                throw ONNXRunError(.invalidArgument, "classification needs [N, classes] scores, got \(output)")
            }
            (rows, classes) = (output.shape[0], output.shape[1])
        }
        guard classes > 0 else { throw ONNXRunError(.invalidArgument, "the output has no classes: \(output)") }
        let all = output.floats
        return try (0..<rows).map { row in
            try topK(scores: Array(all[row * classes..<(row + 1) * classes]), labels: labels, k: k,
                     applySoftmax: applySoftmax)
        }
    }
}

// MARK: - Labels

/// Class names for a model's outputs.
public enum ClassLabels {
    /// The name of the extra class 0 of 1001-class (TensorFlow-slim style) ImageNet models.
    public static let backgroundLabel = "background"

    /// Labels from a text file, one per line (surrounding whitespace trimmed, a final empty line ignored).
    public static func load(contentsOf path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ONNXRunError(.io, "cannot read the labels file", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ONNXRunError(.invalidArgument, "the labels file is not UTF-8 text", file: path)
        }
        // Character.isNewline also splits "\r\n", which Swift treats as one character.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard !lines.isEmpty else { throw ONNXRunError(.invalidArgument, "the labels file is empty", file: path) }
        return lines
    }

    /// One label per class: `labels` as given when the counts match; with one label fewer than classes,
    /// `background` is put at index 0 (1001-class models); nil gives the ImageNet-1k names for 1000 or 1001
    /// classes and `class <i>` otherwise. Throws when a given list fits neither way.
    public static func resolve(_ labels: [String]?, classCount: Int) throws -> [String] {
        guard let labels else {
            switch classCount {
            case ImageNetLabels.names.count: return ImageNetLabels.names
            case ImageNetLabels.names.count + 1: return [backgroundLabel] + ImageNetLabels.names
            default: return (0..<classCount).map { "class \($0)" }
            }
        }
        if labels.count == classCount { return labels }
        if labels.count + 1 == classCount { return [backgroundLabel] + labels }
        throw ONNXRunError(.invalidArgument,
                           "\(labels.count) labels do not fit a model with \(classCount) output classes")
    }
}
