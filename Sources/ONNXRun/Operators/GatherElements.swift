// GatherElements: output[i][j][k] = data[index][j][k] (for axis 0), indices of the output's shape.
//
// Spec: https://onnx.ai/onnx/operators/onnx__GatherElements.html
// Opset history: 11, 13. Arity: data, indices (int32/int64, same rank as data) -> output of indices' shape.

struct GatherElementsOperator: Operator {
    let axis: Int

    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...2)
        axis = try context.int("axis", default: 0)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        let indices = try requiredInput(inputs, 1, "indices").type
        guard [.int64, .int32].contains(indices.elementType) else { throw unsupportedType(indices.elementType, "indices") }
        return [TensorType(elementType: data.elementType, shape: indices.shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        let indicesTensor = try requiredInput(inputs, 1, "indices")
        guard let axis = normalizedAxis(axis, rank: data.rank), indicesTensor.rank == data.rank,
              let indices = indicesTensor.integers else {
            throw runtimeError("indices must be an integer tensor of data's rank, axis \(self.axis) in range", inputs)
        }
        let length = data.shape[axis]
        let dataStrides = contiguousStrides(data.shape)
        // Each output position's offset without the axis term, walking the indices' shape with data's strides.
        let baseStrides = dataStrides.indices.map { $0 == axis ? 0 : dataStrides[$0] }
        let bases = stridedOffsets(shape: indicesTensor.shape, strides: baseStrides)
        guard indicesTensor.shape.indices.allSatisfy({ $0 == axis || indicesTensor.shape[$0] <= data.shape[$0] }) else {
            throw runtimeError("indices are larger than data outside axis \(axis)", inputs)
        }
        var offsets = [Int](repeating: 0, count: bases.count)
        for (position, index) in indices.enumerated() {
            guard index >= -length, index < length else {
                throw runtimeError("index \(index) is out of range [\(-length), \(length - 1)] on axis \(axis)", inputs)
            }
            offsets[position] = bases[position] + (index < 0 ? index + length : index) * dataStrides[axis]
        }
        return [data.gathering(offsets: offsets, shape: indicesTensor.shape)]
    }
}
