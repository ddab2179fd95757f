// Expand and Tile: repeat a tensor's elements to a larger shape.
//
// Expand https://onnx.ai/onnx/operators/onnx__Expand.html: 8, 13. input, shape (int64) -> output of the
//   bidirectional broadcast of input.shape and shape.
// Tile https://onnx.ai/onnx/operators/onnx__Tile.html: 1 (tiles, axis inputs), 6 (repeats input), 13.
//   input, repeats (int64, one per axis) -> output. Registered from 6.

struct ExpandOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...2)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        let shapeInput = try requiredInput(inputs, 1, "shape")
        guard shapeInput.type.elementType == .int64 else { throw unsupportedType(shapeInput.type.elementType, "shape") }
        guard let requested = shapeInput.constant?.integers else {
            return [TensorType(elementType: input.elementType, shape: nil)]
        }
        return [TensorType(elementType: input.elementType,
                           shape: try broadcastDimensions([input.shape, requested.map { .fixed($0) }]))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        let shapeInput = try requiredInput(inputs, 1, "shape")
        guard shapeInput.rank == 1, let requested = shapeInput.integers, requested.allSatisfy({ $0 >= 0 }) else {
            throw runtimeError("shape must be a 1-D int64 tensor of non-negative sizes", inputs)
        }
        guard let shape = broadcastShape([input.shape, requested]) else {
            throw runtimeError("input does not broadcast to \(describeShape(requested))", inputs)
        }
        _ = try checkedCount(shape, inputs)
        return [input.gathering(offsets: broadcastOffsets(from: input.shape, to: shape), shape: shape)]
    }
}

struct TileOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...2)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard let shape = input.shape, let repeats = try requiredInput(inputs, 1, "repeats").constant?.integers else {
            return [TensorType(elementType: input.elementType, shape: input.shape.map { $0.map { _ in .unknown } })]
        }
        guard repeats.count == shape.count else {
            throw ONNXRunError(.invalidModel, "repeats \(repeats) need one value per axis of \(input)")
        }
        return [TensorType(elementType: input.elementType, shape: shape.indices.map { axis -> Dimension in
            if repeats[axis] == 1 { return shape[axis] }
            guard let size = shape[axis].value, repeats[axis] >= 0 else { return .unknown }
            let (product, overflow) = size.multipliedReportingOverflow(by: repeats[axis])
            return overflow ? .unknown : .fixed(product)
        })]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        let repeatsInput = try requiredInput(inputs, 1, "repeats")
        guard let repeats = repeatsInput.integers, repeats.count == input.rank, repeats.allSatisfy({ $0 >= 0 }) else {
            throw runtimeError("repeats must hold one non-negative value per input axis", inputs)
        }
        let shape = try input.shape.indices.map { axis in
            let (size, overflow) = input.shape[axis].multipliedReportingOverflow(by: repeats[axis])
            guard !overflow else { throw runtimeError("tiled shape overflows", inputs) }
            return size
        }
        let count = try checkedCount(shape, inputs)
        let strides = contiguousStrides(input.shape)
        var offsets = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        for position in 0..<count {
            offsets[position] = index.indices.reduce(0) { $0 + (index[$1] % input.shape[$1]) * strides[$1] }
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return [input.gathering(offsets: offsets, shape: shape)]
    }
}
