// Integer and quantized-linear products: MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv, com.microsoft QGemm,
// and DynamicQuantizeLinear — the operators of QOperator-format and dynamically quantized models.
//
// Specs: https://onnx.ai/onnx/operators/onnx__MatMulInteger.html (10), onnx__QLinearMatMul.html (10, 21),
//        onnx__ConvInteger.html (10), onnx__QLinearConv.html (10), onnx__DynamicQuantizeLinear.html (11);
//        QGemm: https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md (com.microsoft, 1)
// Products accumulate exactly in integers: (a - a_zero_point) * (b - b_zero_point) summed as Int64, stored as int32.
// The QLinear forms requantize like onnxruntime: acc * (a_scale * b_scale / y_scale) in float32, rounded half to
// even, plus y_zero_point, saturated. Quantized types: int8 and uint8; scales float32.

// MARK: - Shared helpers

/// Integer values of a quantized tensor (int8/uint8), or an unsupported-type error.
private func quantizedValues(_ tensor: Tensor, _ name: String) throws -> [Int64] {
    guard [.int8, .uint8].contains(tensor.elementType) else { throw unsupportedType(tensor.elementType, name) }
    return tensor.integerValues
}

/// Zero points (per tensor: one value; otherwise one per row/column/channel), defaulting to 0.
private func zeroPoints(_ tensor: Tensor?, count: Int, _ name: String) throws -> [Int64] {
    guard let tensor else { return [Int64](repeating: 0, count: count) }
    let values = try quantizedValues(tensor, name)
    if values.count == 1 { return [Int64](repeating: values[0], count: count) }
    guard values.count == count else { throw runtimeError("\(name) must have 1 or \(count) values", [tensor]) }
    return values
}

/// Scales (one, or one per row/column/channel).
private func scales(_ tensor: Tensor, count: Int, _ name: String) throws -> [Float] {
    try requireFloat(tensor, name)
    let values = tensor.floats
    if values.count == 1 { return [Float](repeating: values[0], count: count) }
    guard values.count == count else { throw runtimeError("\(name) must have 1 or \(count) values", [tensor]) }
    return values
}

/// Requantizes accumulators to `type` (int8/uint8): accumulator * multiplier in float32, as onnxruntime does.
private func requantize(_ accumulators: [Int64], multipliers: (Int) -> Float, zeroPoint: Int64, shape: [Int],
                        type: ElementType) throws -> Tensor {
    let range = type.quantizedRange ?? 0...255
    let values = accumulators.enumerated().map { index, accumulator in
        roundedQuantized(Float(accumulator) * multipliers(index), zeroPoint: zeroPoint, range: range)
    }
    return try castTensor(Tensor(shape: shape, computed: values), to: type)
}

/// Batched numpy-style matrix product of integer operands with per-tensor, per-row (A) and per-column (B) zero
/// points. Returns the accumulators and the result shape.
private func integerMatrixProduct(_ a: Tensor, _ aZero: Tensor?, _ b: Tensor, _ bZero: Tensor?) throws
    -> (values: [Int64], shape: [Int], rows: Int, columns: Int) {
    guard a.rank >= 1, b.rank >= 1 else { throw runtimeError("operands must not be scalars", [a, b]) }
    let left = a.rank == 1 ? [1] + a.shape : a.shape, right = b.rank == 1 ? b.shape + [1] : b.shape
    let m = left[left.count - 2], k = left[left.count - 1], n = right[right.count - 1]
    guard right[right.count - 2] == k, let batch = broadcastShape([Array(left.dropLast(2)), Array(right.dropLast(2))]) else {
        throw runtimeError("matrix shapes do not match", [a, b])
    }
    let aValues = try quantizedValues(a, "A"), bValues = try quantizedValues(b, "B")
    let aZeros = try zeroPoints(aZero, count: m, "a_zero_point"), bZeros = try zeroPoints(bZero, count: n, "b_zero_point")
    let leftMatrices = broadcastOffsets(from: Array(left.dropLast(2)), to: batch)
    let rightMatrices = broadcastOffsets(from: Array(right.dropLast(2)), to: batch)
    let count = try checkedCount(batch + [m, n], [a, b])
    var values = [Int64](repeating: 0, count: count)
    for entry in leftMatrices.indices {
        let leftBase = leftMatrices[entry] * m * k, rightBase = rightMatrices[entry] * k * n
        for i in 0..<m {
            for j in 0..<n {
                var sum: Int64 = 0
                for p in 0..<k {
                    sum += (aValues[leftBase + i * k + p] - aZeros[i]) * (bValues[rightBase + p * n + j] - bZeros[j])
                }
                values[entry * m * n + i * n + j] = sum
            }
        }
    }
    var shape = batch
    if a.rank > 1 { shape.append(m) }
    if b.rank > 1 { shape.append(n) }
    return (values, shape, m, n)
}

// MARK: - MatMulInteger and QLinearMatMul

struct IntegerMatMulOperator: Operator {
    /// QLinearMatMul: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
    let isQuantizedLinear: Bool

    init(_ context: OperatorContext, quantizedLinear: Bool) throws {
        try context.expectInputs(quantizedLinear ? 8...8 : 2...4)
        isQuantizedLinear = quantizedLinear
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type
        let b = try requiredInput(inputs, isQuantizedLinear ? 3 : 1, "B").type
        for type in [a, b] where ![.int8, .uint8].contains(type.elementType) { throw unsupportedType(type.elementType) }
        let outputType = isQuantizedLinear ? try requiredInput(inputs, 7, "y_zero_point").type.elementType : .int32
        let rows = a.shape.flatMap { $0.count >= 2 ? $0[$0.count - 2].value : 1 }
        let columns = b.shape.flatMap { $0.count >= 2 ? $0[$0.count - 1].value : 1 }
        if isQuantizedLinear {
            try QuantizationParameterCheck.pair(scale: inputs[1], zeroPoint: inputs[2], "a", type: a.elementType, perTensorOr: rows)
            try QuantizationParameterCheck.pair(scale: inputs[4], zeroPoint: inputs[5], "b", type: b.elementType,
                                                perTensorOr: columns)
            try QuantizationParameterCheck.pair(scale: inputs[6], zeroPoint: inputs[7], "y", type: outputType)
            _ = try requireQuantized8Bit(try requiredInput(inputs, 7, "y_zero_point").type, "y_zero_point")
        } else {
            try QuantizationParameterCheck.zeroPoint(optionalInput(inputs, 2), "a_zero_point", type: a.elementType)
            try QuantizationParameterCheck.count(optionalInput(inputs, 2), "a_zero_point", perTensorOr: rows)
            try QuantizationParameterCheck.zeroPoint(optionalInput(inputs, 3), "b_zero_point", type: b.elementType)
            try QuantizationParameterCheck.count(optionalInput(inputs, 3), "b_zero_point", perTensorOr: columns)
        }
        guard let aShape = a.shape, let bShape = b.shape, !aShape.isEmpty, !bShape.isEmpty else {
            return [TensorType(elementType: outputType, shape: nil)]
        }
        let left = aShape.count == 1 ? [.fixed(1)] + aShape : aShape, right = bShape.count == 1 ? bShape + [.fixed(1)] : bShape
        guard var shape = try broadcastDimensions([Array(left.dropLast(2)), Array(right.dropLast(2))]) else {
            return [TensorType(elementType: outputType, shape: nil)]
        }
        if aShape.count > 1 { shape.append(left[left.count - 2]) }
        if bShape.count > 1 { shape.append(right[right.count - 1]) }
        return [TensorType(elementType: outputType, shape: shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        if !isQuantizedLinear {
            let product = try integerMatrixProduct(try requiredInput(inputs, 0, "A"), optionalInput(inputs, 2),
                                                   try requiredInput(inputs, 1, "B"), optionalInput(inputs, 3))
            return [Tensor(shape: product.shape, computed: product.values.map { Int32(truncatingIfNeeded: $0) })]
        }
        let a = try requiredInput(inputs, 0, "a"), b = try requiredInput(inputs, 3, "b")
        let yZero = try requiredInput(inputs, 7, "y_zero_point")
        let product = try integerMatrixProduct(a, try requiredInput(inputs, 2, "a_zero_point"),
                                               b, try requiredInput(inputs, 5, "b_zero_point"))
        let aScales = try scales(try requiredInput(inputs, 1, "a_scale"), count: product.rows, "a_scale")
        let bScales = try scales(try requiredInput(inputs, 4, "b_scale"), count: product.columns, "b_scale")
        let yScale = try scales(try requiredInput(inputs, 6, "y_scale"), count: 1, "y_scale")[0]
        let zero = try zeroPoints(yZero, count: 1, "y_zero_point")[0]
        let (rows, columns) = (product.rows, product.columns)
        return [try requantize(product.values, multipliers: { index in
            aScales[(index / columns) % rows] * bScales[index % columns] / yScale
        }, zeroPoint: zero, shape: product.shape, type: yZero.elementType)]
    }
}

// MARK: - QGemm

/// com.microsoft QGemm: A, a_scale, a_zero_point, B, b_scale, b_zero_point, C (optional int32 bias), y_scale
/// (optional), y_zero_point (optional) -> Y; attributes transA, transB, alpha. The accumulator starts from C; the
/// output is requantized with alpha * a_scale * b_scale[n] / y_scale (float32, in that order) when y_zero_point is
/// given, otherwise it is float32: accumulator * alpha * a_scale * b_scale[n] (divided by y_scale if given).
struct QuantizedGemmOperator: Operator {
    let transposesA: Bool
    let transposesB: Bool
    let alpha: Float

    init(_ context: OperatorContext) throws {
        try context.expectInputs(6...9)
        transposesA = try context.int("transA", default: 0) != 0
        transposesB = try context.int("transB", default: 0) != 0
        alpha = try context.float("alpha", default: 1)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let a = try requiredInput(inputs, 0, "A").type, b = try requiredInput(inputs, 3, "B").type
        let aType = try requireQuantized8Bit(a, "A"), bType = try requireQuantized8Bit(b, "B")
        let yZero = optionalInput(inputs, 8)
        let outputType = yZero?.type.elementType ?? .float
        guard let aShape = a.shape, let bShape = b.shape else { return [TensorType(elementType: outputType, shape: nil)] }
        guard aShape.count == 2, bShape.count == 2 else { throw ONNXRunError(.invalidModel, "A \(a) and B \(b) must be matrices") }
        let columns = bShape[transposesB ? 0 : 1]
        try QuantizationParameterCheck.pair(scale: try requiredInput(inputs, 1, "a_scale"), zeroPoint: optionalInput(inputs, 2),
                                            "a", type: aType)
        try QuantizationParameterCheck.pair(scale: try requiredInput(inputs, 4, "b_scale"), zeroPoint: optionalInput(inputs, 5),
                                            "b", type: bType, perTensorOr: columns.value)
        try QuantizationParameterCheck.pair(scale: optionalInput(inputs, 7), zeroPoint: yZero, "y", type: yZero?.type.elementType)
        if let yZero { _ = try requireQuantized8Bit(yZero.type, "y_zero_point") }
        if let bias = optionalInput(inputs, 6), bias.type.elementType != .int32 {
            throw ONNXRunError(.invalidModel, "C must be int32, is \(bias.type.elementType)")
        }
        return [TensorType(elementType: outputType, shape: [aShape[transposesA ? 1 : 0], columns])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        var a = try requiredInput(inputs, 0, "A"), b = try requiredInput(inputs, 3, "B")
        guard a.rank == 2, b.rank == 2 else { throw runtimeError("A and B must be matrices", [a, b]) }
        if transposesA { a = transposedMatrix(a) }
        if transposesB { b = transposedMatrix(b) }
        var product = try integerMatrixProduct(a, try requiredInput(inputs, 2, "a_zero_point"),
                                               b, try requiredInput(inputs, 5, "b_zero_point"))
        let (rows, columns) = (product.rows, product.columns)
        if let bias = optionalInput(inputs, 6) {
            guard bias.elementType == .int32, let values = bias.integers,
                  let shape = broadcastShape([bias.shape, [rows, columns]]), shape == [rows, columns] else {
                throw runtimeError("C must be int32 and broadcast to [\(rows),\(columns)]", inputs)
            }
            for (index, offset) in broadcastOffsets(from: bias.shape, to: shape).enumerated() {
                product.values[index] += Int64(values[offset])
            }
        }
        let aScale = try scales(try requiredInput(inputs, 1, "a_scale"), count: 1, "a_scale")[0]
        let bScales = try scales(try requiredInput(inputs, 4, "b_scale"), count: columns, "b_scale")
        let yScale = try optionalInput(inputs, 7).map { try scales($0, count: 1, "y_scale")[0] }
        let multipliers = bScales.map { bScale in
            let scale = alpha * aScale * bScale
            return yScale.map { scale / $0 } ?? scale
        }
        guard let yZero = optionalInput(inputs, 8) else {
            return [Tensor(shape: product.shape, computed: product.values.enumerated().map { index, accumulator in
                Float(accumulator) * multipliers[index % columns]
            })]
        }
        return [try requantize(product.values, multipliers: { multipliers[$0 % columns] },
                               zeroPoint: try zeroPoints(yZero, count: 1, "y_zero_point")[0], shape: product.shape,
                               type: yZero.elementType)]
    }
}

/// The transpose of a matrix (any element type).
private func transposedMatrix(_ matrix: Tensor) -> Tensor {
    let (rows, columns) = (matrix.shape[0], matrix.shape[1])
    return matrix.gathering(offsets: stridedOffsets(shape: [columns, rows], strides: [1, columns]), shape: [columns, rows])
}

// MARK: - ConvInteger and QLinearConv

struct IntegerConvOperator: Operator {
    let window: WindowAttributes
    let group: Int
    /// QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, optional B (int32).
    let isQuantizedLinear: Bool

    init(_ context: OperatorContext, quantizedLinear: Bool) throws {
        try context.expectInputs(quantizedLinear ? 8...9 : 2...4)
        window = try WindowAttributes(context)
        group = try context.int("group", default: 1)
        guard group >= 1, group <= Int(Int32.max) else { throw context.invalid("group \(group) must be in 1...2^31") }
        isQuantizedLinear = quantizedLinear
    }

    var weightIndex: Int { isQuantizedLinear ? 3 : 1 }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "x").type, w = try requiredInput(inputs, weightIndex, "w").type
        for type in [x, w] where ![.int8, .uint8].contains(type.elementType) { throw unsupportedType(type.elementType) }
        let outputType = isQuantizedLinear ? try requiredInput(inputs, 7, "y_zero_point").type.elementType : .int32
        let outputChannels = w.fixedShape?.first
        if isQuantizedLinear {
            try QuantizationParameterCheck.pair(scale: inputs[1], zeroPoint: inputs[2], "x", type: x.elementType)
            try QuantizationParameterCheck.pair(scale: inputs[4], zeroPoint: inputs[5], "w", type: w.elementType,
                                                perTensorOr: outputChannels)
            try QuantizationParameterCheck.pair(scale: inputs[6], zeroPoint: inputs[7], "y", type: outputType)
            _ = try requireQuantized8Bit(try requiredInput(inputs, 7, "y_zero_point").type, "y_zero_point")
            if let bias = optionalInput(inputs, 8) {
                guard bias.type.elementType == .int32 else {
                    throw ONNXRunError(.invalidModel, "B must be int32, is \(bias.type.elementType)")
                }
                try QuantizationParameterCheck.count(bias, "B", perTensorOr: outputChannels)
            }
        } else {
            try QuantizationParameterCheck.zeroPoint(optionalInput(inputs, 2), "x_zero_point", type: x.elementType)
            try QuantizationParameterCheck.count(optionalInput(inputs, 2), "x_zero_point")
            try QuantizationParameterCheck.zeroPoint(optionalInput(inputs, 3), "w_zero_point", type: w.elementType)
            try QuantizationParameterCheck.count(optionalInput(inputs, 3), "w_zero_point", perTensorOr: outputChannels)
        }
        guard let inputShape = x.shape, let weightShape = w.fixedShape, inputShape.count == weightShape.count,
              inputShape.count >= 3 else {
            return [TensorType(elementType: outputType, shape: nil)]
        }
        let spatial = try window.inferredOutputSize(inputSize: Array(inputShape[2...]), kernelSize: Array(weightShape[2...]))
        return [TensorType(elementType: outputType, shape: [inputShape[0], .fixed(weightShape[0])] + spatial)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "x"), w = try requiredInput(inputs, weightIndex, "w")
        guard x.rank >= 3, w.rank == x.rank, w.shape[0] % group == 0, x.shape[1] == w.shape[1] * group else {
            throw runtimeError("x and w do not match (group \(group))", inputs)
        }
        if let kernelShape = window.kernelShape, kernelShape != Array(w.shape[2...]) {
            throw runtimeError("kernel_shape \(kernelShape) does not match w", inputs)
        }
        let geometry: ConvolutionGeometry
        do { geometry = try window.geometry(inputSize: Array(x.shape[2...]), kernelSize: Array(w.shape[2...])) } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
        let outputChannels = w.shape[0]
        let xZero = try zeroPoints(optionalInput(inputs, 2), count: 1, "x_zero_point")[0]
        let wZeros = try zeroPoints(optionalInput(inputs, isQuantizedLinear ? 5 : 3), count: outputChannels, "w_zero_point")
        let xValues = try quantizedValues(x, "x"), wValues = try quantizedValues(w, "w")
        let batch = x.shape[0], channelsPerGroup = w.shape[1], outputsPerGroup = outputChannels / group
        let inputPositions = product(geometry.inputSize), outputPositions = product(geometry.outputSize)
        let taps = product(geometry.kernelSize), rank = geometry.spatialRank
        let inputStrides = contiguousStrides(geometry.inputSize)
        // Per (output position, tap): the input offset, or -1 in the padding.
        var sources = [Int](repeating: -1, count: outputPositions * taps)
        for position in 0..<outputPositions {
            for tap in 0..<taps {
                var remainingPosition = position, remainingTap = tap, offset = 0, inside = true
                for axis in (0..<rank).reversed() {
                    let output = remainingPosition % geometry.outputSize[axis]
                    let kernel = remainingTap % geometry.kernelSize[axis]
                    remainingPosition /= geometry.outputSize[axis]
                    remainingTap /= geometry.kernelSize[axis]
                    let coordinate = output * geometry.strides[axis] - geometry.padsBegin[axis] + kernel * geometry.dilations[axis]
                    if coordinate < 0 || coordinate >= geometry.inputSize[axis] { inside = false }
                    offset += coordinate * inputStrides[axis]
                }
                if inside { sources[position * taps + tap] = offset }
            }
        }
        let outputShape = [batch, outputChannels] + geometry.outputSize
        var accumulators = [Int64](repeating: 0, count: try checkedCount(outputShape, inputs))
        // Zero points subtracted once; padding then contributes (zero - zero) = 0 and is skipped.
        let centeredInput = xValues.map { $0 - xZero }
        let weightsPerChannel = channelsPerGroup * taps
        let centeredWeights = wValues.indices.map { wValues[$0] - wZeros[$0 / max(weightsPerChannel, 1)] }
        accumulators.withUnsafeMutableBufferPointer { accumulators in
            centeredInput.withUnsafeBufferPointer { input in
                centeredWeights.withUnsafeBufferPointer { weights in
                    sources.withUnsafeBufferPointer { sources in
                        for n in 0..<batch {
                            for m in 0..<outputChannels {
                                let firstChannel = (m / outputsPerGroup) * channelsPerGroup
                                let outputBase = (n * outputChannels + m) * outputPositions
                                for c in 0..<channelsPerGroup {
                                    let inputBase = (n * x.shape[1] + firstChannel + c) * inputPositions
                                    let kernelBase = (m * channelsPerGroup + c) * taps
                                    for position in 0..<outputPositions {
                                        var sum: Int64 = 0
                                        for tap in 0..<taps {
                                            let source = sources[position * taps + tap]
                                            if source >= 0 { sum += input[inputBase + source] * weights[kernelBase + tap] }
                                        }
                                        accumulators[outputBase + position] += sum
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if !isQuantizedLinear {
            return [Tensor(shape: outputShape, computed: accumulators.map { Int32(truncatingIfNeeded: $0) })]
        }
        if let bias = optionalInput(inputs, 8) {
            guard bias.elementType == .int32, bias.elementCount == outputChannels, let values = bias.integers else {
                throw runtimeError("B must be int32 with one value per output channel", inputs)
            }
            for index in accumulators.indices { accumulators[index] += Int64(values[(index / outputPositions) % outputChannels]) }
        }
        let xScale = try scales(try requiredInput(inputs, 1, "x_scale"), count: 1, "x_scale")[0]
        let wScales = try scales(try requiredInput(inputs, 4, "w_scale"), count: outputChannels, "w_scale")
        let yScale = try scales(try requiredInput(inputs, 6, "y_scale"), count: 1, "y_scale")[0]
        let yZero = try requiredInput(inputs, 7, "y_zero_point")
        return [try requantize(accumulators, multipliers: { index in
            xScale * wScales[(index / outputPositions) % outputChannels] / yScale
        }, zeroPoint: try zeroPoints(yZero, count: 1, "y_zero_point")[0], shape: outputShape, type: yZero.elementType)]
    }
}

// MARK: - DynamicQuantizeLinear

struct DynamicQuantizeLinearOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1, outputs: 3...3)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "x").type
        try requireFloat(x, "x")
        return [TensorType(elementType: .uint8, shape: x.shape), TensorType(elementType: .float, fixedShape: []),
                TensorType(elementType: .uint8, fixedShape: [])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "x")
        try requireFloat(x, "x")
        let values = x.floats
        let (scale, zero) = Self.parameters(minimum: values.min() ?? 0, maximum: values.max() ?? 0)
        let quantized = values.map { value -> UInt8 in
            let level = scale == 0 ? zero : (value / scale).rounded(.toNearestOrEven) + zero
            return UInt8(level.isNaN ? 0 : min(max(level, 0), 255))
        }
        return [Tensor(shape: x.shape, computed: quantized), Tensor(shape: [], computed: [scale]),
                Tensor(shape: [], computed: [UInt8(zero)])]
    }

    /// The scale and zero point (a whole number in 0...255) for values in `minimum...maximum`.
    static func parameters(minimum: Float, maximum: Float) -> (scale: Float, zeroPoint: Float) {
        // The range always includes 0 so that 0 is exactly representable.
        let minimum = min(0, minimum), maximum = max(0, maximum)
        let scale = (maximum - minimum) / 255
        let level = scale == 0 ? 0 : (0 - minimum / scale).rounded(.toNearestOrEven)
        // NaN or infinite inputs give a meaningless scale; the zero point must still be a valid uint8.
        return (scale, level.isNaN ? 0 : min(max(level, 0), 255))
    }
}

// MARK: - Cost (integer MACs: inspect shows them, the profiler turns them into GOP/s)

extension IntegerConvOperator: CostReporting {
    var isIntegerArithmetic: Bool { true }

    /// As Conv: each output element sums over (input channels / group) x kernel taps = w.shape[1...].
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let output = outputs.first?.fixedShape, let count = checkedElementCount(output),
              inputs.count > weightIndex, let weight = inputs[weightIndex]?.fixedShape, weight.count >= 3 else { return nil }
        return count * weight.dropFirst().reduce(1, *)
    }
}

extension IntegerMatMulOperator: CostReporting {
    var isIntegerArithmetic: Bool { true }

    /// Output elements x the shared dimension (A's last).
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let output = outputs.first?.fixedShape, let count = checkedElementCount(output),
              let depth = inputs.first??.fixedShape?.last else { return nil }
        return count * depth
    }
}

extension QuantizedGemmOperator: CostReporting {
    var isIntegerArithmetic: Bool { true }

    /// Output elements x K (A's columns, or rows when transposed).
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int? {
        guard let output = outputs.first?.fixedShape, let count = checkedElementCount(output),
              let a = inputs.first??.fixedShape, a.count == 2 else { return nil }
        return count * a[transposesA ? 0 : 1]
    }
}
