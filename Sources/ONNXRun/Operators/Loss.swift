// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: classification losses over [N, C, d...] scores.
//
// Specs: https://onnx.ai/onnx/operators/onnx__NegativeLogLikelihoodLoss.html (12, 13, 22),
//        https://onnx.ai/onnx/operators/onnx__SoftmaxCrossEntropyLoss.html (12, 13)
// Arity: NLL: input [N, C, d...], target [N, d...] (int32/int64), optional weight [C] -> loss.
//        SCE: scores, labels, optional weights -> output (, log_prob).
// loss[n, d] = -input[n, target, d] * weight[target] (0 where target == ignore_index); reduction none|sum|mean
// (mean divides by the sum of the weights used). SCE applies log-softmax over C first. Float32.

import Foundation

struct LossOperator: Operator {
    enum Reduction: String { case none, sum, mean }
    let isSoftmaxCrossEntropy: Bool
    let reduction: Reduction
    let ignoreIndex: Int?
    let producesLogProbabilities: Bool

    init(_ context: OperatorContext, softmaxCrossEntropy: Bool) throws {
        try context.expectInputs(2...3, outputs: softmaxCrossEntropy ? 1...2 : 1...1)
        isSoftmaxCrossEntropy = softmaxCrossEntropy
        let name = try context.string("reduction", default: "mean")
        guard let reduction = Reduction(rawValue: name) else { throw context.invalid("reduction '\(name)' is not none, sum or mean") }
        self.reduction = reduction
        ignoreIndex = try context.int("ignore_index")
        producesLogProbabilities = context.hasOutput(1)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let scores = try requiredInput(inputs, 0, "input").type
        let target = try requiredInput(inputs, 1, "target").type
        try requireFloat(scores)
        guard [.int64, .int32].contains(target.elementType) else { throw unsupportedType(target.elementType, "target") }
        let loss = TensorType(elementType: .float, shape: reduction == .none ? target.shape : [])
        return [loss] + (producesLogProbabilities ? [scores] : [])
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let scores = try requiredInput(inputs, 0, "input")
        let targetTensor = try requiredInput(inputs, 1, "target")
        let weightTensor = optionalInput(inputs, 2)
        try requireFloat(scores)
        guard scores.rank >= 2, let targets = targetTensor.integers,
              targetTensor.shape == [scores.shape[0]] + Array(scores.shape[2...]) else {
            throw runtimeError("target must have the scores' shape without the class axis", inputs)
        }
        let classes = scores.shape[1], inner = product(scores.shape[2...])
        var values = scores.floats
        if isSoftmaxCrossEntropy {
            // log-softmax over the class axis.
            for n in 0..<scores.shape[0] {
                for position in 0..<inner {
                    let base = n * classes * inner + position
                    var maximum = -Float.infinity
                    for c in 0..<classes { maximum = max(maximum, values[base + c * inner]) }
                    var sum: Float = 0
                    for c in 0..<classes { sum += expf(values[base + c * inner] - maximum) }
                    let logSum = logf(sum)
                    for c in 0..<classes { values[base + c * inner] = values[base + c * inner] - maximum - logSum }
                }
            }
        }
        if let weightTensor { try requireFloat(weightTensor, "weight") }
        let weights = weightTensor?.floats
        if let weights, weights.count != classes { throw runtimeError("weight must have one value per class", inputs) }
        var losses = [Float](repeating: 0, count: targets.count)
        var weightSum: Float = 0
        for (index, target) in targets.enumerated() {
            if target == ignoreIndex { continue }
            guard target >= 0, target < classes else {
                throw runtimeError("target \(target) is outside the \(classes) classes", inputs)
            }
            let n = index / max(inner, 1), position = index % max(inner, 1)
            let weight = weights?[target] ?? 1
            losses[index] = -values[(n * classes + target) * inner + position] * weight
            weightSum += weight
        }
        let loss: Tensor
        switch reduction {
        case .none: loss = Tensor(shape: targetTensor.shape, computed: losses)
        case .sum: loss = Tensor(shape: [], computed: [losses.reduce(0, +)])
        case .mean: loss = Tensor(shape: [], computed: [weightSum == 0 ? 0 : losses.reduce(0, +) / weightSum])
        }
        return [loss] + (producesLogProbabilities ? [Tensor(shape: scores.shape, computed: values)] : [])
    }
}
