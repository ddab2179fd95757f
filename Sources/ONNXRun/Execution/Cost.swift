// Multiply-accumulate counts per node, for `inspect` and the profiler's GFLOP/s.

/// What inspect shows per node of the original graph.
public struct NodeAnalysis: Sendable {
    public var name: String
    public var opType: String
    public var outputTypes: [TensorType]
    /// Multiply-accumulates for one run, when the operator is a MAC-bound one and the shapes are known.
    public var macs: Int?
}

/// An operator that knows its own multiply-accumulate count (fused operators hold their weights).
protocol CostReporting {
    func multiplyAccumulates(outputShapes: [[Int]]) -> Int
}

/// MACs of the compute-bound operators (Conv, Gemm, MatMul); nil for others or when shapes are unknown.
func estimatedMultiplyAccumulates(opType: String, inputs: [TensorType?], outputs: [TensorType],
                                  attributes: [String: AttributeValue]) -> Int? {
    guard let outputShape = outputs.first?.fixedShape, let outputElements = checkedElementCount(outputShape) else {
        return nil
    }
    func inputShape(_ index: Int) -> [Int]? {
        index < inputs.count ? inputs[index]?.fixedShape : nil
    }
    switch opType {
    case "Conv":
        // Each output element sums over (input channels / group) x kernel taps = weight.shape[1...].
        guard let weight = inputShape(1), weight.count >= 3 else { return nil }
        return outputElements * weight.dropFirst().reduce(1, *)
    case "Gemm":
        guard let a = inputShape(0), a.count == 2 else { return nil }
        var transposeA = false
        if case .int(let value)? = attributes["transA"] { transposeA = value != 0 }
        return outputElements * (transposeA ? a[0] : a[1])
    case "MatMul":
        guard let a = inputShape(0), let depth = a.last else { return nil }
        return outputElements * depth
    default:
        return nil
    }
}
