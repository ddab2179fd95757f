// The optimizer's unary elementwise operator: one activation (Sigmoid, HardSwish, Tanh, Erf, Clip, ...) vectorized.

/// `output = activation(input)`, elementwise, in whatever layout the input has (an NHWC input gives an NHWC output).
///
/// Built by the optimizer from the unary operators whose function is an `Activation` (their reference kernels are
/// the oracle). It is itself an `ActivationOperator`, so a convolution before it absorbs it into its store, and it
/// absorbs the `x * f(x)` that turns a sigmoid into swish and a hard sigmoid into hard swish.
struct ElementwiseActivation: KernelOperator, ActivationOperator {
    let function: Activation

    func activation(_ inputs: [InferenceValue?]) -> Activation? { function }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X").type
        guard input.elementType == .float else { throw unsupportedType(input.elementType) }
        return [input]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "X")
        let output = outputs[0]
        guard input.elementType == .float, output.elementType == .float, input.elementCount == output.elementCount
        else {
            throw ONNXRunError(.invalidModel, "elementwise function shapes do not fit",
                               shapes: [input.description, output.description])
        }
        let count = input.elementCount
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        let tasks = Parallelism.taskCount(work: count, granularity: .elementwise, threads: pool.threadCount,
                                          units: count)
        pool.parallelFor(tasks) { task in
            ElementwiseKernels.apply(function, input: source, output: destination,
                                     range: Parallelism.split(count, task, tasks))
        }
    }
}

// MARK: - Optimizer hooks

extension ElementwiseActivation: ChannelsLastAdaptable, ConsumerFusing {
    /// Elementwise: an NHWC input is computed as it is, and the output is NHWC too.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard channelsLast.first == true else { return nil }
        return ChannelsLastVariant(op: self, opType: function.operatorName, channelsLastInputs: [0],
                                   outputIsChannelsLast: true)
    }

    /// `x * sigmoid(x)` is swish, `x * HardSigmoid(x)` with HardSwish's constants (1/6, 1/2) is hard swish: the
    /// multiplication reads this operator's own input, unbroadcast.
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        guard let arithmetic = consumer.op as? BinaryArithmeticOperator, arithmetic.operation == .multiply,
              let other = consumer.otherInput, other.name == consumer.producerInputs.first,
              other.value.type == consumer.inputs[consumer.producedInput]?.type
        else { return nil }
        let gated: Activation
        switch function {
        case .sigmoid: gated = .swish(alpha: 1)
        case .hardSigmoid(let alpha, let beta) where alpha == Float(1) / 6 && beta == 0.5: gated = .hardSwish
        default: return nil
        }
        return FusedOperator(op: ElementwiseActivation(function: gated), opType: gated.operatorName)
    }
}
