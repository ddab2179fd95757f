// Hooks for QDQ-format models: which nodes are QuantizeLinear/DequantizeLinear, and which integer operator each
// float operator becomes when its inputs are dequantized and its output quantized (a QDQ "node unit") — the operator
// onnxruntime runs for that unit (QLinearConv, QGemm, com.microsoft QLinearAdd...), so results match it.

/// A quantized value with its parameters, as a DequantizeLinear reads it or a QuantizeLinear writes it.
struct QuantizedOperand: Sendable {
    /// The integer value's name.
    var values: String
    var scale: String
    /// The zero point's name ("" when absent; the lowering rewrite supplies a zero constant before lowering).
    var zeroPoint: String
    var elementType: ElementType
    /// Number of scales: 1 per tensor, otherwise one per index of `axis`.
    var scaleCount: Int
    /// The quantized axis (normalized), meaningful when `scaleCount > 1`.
    var axis: Int

    var isPerTensor: Bool { scaleCount == 1 }
    var isEightBit: Bool { elementType == .int8 || elementType == .uint8 }
}

/// QuantizeLinear and DequantizeLinear.
protocol LinearQuantizationOperator: Operator {
    var isQuantize: Bool { get }
    /// The quantized side of `node` (DequantizeLinear's input, QuantizeLinear's output) when the node quantizes per
    /// tensor or per axis with constant-shaped parameters; nil for blocked quantization or unknown shapes.
    func quantizedOperand(of node: Node, types: [String: TensorType]) -> QuantizedOperand?
}

/// The integer node that replaces a QDQ unit.
struct LoweredNode {
    var opType: String
    /// "" or `MicrosoftOperators.domain`.
    var domain: String
    /// Value names ("" for an absent optional input).
    var inputs: [String]
    var attributes: [String: AttributeValue]
}

/// A float operator with an integer equivalent for QDQ units.
protocol QuantizedLowering: Operator {
    /// The integer node when this node's inputs are the dequantized `inputs` (nil where an input is not the output
    /// of a DequantizeLinear) and its only consumer quantizes its output as `output`; nil when the unit does not
    /// fit the integer operator (types, per-axis parameters it cannot take, attributes).
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode?
}

extension QuantizeLinearOperator: LinearQuantizationOperator {
    func quantizedOperand(of node: Node, types: [String: TensorType]) -> QuantizedOperand? {
        guard blockSize == 0, node.inputs.count >= 2, let valueName = isQuantize ? node.outputs.first : node.inputs.first,
              let valueType = types[valueName], let rank = valueType.shape?.count,
              let scaleShape = types[node.inputs[1]]?.fixedShape else { return nil }
        let scaleCount = product(scaleShape)
        guard scaleCount == 1 || scaleShape.count == 1, let axis = normalizedAxis(axis, rank: max(rank, 1)) else { return nil }
        return QuantizedOperand(values: valueName, scale: node.inputs[1], zeroPoint: node.inputs.count > 2 ? node.inputs[2] : "",
                                elementType: valueType.elementType, scaleCount: scaleCount, axis: axis)
    }
}

/// The operands of an 8-bit unit whose activations are per tensor and of the output's type.
private func activations(_ operands: [QuantizedOperand?], output: QuantizedOperand) -> [QuantizedOperand]? {
    let present = operands.compactMap { $0 }
    guard present.count == operands.count, output.isEightBit, output.isPerTensor,
          present.allSatisfy({ $0.isPerTensor && $0.elementType == output.elementType }) else { return nil }
    return present
}

private func parameters(_ operand: QuantizedOperand) -> [String] { [operand.values, operand.scale, operand.zeroPoint] }

extension ConvOperator: QuantizedLowering {
    /// QLinearConv: 8-bit activations per tensor, 8-bit weights per tensor or per output channel, int32 bias.
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode? {
        guard inputs.count >= 2, let x = activations([inputs[0]], output: output)?.first, let w = inputs[1], w.isEightBit,
              w.isPerTensor || w.axis == 0 else { return nil }
        var loweredInputs = parameters(x) + parameters(w) + [output.scale, output.zeroPoint]
        if inputs.count > 2, !node.inputs[2].isEmpty {
            guard let bias = inputs[2], bias.elementType == .int32 else { return nil }
            loweredInputs.append(bias.values)
        }
        return LoweredNode(opType: "QLinearConv", domain: "", inputs: loweredInputs, attributes: node.attributes)
    }
}

extension MatMulOperator: QuantizedLowering {
    /// QLinearMatMul, per tensor.
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode? {
        guard inputs.count == 2, let a = inputs[0], let b = inputs[1], a.isPerTensor, b.isPerTensor, a.isEightBit,
              b.isEightBit, output.isEightBit, output.isPerTensor else { return nil }
        return LoweredNode(opType: "QLinearMatMul", domain: "", inputs: parameters(a) + parameters(b)
                               + [output.scale, output.zeroPoint], attributes: [:])
    }
}

extension GemmOperator: QuantizedLowering {
    /// com.microsoft QGemm: A per tensor, B per tensor or per output column, int32 C added with beta 1.
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode? {
        guard inputs.count >= 2, let a = inputs[0], let b = inputs[1], a.isPerTensor, a.isEightBit, b.isEightBit,
              b.isPerTensor || b.axis == (transposeB ? 0 : 1), output.isEightBit, output.isPerTensor else { return nil }
        var bias = ""
        if inputs.count > 2, !node.inputs[2].isEmpty {
            guard let c = inputs[2], c.elementType == .int32, beta == 1 else { return nil }
            bias = c.values
        }
        return LoweredNode(opType: "QGemm", domain: MicrosoftOperators.domain,
                           inputs: parameters(a) + parameters(b) + [bias, output.scale, output.zeroPoint],
                           attributes: ["transA": .int(transposeA ? 1 : 0), "transB": .int(transposeB ? 1 : 0),
                                        "alpha": .float(alpha)])
    }
}

extension ElementwiseBinaryOperator: QuantizedLowering {
    /// com.microsoft QLinearAdd / QLinearMul (numpy broadcasting: opset 7 on).
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode? {
        let opType: String
        switch operation {
        case .add: opType = "QLinearAdd"
        case .multiply: opType = "QLinearMul"
        default: return nil
        }
        guard case .none = legacyBroadcast, let operands = activations(inputs, output: output), operands.count == 2 else { return nil }
        return LoweredNode(opType: opType, domain: MicrosoftOperators.domain,
                           inputs: parameters(operands[0]) + parameters(operands[1]) + [output.scale, output.zeroPoint],
                           attributes: [:])
    }
}

extension GlobalPoolOperator: QuantizedLowering {
    /// com.microsoft QLinearGlobalAveragePool.
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode? {
        guard !isMaximum, lpExponent == nil, let x = activations(inputs, output: output)?.first else { return nil }
        return LoweredNode(opType: "QLinearGlobalAveragePool", domain: MicrosoftOperators.domain,
                           inputs: parameters(x) + [output.scale, output.zeroPoint], attributes: ["channels_last": .int(0)])
    }
}

extension PoolOperator: QuantizedLowering {
    /// com.microsoft QLinearAveragePool (no dilations).
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode? {
        guard !isMaximum, lpExponent == nil, window.dilations?.allSatisfy({ $0 == 1 }) ?? true,
              let x = activations(inputs, output: output)?.first else { return nil }
        return LoweredNode(opType: "QLinearAveragePool", domain: MicrosoftOperators.domain,
                           inputs: parameters(x) + [output.scale, output.zeroPoint], attributes: node.attributes)
    }
}

extension ConcatOperator: QuantizedLowering {
    /// com.microsoft QLinearConcat: every input dequantized per tensor (each keeps its own scale).
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode? {
        guard let operands = activations(inputs, output: output) else { return nil }
        return LoweredNode(opType: "QLinearConcat", domain: MicrosoftOperators.domain,
                           inputs: [output.scale, output.zeroPoint] + operands.flatMap(parameters),
                           attributes: ["axis": .int(axis)])
    }
}

extension SoftmaxOperator: QuantizedLowering {
    /// com.microsoft QLinearSoftmax, with the model's Softmax semantics (flattening before opset 13).
    func lowered(_ node: Node, inputs: [QuantizedOperand?], output: QuantizedOperand) -> LoweredNode? {
        guard !isLogarithmic, !isHard, let x = activations(inputs, output: output)?.first else { return nil }
        return LoweredNode(opType: "QLinearSoftmax", domain: MicrosoftOperators.domain,
                           inputs: parameters(x) + [output.scale, output.zeroPoint],
                           attributes: ["axis": .int(axis), "opset": .int(coercesTo2D ? 12 : 13)])
    }
}
