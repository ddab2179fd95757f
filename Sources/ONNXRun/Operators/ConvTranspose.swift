// ConvTranspose: the gradient of Conv (fractionally strided convolution), any number of spatial axes, grouped.
//
// Spec: https://onnx.ai/onnx/operators/onnx__ConvTranspose.html
// Opset history: 1, 11 (pads from output_shape distributed per auto_pad), 22 (bfloat16).
// Arity: X [N, C, D...], W [C, M/group, k...], optional B [M] -> Y [N, M, O...].
// Output size per axis: stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pad_begin - pad_end, or
// output_shape, whose total padding is split as the spec's reference does (SAME_UPPER: the extra at the end).

struct ConvTransposeOperator: Operator {
    let window: WindowAttributes
    let group: Int
    let outputPadding: [Int]?
    let outputShape: [Int]?

    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...3)
        window = try WindowAttributes(context)
        group = try context.int("group", default: 1)
        guard group >= 1, group <= Int(Int32.max) else { throw context.invalid("group \(group) must be in 1...2^31") }
        outputPadding = try context.ints("output_padding")
        outputShape = try context.ints("output_shape")
        for values in [outputPadding, outputShape] {
            if let values, values.contains(where: { $0 < 0 || $0 > Int(Int32.max) }) {
                throw context.invalid("output_padding/output_shape \(values) must be in 0...2^31")
            }
        }
    }

    /// Per spatial axis: (begin pad, output size).
    func layout(input: [Int], weight: [Int]) throws -> (padsBegin: [Int], outputSize: [Int]) {
        let rank = input.count - 2
        let kernel = Array(weight[2...])
        if let kernelShape = window.kernelShape, kernelShape != kernel {
            throw ONNXRunError(.invalidModel, "kernel_shape \(kernelShape) does not match W \(describeShape(weight))")
        }
        let strides = window.strides ?? Array(repeating: 1, count: rank)
        let dilations = window.dilations ?? Array(repeating: 1, count: rank)
        let padding = outputPadding ?? Array(repeating: 0, count: rank)
        let pads = window.pads ?? Array(repeating: 0, count: 2 * rank)
        var requested = outputShape
        if let shape = requested, shape.count == rank + 2 { requested = Array(shape[2...]) }
        guard strides.count == rank, dilations.count == rank, padding.count == rank, pads.count == 2 * rank,
              requested.map({ $0.count == rank }) ?? true else {
            throw ONNXRunError(.invalidModel, "strides, dilations, pads, output_padding or output_shape do not have "
                                   + "\(rank) spatial values")
        }
        var padsBegin: [Int] = [], outputSize: [Int] = []
        for axis in 0..<rank {
            let full = strides[axis] * (input[axis + 2] - 1) + padding[axis] + (kernel[axis] - 1) * dilations[axis] + 1
            var target = requested?[axis]
            if target == nil && (window.autoPad == .sameUpper || window.autoPad == .sameLower) {
                target = input[axis + 2] * strides[axis]
            }
            if let target {
                let total = full - target
                // Floor division, as the spec's reference (negative totals add zero-filled borders).
                let half = total >= 0 ? total / 2 : -((-total + 1) / 2)
                padsBegin.append(window.autoPad == .sameUpper ? half : total - half)
                outputSize.append(target)
            } else {
                let begin = window.autoPad == .valid ? 0 : pads[axis]
                let end = window.autoPad == .valid ? 0 : pads[rank + axis]
                padsBegin.append(begin)
                outputSize.append(full - begin - end)
            }
        }
        guard outputSize.allSatisfy({ $0 >= 0 }) else {
            throw ONNXRunError(.invalidModel, "pads leave a negative output size \(outputSize)")
        }
        return (padsBegin, outputSize)
    }

    func check(input: [Int], weight: [Int], bias: Tensor?) throws {
        guard input.count >= 3, weight.count == input.count else {
            throw ONNXRunError(.invalidModel, "X and W must have the same rank (at least 3)")
        }
        guard input[1] == weight[0], weight[0] % group == 0 else {
            throw ONNXRunError(.invalidModel, "W \(describeShape(weight)) needs X with \(weight[0]) channels, divisible by group \(group)")
        }
        if let bias, bias.shape != [weight[1] * group] {
            throw ONNXRunError(.invalidModel, "B must have shape [\(weight[1] * group)]")
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        let w = try requiredInput(inputs, 1, "W").type
        try requireFloat(x, "X")
        try requireFloat(w, "W")
        guard let inputShape = x.shape, let weightShape = w.fixedShape else { return [TensorType(elementType: .float, shape: nil)] }
        let outputChannels = Dimension.fixed(weightShape.count > 1 ? weightShape[1] * group : 0)
        guard let fixed = x.fixedShape else {
            return [TensorType(elementType: .float, shape: [inputShape[0], outputChannels]
                                   + Array(repeating: .unknown, count: max(inputShape.count - 2, 0)))]
        }
        try check(input: fixed, weight: weightShape, bias: nil)
        let (_, size) = try layout(input: fixed, weight: weightShape)
        return [TensorType(elementType: .float, shape: [inputShape[0], outputChannels] + size.map { .fixed($0) })]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X"), w = try requiredInput(inputs, 1, "W")
        let b = optionalInput(inputs, 2)
        try requireFloat(x, "X")
        try requireFloat(w, "W")
        if let b { try requireFloat(b, "B") }
        let padsBegin: [Int], outputSize: [Int]
        do {
            try check(input: x.shape, weight: w.shape, bias: b)
            (padsBegin, outputSize) = try layout(input: x.shape, weight: w.shape)
        } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
        let rank = x.rank - 2
        let batch = x.shape[0], inputChannels = x.shape[1]
        let outputsPerGroup = w.shape[1], inputsPerGroup = inputChannels / group
        let outputChannels = outputsPerGroup * group
        let inputSize = Array(x.shape[2...]), kernel = Array(w.shape[2...])
        let strides = window.strides ?? Array(repeating: 1, count: rank)
        let dilations = window.dilations ?? Array(repeating: 1, count: rank)
        let outputShape = [batch, outputChannels] + outputSize
        let count = try checkedCount(outputShape, inputs)
        let inputPositions = product(inputSize), taps = product(kernel), outputPositions = product(outputSize)
        let outputStrides = contiguousStrides(outputSize)
        // Per (input position, tap): the output offset it adds to, or -1 when outside the output.
        var targets = [Int](repeating: -1, count: inputPositions * taps)
        for position in 0..<inputPositions {
            for tap in 0..<taps {
                var remainingPosition = position, remainingTap = tap, offset = 0, inside = true
                for axis in (0..<rank).reversed() {
                    let inputCoordinate = remainingPosition % inputSize[axis]
                    let tapCoordinate = remainingTap % kernel[axis]
                    remainingPosition /= inputSize[axis]
                    remainingTap /= kernel[axis]
                    let output = inputCoordinate * strides[axis] + tapCoordinate * dilations[axis] - padsBegin[axis]
                    if output < 0 || output >= outputSize[axis] { inside = false }
                    offset += output * outputStrides[axis]
                }
                if inside { targets[position * taps + tap] = offset }
            }
        }
        var values = [Float](repeating: 0, count: count)
        let bias = b?.floats
        x.withUnsafeBufferPointer(as: Float.self) { input in
            w.withUnsafeBufferPointer(as: Float.self) { weights in
                for n in 0..<batch {
                    for m in 0..<outputChannels {
                        let outputBase = (n * outputChannels + m) * outputPositions
                        if let bias { for index in 0..<outputPositions { values[outputBase + index] = bias[m] } }
                        let groupIndex = m / outputsPerGroup, withinGroup = m % outputsPerGroup
                        for c in (groupIndex * inputsPerGroup)..<((groupIndex + 1) * inputsPerGroup) {
                            let inputBase = (n * inputChannels + c) * inputPositions
                            let kernelBase = (c * outputsPerGroup + withinGroup) * taps
                            for position in 0..<inputPositions {
                                let value = input[inputBase + position]
                                for tap in 0..<taps {
                                    let target = targets[position * taps + tap]
                                    if target >= 0 { values[outputBase + target] += value * weights[kernelBase + tap] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: outputShape, computed: values)]
    }
}

// MARK: - Optimizer hooks

extension ConvTransposeOperator: ConstantInputPacking {
    /// A 2-D float ConvTranspose with constant weights (and bias) runs channels-last on the packed GEMM + col2im.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard inputs.count >= 2, let input = inputs[0]?.type, input.elementType == .float, input.shape?.count == 4,
              let weights = inputs[1]?.constant, weights.elementType == .float, weights.rank == 4,
              weights.shape[2] <= TransposedConvolutionKernel.maximumKernelSize,
              weights.shape[3] <= TransposedConvolutionKernel.maximumKernelSize,
              weights.shape[0] % group == 0 else { return nil }
        var bias: [Float]?
        if let given = optionalInput(inputs, 2) {
            guard let constant = given.constant, constant.elementType == .float,
                  constant.elementCount == weights.shape[1] * group else { return nil }
            bias = constant.floats
        }
        let kernel = try TransposedConvolutionKernel(
            weights: weights.floats, bias: bias, inputChannels: weights.shape[0],
            outputChannels: weights.shape[1] * group, kernelHeight: weights.shape[2], kernelWidth: weights.shape[3],
            groups: group)
        return PackedOperator(op: ChannelsLastConvTranspose(reference: self, kernel: kernel),
                              opType: "ConvTransposeNHWC", remainingInputs: [0])
    }
}
