// ArgMax and ArgMin: the index of the largest/smallest element along one axis (first or last occurrence).
//
// Spec: https://onnx.ai/onnx/operators/onnx__ArgMax.html, onnx__ArgMin.html
// Opset history: 1, 11 (negative axis), 12 (select_last_index), 13. Arity: data -> int64 reduced.

struct ArgExtremumOperator: Operator {
    let isMaximum: Bool
    let axis: Int
    let keepDimensions: Bool
    let selectLastIndex: Bool

    init(_ context: OperatorContext, maximum: Bool) throws {
        try context.expectInputs(1...1)
        isMaximum = maximum
        axis = try context.int("axis", default: 0)
        keepDimensions = try context.int("keepdims", default: 1) != 0
        selectLastIndex = try context.int("select_last_index", default: 0) != 0
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        guard [.float, .int64, .int32].contains(data.elementType) else { throw unsupportedType(data.elementType) }
        guard let shape = data.shape else { return [TensorType(elementType: .int64, shape: nil)] }
        guard let axis = normalizedAxis(axis, rank: shape.count) else {
            throw ONNXRunError(.invalidModel, "axis \(self.axis) is out of range for \(data)")
        }
        var result = shape
        if keepDimensions { result[axis] = .fixed(1) } else { result.remove(at: axis) }
        return [TensorType(elementType: .int64, shape: result)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        guard let axis = normalizedAxis(axis, rank: data.rank) else { throw runtimeError("axis out of range", inputs) }
        let values: [Double]
        switch data.elementType {
        case .float: values = data.floats.map { Double($0) }
        case .int64, .int32: values = (data.integers ?? []).map { Double($0) }
        default: throw unsupportedType(data.elementType)
        }
        let outer = product(data.shape[..<axis]), length = data.shape[axis], inner = product(data.shape[(axis + 1)...])
        guard length > 0 else { throw runtimeError("cannot take the \(isMaximum ? "arg max" : "arg min") of an empty axis", inputs) }
        var result = [Int64](repeating: 0, count: outer * inner)
        for outerIndex in 0..<outer {
            for innerIndex in 0..<inner {
                let base = outerIndex * length * inner + innerIndex
                var best = values[base], bestIndex = 0
                for step in 1..<max(length, 1) {
                    let value = values[base + step * inner]
                    let better = isMaximum ? (value > best || (selectLastIndex && value == best))
                                           : (value < best || (selectLastIndex && value == best))
                    if better { best = value; bestIndex = step }
                }
                result[outerIndex * inner + innerIndex] = Int64(bestIndex)
            }
        }
        var shape = data.shape
        if keepDimensions { shape[axis] = 1 } else { shape.remove(at: axis) }
        return [Tensor(shape: shape, computed: result)]
    }
}
