// Pad: constant, reflect, edge and wrap padding; negative pads crop.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Pad.html
// Opset history: 1 (`paddings` attribute, `value`), 2 (`pads` attribute, `value`), 11 (pads and constant_value become
// inputs), 13 (bfloat16), 18 (optional axes input), 19 (wrap mode), 21.
// Arity: opset < 11: data -> output; opset >= 11: data, pads, optional constant_value, optional axes (18+) -> output.
// Pads layout: [begin_0, begin_1, ..., end_0, end_1, ...] over the padded axes.

struct PadOperator: Operator {
    enum Mode: String, Sendable {
        case constant, reflect, edge, wrap

        /// For each output coordinate along an axis padded by `begin` before, the input coordinate it copies; nil
        /// for the constant fill. The input axis is not empty unless the mode is constant.
        func sourceCoordinates(outputSize: Int, inputSize size: Int, begin: Int) -> [Int?] {
            (0..<outputSize).map { output in
                let input = output - begin
                if input >= 0 && input < size { return input }
                switch self {
                case .constant: return nil
                case .edge: return input < 0 ? 0 : size - 1
                case .wrap: return size > 0 ? ((input % size) + size) % size : 0
                case .reflect:
                    guard size > 1 else { return 0 }
                    let period = 2 * (size - 1)
                    let folded = ((input % period) + period) % period
                    return folded < size ? folded : period - folded
                }
            }
        }
    }

    let mode: Mode
    /// Opset < 11: pads and the constant value are attributes.
    let attributePads: [Int]?
    let attributeValue: Float

    init(_ context: OperatorContext) throws {
        let modeName = try context.string("mode", default: "constant")
        guard let mode = Mode(rawValue: modeName), mode != .wrap || context.opset >= 19 else {
            throw context.unsupported("mode '\(modeName)' is not supported")
        }
        self.mode = mode
        if context.opset < 11 {
            try context.expectInputs(1...1)
            let name = context.opset < 2 ? "paddings" : "pads"
            guard let pads = try context.ints(name) else { throw context.invalid("attribute '\(name)' is required") }
            attributePads = pads
            attributeValue = try context.float("value", default: 0)
        } else {
            try context.expectInputs(context.opset < 18 ? 2...3 : 2...4)
            attributePads = nil
            attributeValue = 0
        }
    }

    /// Begin and end pads for every axis of a rank-`rank` input.
    private func fullPads(rank: Int, pads: [Int], axes: [Int]?) throws -> (begin: [Int], end: [Int]) {
        let axes = try normalizedAxes(axes ?? Array(0..<rank), rank: rank)
        guard pads.count == 2 * axes.count else {
            throw ONNXRunError(.invalidModel, "pads \(pads) need 2 values per padded axis (\(axes.count) axes)")
        }
        var begin = [Int](repeating: 0, count: rank), end = [Int](repeating: 0, count: rank)
        for (position, axis) in axes.enumerated() {
            begin[axis] = pads[position]
            end[axis] = pads[axes.count + position]
        }
        return (begin, end)
    }

    private func integers(_ tensor: Tensor?, _ name: String) throws -> [Int]? {
        guard let tensor else { return nil }
        guard tensor.rank <= 1, [.int64, .int32].contains(tensor.elementType), let values = tensor.integers else {
            throw ONNXRunError(.invalidModel, "\(name) must be a 1-D int64 tensor, is \(tensor)")
        }
        return values
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        guard let shape = data.shape else { return [data] }
        var pads = attributePads
        var axes: [Int]?
        if pads == nil {
            guard let constant = try requiredInput(inputs, 1, "pads").constant else {
                return [TensorType(elementType: data.elementType, shape: Array(repeating: .unknown, count: shape.count))]
            }
            pads = try integers(constant, "pads")
            if let axesInput = optionalInput(inputs, 3) {
                guard let constant = axesInput.constant else {
                    return [TensorType(elementType: data.elementType, shape: Array(repeating: .unknown, count: shape.count))]
                }
                axes = try integers(constant, "axes")
            }
        }
        let (begin, end) = try fullPads(rank: shape.count, pads: pads ?? [], axes: axes)
        return [TensorType(elementType: data.elementType, shape: shape.indices.map { axis in
            if begin[axis] == 0 && end[axis] == 0 { return shape[axis] }
            guard let size = shape[axis].value else { return .unknown }
            return paddedSize([size], [begin[axis]], [end[axis]]).map { .fixed($0[0]) } ?? .unknown
        })]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        do {
            let pads = try attributePads ?? integers(requiredInput(inputs, 1, "pads"), "pads") ?? []
            let axes = try integers(optionalInput(inputs, 3), "axes")
            let (begin, end) = try fullPads(rank: data.rank, pads: pads, axes: axes)
            guard let shape = paddedSize(data.shape, begin, end) else {
                throw ONNXRunError(.invalidModel, "pads \(pads) are too large")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw ONNXRunError(.invalidModel, "pads \(pads) crop more than the input has")
            }
            let count = try checkedCount(shape)
            if mode != .constant, count > 0,
               let empty = data.shape.indices.first(where: { data.shape[$0] == 0 && (begin[$0] > 0 || end[$0] > 0) }) {
                throw ONNXRunError(.invalidModel, "\(mode) padding of the empty axis \(empty)")
            }
            return [try pad(data, shape: shape, begin: begin, fill: try fillTensor(data, optionalInput(inputs, 2)))]
        } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
    }

    /// size + begin + end per axis, nil on overflow (pads come from the file).
    private func paddedSize(_ sizes: [Int], _ begin: [Int], _ end: [Int]) -> [Int]? {
        var result: [Int] = []
        for axis in sizes.indices {
            let (partial, overflow1) = sizes[axis].addingReportingOverflow(begin[axis])
            let (total, overflow2) = partial.addingReportingOverflow(end[axis])
            if overflow1 || overflow2 { return nil }
            result.append(total)
        }
        return result
    }

    /// A one-element tensor of the data's type holding the constant fill value.
    private func fillTensor(_ data: Tensor, _ constantValue: Tensor?) throws -> Tensor {
        if let constantValue {
            guard constantValue.elementCount == 1, constantValue.elementType == data.elementType else {
                throw ONNXRunError(.invalidModel, "constant_value must be one element of the data's type, is \(constantValue)")
            }
            return constantValue.viewed(as: [1])
        }
        return try castTensor(Tensor(shape: [1], computed: [attributeValue]), to: data.elementType)
    }

    /// Maps each output element to an input element (or the fill value, stored one past the input's last element).
    private func pad(_ data: Tensor, shape: [Int], begin: [Int], fill: Tensor) throws -> Tensor {
        let rank = data.rank
        let strides = contiguousStrides(data.shape)
        let fillOffset = data.elementCount
        // Per axis, output coordinate -> input coordinate, or nil for the constant fill.
        let coordinateMaps: [[Int?]] = (0..<rank).map { axis in
            mode.sourceCoordinates(outputSize: shape[axis], inputSize: data.shape[axis], begin: begin[axis])
        }
        var offsets = [Int](repeating: 0, count: product(shape))
        var index = [Int](repeating: 0, count: rank)
        for position in offsets.indices {
            var offset = 0
            for axis in 0..<rank {
                guard let coordinate = coordinateMaps[axis][index[axis]] else { offset = -1; break }
                offset += coordinate * strides[axis]
            }
            offsets[position] = offset < 0 ? fillOffset : offset
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        // One combined source: the data's elements followed by the fill value.
        let combined = try ConcatOperator.joinFlat(data, fill)
        return combined.gathering(offsets: offsets, shape: shape)
    }
}

extension ConcatOperator {
    /// Two tensors' elements end to end as a 1-D tensor (same element type).
    static func joinFlat(_ first: Tensor, _ second: Tensor) throws -> Tensor {
        let size = first.elementType.byteSize
        let result = Tensor(zeros: first.elementType, shape: [first.elementCount + second.elementCount])
        result.freshBytes.copyMemory(from: first.storage.bytes, byteCount: first.elementCount * size)
        (result.freshBytes + first.elementCount * size).copyMemory(from: second.storage.bytes,
                                                                   byteCount: second.elementCount * size)
        return result
    }
}

// MARK: - Optimizer hooks

extension PadOperator: ZeroPaddingOperator, ConstantInputPacking {
    /// The pads over all axes (ONNX order) and the float fill value when both are known at load, the pads are not
    /// negative and there is no `axes` input (opset 18's reordering: only the common form is optimized).
    private func constantPads(_ inputs: [InferenceValue?]) -> (pads: [Int], value: Float)? {
        let pads: [Int]
        var value = attributeValue
        if let attributePads {
            pads = attributePads
        } else {
            guard inputs.count >= 2, let given = inputs[1]?.constant?.integers else { return nil }
            if let fill = optionalInput(inputs, 2) {
                guard let constant = fill.constant, constant.elementType == .float, constant.elementCount == 1
                else { return nil }
                value = constant.floats[0]
            }
            if optionalInput(inputs, 3) != nil { return nil }
            pads = given
        }
        return pads.allSatisfy { $0 >= 0 } ? (pads, value) : nil
    }

    func constantZeroPads(_ inputs: [InferenceValue?]) -> [Int]? {
        guard mode == .constant, case let (pads, value)? = constantPads(inputs), value == 0 else { return nil }
        return pads
    }

    /// A float Pad by pads and a value known at load becomes the row-copying `FastPad` (wrap mode stays here).
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard mode != .wrap, inputs.first??.type.elementType == .float, case let (pads, value)? = constantPads(inputs),
              let rank = inputs.first??.type.shape?.count, pads.count == 2 * rank
        else { return nil }
        return PackedOperator(op: FastPad(mode: mode, pads: pads, value: value), opType: "FastPad",
                              remainingInputs: [0])
    }
}
