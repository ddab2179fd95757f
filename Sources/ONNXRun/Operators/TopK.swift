// TopK: the k largest (or smallest) elements along one axis, with their indices.
//
// Spec: https://onnx.ai/onnx/operators/onnx__TopK.html
// Opset history: 1 (k attribute), 10 (k input), 11 (largest, sorted, negative axis), 24 (more types).
// Arity: X (, K int64 [1]) -> Values, Indices (int64). Float32, int32, int64. Ties keep the lower index first.

struct TopKOperator: Operator {
    let attributeK: Int?
    let axis: Int
    let largest: Bool

    init(_ context: OperatorContext) throws {
        if context.opset < 10 {
            try context.expectInputs(1...1, outputs: 2...2)
            guard let k = try context.int("k") else { throw context.invalid("attribute 'k' is required") }
            attributeK = k
        } else {
            try context.expectInputs(2...2, outputs: 2...2)
            attributeK = nil
        }
        axis = try context.int("axis", default: -1)
        largest = try context.int("largest", default: 1) != 0
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        guard [.float, .double, .int64, .int32].contains(x.elementType) else { throw unsupportedType(x.elementType) }
        var shape = x.shape
        if let rank = shape?.count {
            guard let axis = normalizedAxis(axis, rank: rank) else {
                throw ONNXRunError(.invalidModel, "axis \(self.axis) is out of range for \(x)")
            }
            let k = attributeK ?? optionalInput(inputs, 1)?.constant?.integers?.first
            shape?[axis] = k.map { .fixed($0) } ?? .unknown
        }
        return [TensorType(elementType: x.elementType, shape: shape), TensorType(elementType: .int64, shape: shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        guard let axis = normalizedAxis(axis, rank: x.rank) else { throw runtimeError("axis out of range", inputs) }
        var k = attributeK ?? 0
        if attributeK == nil {
            let kTensor = try requiredInput(inputs, 1, "K")
            guard kTensor.elementCount == 1, let value = kTensor.integers?.first else {
                throw runtimeError("K must hold one integer", inputs)
            }
            k = value
        }
        let length = x.shape[axis]
        guard k >= 0, k <= length else { throw runtimeError("k \(k) is outside 0...\(length)", inputs) }
        let values: [Double]
        switch x.elementType {
        case .float, .double: values = (0..<x.elementCount).map { x.doubleValue(at: $0) ?? .nan }
        case .int64, .int32: values = (x.integers ?? []).map { Double($0) }
        default: throw unsupportedType(x.elementType)
        }
        let outer = product(x.shape[..<axis]), inner = product(x.shape[(axis + 1)...])
        var shape = x.shape
        shape[axis] = k
        var offsets = [Int](repeating: 0, count: outer * k * inner)
        var indices = [Int64](repeating: 0, count: outer * k * inner)
        for outerIndex in 0..<outer {
            for innerIndex in 0..<inner {
                let base = outerIndex * length * inner + innerIndex
                // Stable: equal values keep index order; NaN sorts as the largest, as in onnxruntime.
                let order = (0..<length).sorted { left, right in
                    let a = values[base + left * inner], b = values[base + right * inner]
                    if a == b || (a.isNaN && b.isNaN) { return left < right }
                    if a.isNaN { return largest }
                    if b.isNaN { return !largest }
                    return largest ? a > b : a < b
                }
                for rank in 0..<k {
                    let position = (outerIndex * k + rank) * inner + innerIndex
                    offsets[position] = base + order[rank] * inner
                    indices[position] = Int64(order[rank])
                }
            }
        }
        return [x.gathering(offsets: offsets, shape: shape), Tensor(shape: shape, computed: indices)]
    }
}
