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
        return [data.permutingAxes(permutation)]
    }
}

// MARK: - Optimizer hooks

extension TransposeOperator: AxisPermutingOperator {
    func axisPermutation(rank: Int) -> [Int]? {
        try? resolvedPermutation(rank: rank)
    }
}

extension TransposeOperator: ChannelsLastAdaptable {
    /// Both permutations between NCHW and NHWC of a 4-D tensor are the tensor itself, read in the other layout:
    /// passed through, sharing storage.
    /// - Transpose(0, 2, 3, 1) of a tensor that is NHWC inside a channels-last chain (torch's permute before a
    ///   channels-last LayerNorm or Linear, as in ConvNeXt) is that NHWC tensor, now an ordinary one.
    /// - Transpose(0, 3, 1, 2) of an ordinary 4-D tensor (ConvNeXt's permute back after its Linear layers, tf2onnx
    ///   feeding a Keras model's NHWC input to Conv) is the NHWC form of its output: the chain starts there without
    ///   a copy, and the residual Add and the next convolution read it as it is.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard let input = inputs.first??.type, input.shape?.count == 4 else { return nil }
        if channelsLast.first == true, permutation == [0, 2, 3, 1] {
            return ChannelsLastVariant(op: IdentityOperator(), opType: "ChannelsLastAsIs", channelsLastInputs: [0],
                                       outputIsChannelsLast: false)
        }
        if channelsLast.first == false, permutation == [0, 3, 1, 2], input.elementType == .float {
            return ChannelsLastVariant(op: IdentityOperator(), opType: "ChannelsLastAsIs", channelsLastInputs: [],
                                       outputIsChannelsLast: true)
        }
        return nil
    }
}
