// One-line summaries of output tensors (min, max, mean, argmax) and comparisons against reference tensors.

import ONNXRun
import ONNXRunConformance

struct TensorSummary {
    var minimum: Double
    var maximum: Double
    var mean: Double
    var nanCount: Int
    /// The index of the largest value of a vector (`[C]` or `[1,C]`), or of each row of `[N,C]`.
    var argmaxPerRow: [Int]?

    /// nil for string tensors and empty ones.
    init?(_ tensor: Tensor) {
        guard let values = tensor.doubleElements, !values.isEmpty else { return nil }
        var minimum = Double.infinity
        var maximum = -Double.infinity
        var sum = 0.0
        var nanCount = 0
        for value in values {
            if value.isNaN {
                nanCount += 1
                continue
            }
            minimum = min(minimum, value)
            maximum = max(maximum, value)
            sum += value
        }
        let finiteCount = values.count - nanCount
        self.minimum = finiteCount > 0 ? minimum : .nan
        self.maximum = finiteCount > 0 ? maximum : .nan
        mean = finiteCount > 0 ? sum / Double(finiteCount) : .nan
        self.nanCount = nanCount

        let rowLength: Int? = switch tensor.shape.count {
        case 1: tensor.shape[0]
        case 2: tensor.shape[1]
        default: nil
        }
        if let rowLength, rowLength > 0 {
            argmaxPerRow = stride(from: 0, to: values.count, by: rowLength).map { start in
                Self.argmax(values[start..<min(start + rowLength, values.count)]) - start
            }
        }
    }

    /// The first index of the largest value (NaN never wins).
    static func argmax(_ values: ArraySlice<Double>) -> Int {
        var best = values.startIndex
        for index in values.indices where !values[index].isNaN {
            if values[best].isNaN || values[index] > values[best] { best = index }
        }
        return best
    }

    /// `min -3.2  max 9.87  mean 0.0012  argmax 282`
    var text: String {
        var text = "min \(TensorValues.format(minimum))  max \(TensorValues.format(maximum))  "
            + "mean \(TensorValues.format(mean))"
        if nanCount > 0 { text += "  NaN \(nanCount)" }
        if let argmaxPerRow {
            if argmaxPerRow.count == 1 {
                text += "  argmax \(argmaxPerRow[0])"
            } else {
                let shown = argmaxPerRow.prefix(32).map(String.init).joined(separator: ",")
                text += "  argmax per row [\(shown)\(argmaxPerRow.count > 32 ? ",…" : "")]"
            }
        }
        return text
    }

    // MARK: - Comparison

    /// The largest absolute difference between two tensors of the same shape (NaN where both are NaN counts as equal).
    static func maximumAbsoluteDifference(_ actual: Tensor, _ expected: Tensor, name: String) throws -> Double {
        guard actual.shape == expected.shape else {
            throw ONNXRunError(.invalidArgument,
                               "output '\(name)' has shape \(describeShape(actual.shape)), the reference "
                                   + "\(describeShape(expected.shape))")
        }
        guard let actualValues = actual.doubleElements, let expectedValues = expected.doubleElements else {
            throw ONNXRunError(.unsupported, "cannot compare string tensors (output '\(name)')")
        }
        var largest = 0.0
        for (left, right) in zip(actualValues, expectedValues) {
            if left.isNaN && right.isNaN { continue }
            if left == right { continue }  // equal infinities
            let difference = abs(left - right)
            if difference.isNaN { return .infinity }
            largest = max(largest, difference)
        }
        return largest
    }
}
