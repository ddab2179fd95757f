// Gather: picks entries along one axis by index (negative indices count from the end), bounds-checked.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Gather.html
// Opset history: 1, 11 (negative indices), 13. Arity: data, indices (int32/int64) -> output.
// Output shape: data.shape[..<axis] + indices.shape + data.shape[(axis+1)...].

struct GatherOperator: Operator {
    let axis: Int

    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...2)
        axis = try context.int("axis", default: 0)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        let indices = try requiredInput(inputs, 1, "indices").type
        guard [.int64, .int32].contains(indices.elementType) else { throw unsupportedType(indices.elementType, "indices") }
        guard let dataShape = data.shape, let indicesShape = indices.shape else {
            return [TensorType(elementType: data.elementType, shape: nil)]
        }
        guard let axis = normalizedAxis(axis, rank: dataShape.count) else {
            throw ONNXRunError(.invalidModel, "axis \(self.axis) is out of range for data \(data)")
        }
        return [TensorType(elementType: data.elementType,
                           shape: Array(dataShape[..<axis]) + indicesShape + Array(dataShape[(axis + 1)...]))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        let indicesTensor = try requiredInput(inputs, 1, "indices")
        guard let axis = normalizedAxis(axis, rank: data.rank) else {
            throw runtimeError("axis \(self.axis) is out of range", inputs)
        }
        guard [.int64, .int32].contains(indicesTensor.elementType), let indices = indicesTensor.integers else {
            throw unsupportedType(indicesTensor.elementType, "indices")
        }
        let length = data.shape[axis]
        var resolved: [Int] = []
        resolved.reserveCapacity(indices.count)
        for index in indices {
            guard index >= -length, index < length else {
                throw runtimeError("index \(index) is out of range [\(-length), \(length - 1)] on axis \(axis)", inputs)
            }
            resolved.append(index < 0 ? index + length : index)
        }
        let outer = product(data.shape[..<axis])
        let inner = product(data.shape[(axis + 1)...])
        let shape = Array(data.shape[..<axis]) + indicesTensor.shape + Array(data.shape[(axis + 1)...])
        let count = try checkedCount(shape, inputs)
        var offsets = [Int]()
        offsets.reserveCapacity(count)
        for outerIndex in 0..<outer {
            for index in resolved {
                let base = (outerIndex * length + index) * inner
                for innerIndex in 0..<inner { offsets.append(base + innerIndex) }
            }
        }
        return [data.gathering(offsets: offsets, shape: shape)]
    }
}
