// Transpose: permutes the axes (default: reversed).
//
// Spec: https://onnx.ai/onnx/operators/onnx__Transpose.html
// Opset history: 1, 13 (bfloat16), 21. Arity: data -> transposed. Any fixed-size element type.

struct TransposeOperator: Operator {
    let permutation: [Int]?

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        permutation = try context.ints("perm")
        if let permutation, Set(permutation) != Set(0..<permutation.count) {
            throw context.invalid("perm \(permutation) is not a permutation of 0..<\(permutation.count)")
        }
    }

    private func resolvedPermutation(rank: Int) throws -> [Int] {
        guard let permutation else { return Array((0..<rank).reversed()) }
        guard permutation.count == rank else {
            throw ONNXRunError(.invalidModel, "perm \(permutation) does not have one entry per axis of a rank-\(rank) input")
        }
        return permutation
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        guard let shape = data.shape else { return [data] }
        return [TensorType(elementType: data.elementType, shape: try resolvedPermutation(rank: shape.count).map { shape[$0] })]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        let permutation: [Int]
        do { permutation = try resolvedPermutation(rank: data.rank) } catch let error as ONNXRunError {
            throw error.adding(shapes: [data.description])
        }
        let strides = contiguousStrides(data.shape)
        let shape = permutation.map { data.shape[$0] }
        return [data.gathering(offsets: stridedOffsets(shape: shape, strides: permutation.map { strides[$0] }), shape: shape)]
    }
}

// MARK: - Optimizer hooks

extension TransposeOperator: AxisPermutingOperator {
    func axisPermutation(rank: Int) -> [Int]? {
        try? resolvedPermutation(rank: rank)
    }
}

extension TransposeOperator: ChannelsLastAdaptable {
    /// Transpose(0, 2, 3, 1) of a tensor that is NHWC inside a channels-last chain (torch's permute before a
    /// channels-last LayerNorm or Linear, as in ConvNeXt) is that NHWC tensor itself: passed through, sharing storage.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard channelsLast.first == true, permutation == [0, 2, 3, 1], inputs.first??.type.shape?.count == 4
        else { return nil }
        return ChannelsLastVariant(op: IdentityOperator(), opType: "ChannelsLastAsIs", channelsLastInputs: [0],
                                   outputIsChannelsLast: false)
    }
}

extension TransposeOperator: ChannelsLastView {
    /// Transpose(0, 3, 1, 2) of a 4-D tensor makes NCHW of an NHWC tensor (how tf2onnx feeds a Keras model's NHWC
    /// input to Conv): that NHWC tensor is already the channels-last form of the output.
    func channelsLastSource(_ inputs: [InferenceValue?]) -> Int? {
        guard permutation == [0, 3, 1, 2], let input = inputs.first??.type, input.elementType == .float,
              input.shape?.count == 4 else { return nil }
        return 0
    }
}
