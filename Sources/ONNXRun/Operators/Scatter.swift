// ScatterElements and ScatterND: copies of data with elements replaced by updates at given indices.
//
// ScatterElements https://onnx.ai/onnx/operators/onnx__ScatterElements.html: 11, 13, 16 (reduction none/add/mul),
//   18 (max/min). data, indices, updates -> output.
// ScatterND https://onnx.ai/onnx/operators/onnx__ScatterND.html: 11, 13, 16 (reduction), 18 (max/min).
//   data, indices [..., k], updates -> output. Reductions apply to float32 data; plain replacement to any type.

struct ScatterOperator: Operator {
    enum Reduction: String { case none, add, mul, max, min }
    let isElements: Bool
    let axis: Int
    let reduction: Reduction

    init(_ context: OperatorContext, elements: Bool) throws {
        try context.expectInputs(3...3)
        isElements = elements
        axis = try context.int("axis", default: 0)
        let name = try context.string("reduction", default: "none")
        guard let reduction = Reduction(rawValue: name) else { throw context.invalid("reduction '\(name)' is not supported") }
        self.reduction = reduction
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        let indices = try requiredInput(inputs, 1, "indices").type
        guard [.int64, .int32].contains(indices.elementType) else { throw unsupportedType(indices.elementType, "indices") }
        if reduction != .none { try requireFloat(data, "data") }
        return [data]
    }

    /// For every update, the data offset it goes to.
    private func targets(_ data: Tensor, _ indicesTensor: Tensor, _ updates: Tensor) throws -> [Int] {
        guard let indices = indicesTensor.integers else { throw runtimeError("indices must be integers", [indicesTensor]) }
        let strides = contiguousStrides(data.shape)
        if isElements {
            guard let axis = normalizedAxis(axis, rank: data.rank), indicesTensor.shape == updates.shape,
                  indicesTensor.rank == data.rank,
                  indicesTensor.shape.indices.allSatisfy({ $0 == axis || indicesTensor.shape[$0] <= data.shape[$0] }) else {
                throw runtimeError("indices and updates must have one shape fitting data", [data, indicesTensor, updates])
            }
            let bases = stridedOffsets(shape: indicesTensor.shape, strides: strides.indices.map { $0 == axis ? 0 : strides[$0] })
            let length = data.shape[axis]
            return try indices.indices.map { position in
                let index = indices[position]
                guard index >= -length, index < length else {
                    throw runtimeError("index \(index) is out of range on axis \(axis)", [data, indicesTensor, updates])
                }
                return bases[position] + (index < 0 ? index + length : index) * strides[axis]
            }
        }
        guard let depth = indicesTensor.shape.last, depth <= data.rank,
              updates.shape == Array(indicesTensor.shape.dropLast()) + Array(data.shape[depth...]) else {
            throw runtimeError("indices [..., k] and updates do not fit data", [data, indicesTensor, updates])
        }
        let slice = product(data.shape[depth...])
        var result: [Int] = []
        result.reserveCapacity(updates.elementCount)
        for tuple in 0..<(depth == 0 ? 1 : indices.count / depth) {
            var base = 0
            for axis in 0..<depth {
                let index = indices[tuple * depth + axis], length = data.shape[axis]
                guard index >= -length, index < length else {
                    throw runtimeError("index \(index) is out of range on axis \(axis)", [data, indicesTensor, updates])
                }
                base += (index < 0 ? index + length : index) * strides[axis]
            }
            for element in 0..<slice { result.append(base + element) }
        }
        return result
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        let indices = try requiredInput(inputs, 1, "indices")
        let updates = try requiredInput(inputs, 2, "updates")
        guard updates.elementType == data.elementType else { throw runtimeError("updates differ in type from data", inputs) }
        let targets = try targets(data, indices, updates)
        if reduction == .none {
            // Data's elements followed by the updates; each target takes its update.
            var offsets = Array(0..<data.elementCount)
            for (position, target) in targets.enumerated() { offsets[target] = data.elementCount + position }
            return [try ConcatOperator.joinFlat(data, updates).gathering(offsets: offsets, shape: data.shape)]
        }
        try requireFloat(data, "data")
        var values = data.floats
        let updateValues = updates.floats
        for (position, target) in targets.enumerated() {
            let update = updateValues[position]
            switch reduction {
            case .add: values[target] += update
            case .mul: values[target] *= update
            case .max: values[target] = max(values[target], update)
            case .min: values[target] = min(values[target], update)
            case .none: values[target] = update
            }
        }
        return [Tensor(shape: data.shape, computed: values)]
    }
}
