// Split: cuts a tensor into pieces along one axis, by given sizes or evenly.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Split.html
// Opset history: 1 (split as attribute or second input), 2 (split attribute), 11 (negative axis), 13 (split becomes
// an optional input), 18 (num_outputs attribute; uneven last piece allowed). Arity: input (, split) -> 1 or more.

struct SplitOperator: Operator {
    let axis: Int
    let attributeSplit: [Int]?
    let splitFromInput: Bool
    let outputCount: Int

    init(_ context: OperatorContext) throws {
        try context.expectInputs(context.opset < 13 && context.opset >= 2 ? 1...1 : 1...2, outputs: 1...Int.max)
        axis = try context.int("axis", default: 0)
        attributeSplit = context.opset < 13 ? try context.ints("split") : nil
        splitFromInput = context.hasInput(1)
        outputCount = context.node.outputs.count
        if context.opset >= 18, let count = try context.int("num_outputs"), count != outputCount {
            throw context.invalid("num_outputs \(count) differs from the \(outputCount) outputs")
        }
    }

    /// The piece sizes for a given axis length.
    private func sizes(length: Int, _ splitInput: Tensor?) throws -> [Int] {
        var split = attributeSplit
        if splitFromInput {
            guard let splitInput, let values = splitInput.integers else { throw ONNXRunError(.invalidModel, "split is missing") }
            split = values
        }
        if let split {
            guard split.count == outputCount, split.allSatisfy({ $0 >= 0 && $0 <= length }),
                  split.reduce(0, +) == length else {
                throw ONNXRunError(.invalidModel, "split \(split) does not cut length \(length) into \(outputCount) pieces")
            }
            return split
        }
        // Even pieces; from opset 18 the last may be smaller (onnxruntime uses ceil for all but the last).
        let piece = (length + outputCount - 1) / outputCount
        var result = [Int](repeating: piece, count: outputCount)
        result[outputCount - 1] = length - piece * (outputCount - 1)
        guard result[outputCount - 1] >= 0 else {
            throw ONNXRunError(.invalidModel, "length \(length) cannot be split into \(outputCount) pieces")
        }
        return result
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard let shape = input.shape, let axis = normalizedAxis(axis, rank: shape.count) else {
            if input.shape != nil { throw ONNXRunError(.invalidModel, "axis \(self.axis) is out of range for \(input)") }
            return Array(repeating: input, count: outputCount)
        }
        let splitConstant = splitFromInput ? optionalInput(inputs, 1)?.constant : nil
        guard let length = shape[axis].value, !splitFromInput || splitConstant != nil else {
            return (0..<outputCount).map { _ in
                var piece = shape
                piece[axis] = .unknown
                return TensorType(elementType: input.elementType, shape: piece)
            }
        }
        return try sizes(length: length, splitConstant).map { size in
            var piece = shape
            piece[axis] = .fixed(size)
            return TensorType(elementType: input.elementType, shape: piece)
        }
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        guard let axis = normalizedAxis(axis, rank: input.rank) else {
            throw runtimeError("axis \(self.axis) is out of range", inputs)
        }
        let pieces: [Int]
        do { pieces = try sizes(length: input.shape[axis], optionalInput(inputs, 1)) } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
        var start = 0
        let strides = contiguousStrides(input.shape)
        return pieces.map { size in
            var shape = input.shape
            shape[axis] = size
            let offsets = stridedOffsets(shape: shape, strides: strides, base: start * strides[axis])
            start += size
            return input.gathering(offsets: offsets, shape: shape)
        }
    }
}

// MARK: - Optimizer hooks

extension SplitOperator: ChannelsLastAdaptable {
    /// Split of an NHWC 4-D tensor by sizes known at load: pieces cut along the remapped axis, staying NHWC.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard channelsLast.first == true, let shape = inputs.first??.type.shape, shape.count == 4,
              let axis = normalizedAxis(axis, rank: 4), let length = shape[axis].value else { return nil }
        let splitConstant = splitFromInput ? optionalInput(inputs, 1)?.constant : nil
        guard !splitFromInput || splitConstant != nil, let pieces = try? sizes(length: length, splitConstant)
        else { return nil }
        return ChannelsLastVariant(op: AxisSplit(axis: channelsLastAxis(axis), sizes: pieces), opType: "SplitNHWC",
                                   channelsLastInputs: [0], outputIsChannelsLast: true)
    }
}
