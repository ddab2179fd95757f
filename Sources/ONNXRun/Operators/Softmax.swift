// Softmax, LogSoftmax and Hardmax: normalized exponentials (Hardmax: one-hot of the maximum), over a 2-D coercion (opset < 13) or one axis (opset >= 13).
//
// Specs: https://onnx.ai/onnx/operators/onnx__Softmax.html, onnx__LogSoftmax.html, onnx__Hardmax.html
// Opset history: 1 (coerce the input to 2-D [prod(shape[..<axis]), prod(shape[axis...])], default axis 1),
// 11 (negative axis), 13 (along one axis, default -1). Arity: input -> output.

import Foundation

struct SoftmaxOperator: Operator {
    let axis: Int
    let coercesTo2D: Bool
    let isLogarithmic: Bool
    /// Hardmax: 1 at the first maximum, 0 elsewhere.
    let isHard: Bool

    init(_ context: OperatorContext, logarithmic: Bool, hard: Bool = false) throws {
        try context.expectInputs(1...1)
        coercesTo2D = context.opset < 13
        axis = try context.int("axis", default: coercesTo2D ? 1 : -1)
        isLogarithmic = logarithmic
        isHard = hard
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        try requireFloat(input)
        if let shape = input.shape { _ = try resolvedAxis(rank: shape.count) }
        return [input]
    }

    private func resolvedAxis(rank: Int) throws -> Int {
        // The 2-D coercion also accepts axis == rank (an empty inner block).
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved < rank || (coercesTo2D && resolved == rank) || (rank == 0 && resolved == 0) else {
            throw ONNXRunError(.invalidModel, "axis \(axis) is out of range for rank \(rank)")
        }
        return resolved
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        try requireFloat(input)
        let axis: Int
        do { axis = try resolvedAxis(rank: input.rank) } catch let error as ONNXRunError {
            throw error.adding(shapes: [input.description])
        }
        // Normalize over `length` elements `stride` apart, for every (outer, inner) pair.
        let outer: Int, length: Int, inner: Int
        if coercesTo2D {
            (outer, length, inner) = (product(input.shape[..<axis]), product(input.shape[axis...]), 1)
        } else if input.rank == 0 {
            (outer, length, inner) = (1, 1, 1)
        } else {
            (outer, length, inner) = (product(input.shape[..<axis]), input.shape[axis], product(input.shape[(axis + 1)...]))
        }
        var values = input.floats
        for outerIndex in 0..<outer {
            for innerIndex in 0..<inner {
                let base = outerIndex * length * inner + innerIndex
                var maximum = -Float.infinity, first = 0
                for step in 0..<length where values[base + step * inner] > maximum {
                    maximum = values[base + step * inner]
                    first = step
                }
                if isHard {
                    for step in 0..<length { values[base + step * inner] = step == first ? 1 : 0 }
                    continue
                }
                var sum: Float = 0
                for step in 0..<length { sum += expf(values[base + step * inner] - maximum) }
                for step in 0..<length {
                    let shifted = values[base + step * inner] - maximum
                    values[base + step * inner] = isLogarithmic ? shifted - logf(sum) : expf(shifted) / sum
                }
            }
        }
        return [Tensor(shape: input.shape, computed: values)]
    }
}
