// The optimizer's Gemm/MatMul with constant B: Y = activation(A * B + bias), B packed once for the GEMM micro-kernel.

/// `Y[..., N] = activation(A[..., K] * B[K, N] + bias[N])`, A float of rank >= 2 whose leading axes are all rows of one
/// GEMM (a Linear layer on an NHWC tensor), B packed at load (alpha folded into B, beta * C into the bias).
struct PackedGemm: KernelOperator {
    let weights: PackedMatrixWeights
    var activation = Activation.none

    /// - Parameters:
    ///   - b: the constant B as ONNX gives it; `transposed` when it is [N, K] (Gemm transB = 1).
    ///   - bias: N floats (beta * C already applied), or nil.
    init(b: Tensor, transposed: Bool, alpha: Float, bias: [Float]?) throws {
        let scaled = alpha == 1 ? b.floats : b.floats.map { $0 * alpha }
        weights = try PackedMatrixWeights.packing(
            weights: scaled, layout: transposed ? .outputMajor : .reductionMajor,
            reductionCount: transposed ? b.shape[1] : b.shape[0], outputCount: transposed ? b.shape[0] : b.shape[1],
            bias: bias)
    }

    /// `gemm` with bfloat16 weights.
    init(bfloat16 gemm: PackedGemm) {
        weights = PackedMatrixWeights(bfloat16: gemm.weights)
        activation = gemm.activation
    }

    /// `gemm` with `bias` added.
    init(adding bias: [Float], to gemm: PackedGemm) throws {
        weights = try PackedMatrixWeights(gemm.weights, addingBias: bias)
        activation = gemm.activation
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type
        guard a.elementType == .float, let shape = a.shape, shape.count >= 2 else {
            throw ONNXRunError(.invalidModel, "packed Gemm expects a float A of rank 2 or more, got \(a)")
        }
        if let k = shape[shape.count - 1].value, k != weights.reductionCount {
            throw ONNXRunError(.invalidModel, "A has \(k) columns, B has \(weights.reductionCount) rows")
        }
        return [TensorType(elementType: .float, shape: Array(shape.dropLast()) + [.fixed(weights.outputCount)])]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let a = try requiredInput(inputs, 0, "A")
        let (depth, columns) = (weights.reductionCount, weights.outputCount)
        guard a.elementType == .float, a.rank >= 2, a.shape[a.rank - 1] == depth,
              outputs[0].shape == Array(a.shape.dropLast()) + [columns]
        else {
            throw ONNXRunError(.invalidModel, "packed Gemm shapes do not fit", shapes: [a.description])
        }
        let input = UnsafePointer(a.storage.bytes.assumingMemoryBound(to: Float.self))
        let output = outputs[0].storage.bytes.assumingMemoryBound(to: Float.self)
        weights.run(input: input, inputRowStride: depth, output: output, outputRowStride: columns,
                    activation: activation, rows: a.elementCount / depth, pool: pool)
    }
}

// MARK: - Optimizer hooks

extension PackedGemm: CostReporting, ConsumerFusing, BFloat16Convertible {
    func bfloat16Variant() -> (any Operator)? {
        weights.precision == .fp32 ? PackedGemm(bfloat16: self) : nil
    }

    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        outputs.first?.fixedShape.flatMap { checkedElementCount($0) }.map { $0 * weights.reductionCount }
    }

    /// Keras/tf2onnx classifiers and torch's Linear on N-D tensors are MatMul -> Add(bias): a constant bias over
    /// the columns joins the packed weights (when none is there yet and no activation follows it). An activation
    /// (Relu, HardSwish, GELU...) goes into the store.
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        if let activationOperator = consumer.op as? ActivationOperator, consumer.producedInput == 0,
           let fusedActivation = activationOperator.activation(consumer.inputs), activation.isNone {
            var fused = self
            fused.activation = fusedActivation
            return FusedOperator(op: fused, opType: "PackedGemm")
        }
        // The output has rank 2 or more, so a bias of rank <= 2 never grows it.
        guard !weights.hasBias, activation.isNone, let arithmetic = consumer.op as? BinaryArithmeticOperator,
              arithmetic.operation == .add, let bias = consumer.otherInput?.value.constant, bias.elementType == .float,
              bias.shape == [weights.outputCount] || bias.shape == [1, weights.outputCount] else { return nil }
        return FusedOperator(op: try PackedGemm(adding: bias.floats, to: self), opType: "PackedGemm")
    }
}
