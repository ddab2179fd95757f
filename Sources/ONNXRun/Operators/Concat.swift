// Concat: joins tensors along one axis.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Concat.html
// Opset history: 1 (axis optional, default 1), 4 (axis required), 11 (negative axis), 13. Arity: 1 or more -> 1.

struct ConcatOperator: Operator {
    let axis: Int

    init(_ context: OperatorContext) throws {
        guard context.node.inputs.count >= 1, context.node.outputs.count == 1 else {
            throw context.invalid("expects at least 1 input and 1 output")
        }
        if context.opset < 4 {
            axis = try context.int("axis", default: 1)
        } else {
            guard let axis = try context.int("axis") else { throw context.invalid("attribute 'axis' is required") }
            self.axis = axis
        }
    }

    /// Concat along `axis` (the fast channels-last variant infers its output with this).
    init(axis: Int) {
        self.axis = axis
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let types = try inputs.indices.map { try requiredInput(inputs, $0, "inputs").type }
        let elementType = types[0].elementType
        guard types.allSatisfy({ $0.elementType == elementType }) else {
            throw ONNXRunError(.invalidModel, "inputs have different types: \(types)")
        }
        var shapes: [[Dimension]] = []
        for type in types {
            guard let shape = type.shape else { return [TensorType(elementType: elementType, shape: nil)] }
            shapes.append(shape)
        }
        let rank = shapes[0].count
        guard shapes.allSatisfy({ $0.count == rank }), let axis = normalizedAxis(axis, rank: rank) else {
            throw ONNXRunError(.invalidModel, "inputs \(types) do not have one rank, or axis \(self.axis) is out of range")
        }
        var result = shapes[0]
        let lengths = shapes.map { $0[axis].value }
        result[axis] = lengths.contains(nil) ? .unknown : .fixed(lengths.reduce(0) { $0 + ($1 ?? 0) })
        for other in 0..<rank where other != axis {
            // The first fixed size wins; a symbol survives only when all agree.
            let dimensions = shapes.map { $0[other] }
            if let fixed = dimensions.first(where: { $0.value != nil }) {
                guard dimensions.allSatisfy({ $0.value == nil || $0 == fixed }) else {
                    throw ONNXRunError(.invalidModel, "inputs \(types) differ on axis \(other)")
                }
                result[other] = fixed
            } else if !dimensions.allSatisfy({ $0 == dimensions[0] }) {
                result[other] = .unknown
            }
        }
        return [TensorType(elementType: elementType, shape: result)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let tensors = try inputs.indices.map { try requiredInput(inputs, $0, "inputs") }
        let first = tensors[0]
        guard let axis = normalizedAxis(axis, rank: first.rank) else {
            throw runtimeError("axis \(self.axis) is out of range", inputs)
        }
        for tensor in tensors {
            guard tensor.elementType == first.elementType, tensor.rank == first.rank,
                  (0..<first.rank).allSatisfy({ $0 == axis || tensor.shape[$0] == first.shape[$0] }) else {
                throw runtimeError("inputs differ in type or in a dimension other than axis \(axis)", inputs)
            }
        }
        var shape = first.shape
        shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        _ = try checkedCount(shape, inputs)
        let result = Tensor(zeros: first.elementType, shape: shape)
        // Copy per outer index: each input contributes a contiguous block of shape[axis...] elements.
        let outer = product(shape[..<axis])
        let size = first.elementType.byteSize
        let inner = product(shape[(axis + 1)...]) * size
        var destination = result.freshBytes
        for outerIndex in 0..<outer {
            for tensor in tensors {
                let block = tensor.shape[axis] * inner
                destination.copyMemory(from: tensor.storage.bytes + outerIndex * block, byteCount: block)
                destination += block
            }
        }
        return [result]
    }
}

// MARK: - Optimizer hooks

extension ConcatOperator: ChannelsLastAdaptable {
    /// Concat of 4-D tensors, some already NHWC (DenseNet's, GoogLeNet's and SqueezeNet's channel concats of conv
    /// outputs): all read NHWC and joined along the remapped axis, so the chain stays channels-last.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard channelsLast.contains(true), inputs.allSatisfy({ $0?.type.shape?.count == 4 }),
              let axis = normalizedAxis(axis, rank: 4) else { return nil }
        return ChannelsLastVariant(op: AxisConcat(axis: channelsLastAxis(axis)), opType: "ConcatNHWC",
                                   channelsLastInputs: Array(inputs.indices), outputIsChannelsLast: true)
    }
}
