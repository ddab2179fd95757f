// The optimizer's binary arithmetic: Add, Sub, Mul, Div (and Max, Min) with numpy broadcasting, vectorized, in
// whatever layout the activations have.

/// `output = a operation b` with numpy broadcasting, on the C kernel's collapsed broadcast loop.
///
/// Built by the optimizer from the float binary operators (their reference kernel is the oracle). In a channels-last
/// chain its NHWC variant reads each operand as it lies: NHWC activations as they are, a per-channel constant
/// re-laid once for NHWC, and values whose bytes are the same in both layouts (`[N, C, 1, 1]`, like squeeze-excite's
/// scale, which is `[N, 1, 1, C]` in NHWC) reinterpreted; the output is NHWC.
struct ElementwiseArithmetic: KernelOperator, BinaryArithmeticOperator {
    /// How an operand is read.
    enum OperandLayout: Sendable {
        /// The input tensor with its own shape.
        case asGiven
        /// The input tensor with its shape (padded to rank 4 with leading 1s) permuted NCHW -> NHWC: only for
        /// tensors whose bytes are the same in both layouts (H = W = 1, or C = 1).
        case reinterpretedChannelsLast
        /// A constant re-laid for NHWC once, read instead of the input.
        case replaced(Tensor)
    }

    let operation: ArithmeticOperation
    var operands: [OperandLayout] = [.asGiven, .asGiven]

    init?(operation: ArithmeticOperation) {
        guard ElementwiseKernels.binaryOperation(operation) != nil else { return nil }
        self.operation = operation
    }

    /// The op type of the optimizer's node (what the profiler shows).
    var operatorName: String {
        switch operation {
        case .add: "Add"
        case .subtract: "Sub"
        case .multiply: "Mul"
        case .divide: "Div"
        case .maximum: "Max"
        case .minimum: "Min"
        case .power: "Pow"
        case .modulo, .floatModulo: "Mod"
        }
    }

    private static func channelsLastDimensions<Value>(_ shape: [Value], one: Value) -> [Value] {
        let padded = [Value](repeating: one, count: max(0, 4 - shape.count)) + shape
        return [padded[0], padded[2], padded[3], padded[1]]
    }

    private func operandType(_ position: Int, _ type: TensorType) -> TensorType {
        switch operands[position] {
        case .asGiven: return type
        case .reinterpretedChannelsLast:
            return TensorType(elementType: type.elementType,
                              shape: type.shape.map { Self.channelsLastDimensions($0, one: .fixed(1)) })
        case .replaced(let tensor): return TensorType(elementType: tensor.elementType, fixedShape: tensor.shape)
        }
    }

    private func operand(_ position: Int, _ tensor: Tensor) -> (tensor: Tensor, shape: [Int]) {
        switch operands[position] {
        case .asGiven: return (tensor, tensor.shape)
        case .reinterpretedChannelsLast: return (tensor, Self.channelsLastDimensions(tensor.shape, one: 1))
        case .replaced(let constant): return (constant, constant.shape)
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = operandType(0, try requiredInput(inputs, 0, "A").type)
        let b = operandType(1, try requiredInput(inputs, 1, "B").type)
        guard a.elementType == .float, b.elementType == .float else {
            throw ONNXRunError(.invalidModel, "elementwise arithmetic expects float inputs, got \(a) and \(b)")
        }
        return [TensorType(elementType: .float, shape: try broadcastDimensions([a.shape, b.shape]))]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let a = operand(0, try requiredInput(inputs, 0, "A"))
        let b = operand(1, try requiredInput(inputs, 1, "B"))
        let output = outputs[0]
        guard a.tensor.elementType == .float, b.tensor.elementType == .float, output.elementType == .float,
              broadcastShape([a.shape, b.shape]) == output.shape,
              let operation = ElementwiseKernels.binaryOperation(operation)
        else {
            throw ONNXRunError(.invalidModel, "elementwise arithmetic shapes do not fit",
                               shapes: [a.tensor.description, b.tensor.description, output.description])
        }
        let count = output.elementCount
        guard count > 0 else { return }
        guard let geometry = ElementwiseKernels.broadcastGeometry(a: a.shape, b: b.shape, output: output.shape) else {
            // More broadcast axes than the C loop takes: the reference kernel.
            let result = try arithmetic(self.operation, a.tensor.viewed(as: a.shape), b.tensor.viewed(as: b.shape))
            result.withUnsafeBufferPointer(as: Float.self) { values in
                output.storage.bytes.copyMemory(from: values.baseAddress!, byteCount: count * MemoryLayout<Float>.stride)
            }
            return
        }
        let left = UnsafePointer(a.tensor.storage.bytes.assumingMemoryBound(to: Float.self))
        let right = UnsafePointer(b.tensor.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        let tasks = Parallelism.taskCount(work: count, granularity: .elementwise, threads: pool.threadCount,
                                          units: count)
        pool.parallelFor(tasks) { task in
            ElementwiseKernels.binary(operation, geometry: geometry, a: left, b: right, output: destination,
                                      range: Parallelism.split(count, task, tasks))
        }
    }
}

// MARK: - Optimizer hooks

extension ElementwiseArithmetic: ChannelsLastAdaptable {
    /// When an operand is NHWC, the whole operation runs NHWC (see the type's comment). Another 4-D activation
    /// operand is converted to NHWC; an activation of lower rank must have the same bytes in both layouts.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard channelsLast.count == 2, channelsLast.contains(true), inputs.count == 2 else { return nil }
        var variant = self
        var channelsLastInputs: [Int] = []
        for position in 0..<2 {
            if channelsLast[position] {
                channelsLastInputs.append(position)
                continue
            }
            guard let value = inputs[position], let shape = value.type.shape, shape.count <= 4 else { return nil }
            let padded = [Dimension](repeating: .fixed(1), count: 4 - shape.count) + shape
            if let constant = value.constant {
                guard constant.elementType == .float else { return nil }
                variant.operands[position] = .replaced(constant.permutingAxes([0, 2, 3, 1]))
            } else if padded[1] == .fixed(1) || (padded[2] == .fixed(1) && padded[3] == .fixed(1)) {
                variant.operands[position] = .reinterpretedChannelsLast
            } else if shape.count == 4 {
                channelsLastInputs.append(position)
            } else {
                return nil
            }
        }
        return ChannelsLastVariant(op: variant, opType: operatorName, channelsLastInputs: channelsLastInputs,
                                   outputIsChannelsLast: true)
    }
}

extension ElementwiseArithmetic: ConsumerFusing {
    /// Squeeze-excite's `x * s` (s one value per image and channel: `[N or 1, C, 1, 1]`) read only by a pointwise
    /// convolution: the convolution scales as it goes (`ScaledPointwiseConvolution`), no pass over x.
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator? {
        guard operation == .multiply, case .asGiven = operands[0], case .asGiven = operands[1],
              let projection = consumer.op as? FusedConvolution, consumer.producedInput == 0,
              consumer.producerInputValues.count == 2, let output = consumer.inputs[0]?.type.shape,
              output.count == 4, output[1] == .fixed(projection.inputChannelsPerGroup),
              // Not a product of two [N, C, 1, 1] values (the squeeze's SiLU, x * sigmoid(x)): that one goes into the
              // store of the conv before it.
              output[2] != .fixed(1) || output[3] != .fixed(1)
        else { return nil }
        let shapes = consumer.producerInputValues.map { $0?.type.shape }
        let isPerImageChannelScale = { (shape: [Dimension]?) -> Bool in
            guard let shape, shape.count == 4 else { return false }
            return (shape[0] == .fixed(1) || (shape[0] == output[0] && shape[0] != .unknown))
                && Array(shape[1...]) == [output[1], .fixed(1), .fixed(1)]
        }
        guard let scalePosition = (0..<2).first(where: { shapes[1 - $0] == output && isPerImageChannelScale(shapes[$0]) }),
              consumer.producerInputValues[scalePosition]?.type.elementType == .float,
              let fused = ScaledPointwiseConvolution(projection: projection, scalePosition: scalePosition)
        else { return nil }
        guard projection.hasResidual else { return FusedOperator(op: fused, opType: "ScaledPointwiseConv") }
        guard consumer.node.inputs.count == 2, consumer.isAvailableBeforeProducer(consumer.node.inputs[1]) else {
            return nil
        }
        return FusedOperator(op: fused, opType: "ScaledPointwiseConv", extraInputs: [consumer.node.inputs[1]])
    }
}
