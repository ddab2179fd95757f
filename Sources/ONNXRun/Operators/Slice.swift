// Slice: a strided sub-range along some axes (clamped bounds, negative steps, INT64_MAX/MIN as "to the end").
//
// Spec: https://onnx.ai/onnx/operators/onnx__Slice.html
// Opset history: 1 (starts/ends/axes attributes), 10 (starts, ends, axes, steps as inputs), 11 (negative axes),
// 13. Arity: opset < 10: data -> output; opset >= 10: data, starts, ends, optional axes, optional steps -> output.

struct SliceOperator: Operator {
    /// Opset < 10: (starts, ends, axes) from attributes.
    let attributeRanges: (starts: [Int], ends: [Int], axes: [Int]?)?

    init(_ context: OperatorContext) throws {
        if context.opset < 10 {
            try context.expectInputs(1...1)
            guard let starts = try context.ints("starts"), let ends = try context.ints("ends") else {
                throw context.invalid("attributes 'starts' and 'ends' are required")
            }
            attributeRanges = (starts, ends, try context.ints("axes"))
        } else {
            try context.expectInputs(3...5)
            attributeRanges = nil
        }
    }

    /// One sliced axis: first index, step and length of the result.
    struct AxisRange {
        var start: Int
        var step: Int
        var count: Int
    }

    /// Resolves starts/ends/axes/steps against a concrete shape, following the spec's clamping rules.
    static func ranges(shape: [Int], starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws -> [AxisRange] {
        let axes = axes ?? Array(0..<starts.count)
        let steps = steps ?? [Int](repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw ONNXRunError(.invalidModel, "starts \(starts), ends \(ends), axes \(axes) and steps \(steps) differ in length")
        }
        let resolvedAxes = try normalizedAxes(axes, rank: shape.count)
        var result = shape.map { AxisRange(start: 0, step: 1, count: $0) }
        for (position, axis) in resolvedAxes.enumerated() {
            let dimension = shape[axis], step = steps[position]
            guard step != 0 else { throw ONNXRunError(.invalidModel, "step 0 on axis \(axis)") }
            // Saturating: INT64_MIN/MAX mean "from/to the end" and must not overflow.
            func resolved(_ value: Int) -> Int { value < 0 ? value &+ dimension : value }
            var start = resolved(starts[position]), end = resolved(ends[position])
            if step > 0 {
                start = min(max(start, 0), dimension)
                end = min(max(end, 0), dimension)
            } else {
                start = min(max(start, 0), dimension - 1)
                end = min(max(end, -1), dimension - 1)
            }
            let distance = end - start
            // ceil(distance / step) without overflow for steps near INT64_MIN/MAX.
            let count = step > 0 ? (distance > 0 ? (distance - 1) / step + 1 : 0)
                                 : (distance < 0 ? Int(UInt(-distance - 1) / step.magnitude) + 1 : 0)
            result[axis] = AxisRange(start: start, step: step, count: count)
        }
        return result
    }

    /// Integer values of input `index`, when given.
    private static func values(_ tensor: Tensor?, _ name: String) throws -> [Int]? {
        guard let tensor else { return nil }
        guard tensor.rank == 1, [.int64, .int32].contains(tensor.elementType), let values = tensor.integers else {
            throw ONNXRunError(.invalidModel, "\(name) must be a 1-D int32 or int64 tensor, is \(tensor)")
        }
        return values
    }

    private func ranges(shape: [Int], _ inputs: [Tensor?]) throws -> [AxisRange] {
        if let (starts, ends, axes) = attributeRanges {
            return try Self.ranges(shape: shape, starts: starts, ends: ends, axes: axes, steps: nil)
        }
        return try Self.ranges(shape: shape, starts: Self.values(requiredInput(inputs, 1, "starts"), "starts") ?? [],
                               ends: Self.values(requiredInput(inputs, 2, "ends"), "ends") ?? [],
                               axes: Self.values(optionalInput(inputs, 3), "axes"),
                               steps: Self.values(optionalInput(inputs, 4), "steps"))
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        guard let shape = data.shape else { return [data] }
        if attributeRanges == nil {
            // Exact only when every parameter is constant; otherwise the rank is kept and the sliced axes unknown.
            var constants: [Tensor?] = [nil]
            for index in 1...4 {
                guard let value = optionalInput(inputs, index) else { constants.append(nil); continue }
                guard let constant = value.constant else {
                    return [TensorType(elementType: data.elementType, shape: Array(repeating: .unknown, count: shape.count))]
                }
                constants.append(constant)
            }
            return [TensorType(elementType: data.elementType, shape: try slicedDimensions(shape, constants))]
        }
        return [TensorType(elementType: data.elementType, shape: try slicedDimensions(shape, [nil]))]
    }

    /// Sliced axes get their exact size when the input size is known; untouched axes (symbolic or not) pass through.
    private func slicedDimensions(_ shape: [Dimension], _ inputs: [Tensor?]) throws -> [Dimension] {
        // Slice a stand-in shape with huge sizes for unknown axes, then keep only results on fixed axes.
        let stand = shape.map { $0.value ?? Int(Int32.max) }
        let ranges = try ranges(shape: stand, inputs)
        return shape.indices.map { axis in
            let range = ranges[axis]
            if range.start == 0 && range.step == 1 && range.count == stand[axis] { return shape[axis] }
            return shape[axis].value != nil ? .fixed(range.count) : .unknown
        }
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        let ranges: [AxisRange]
        do { ranges = try self.ranges(shape: data.shape, inputs) } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
        let strides = contiguousStrides(data.shape)
        let base = ranges.indices.reduce(0) { $0 + ranges[$1].start * strides[$1] }
        let shape = ranges.map(\.count)
        // An axis with one element never steps (and a huge step must not overflow the offset arithmetic).
        let steps = ranges.indices.map { ranges[$0].count > 1 ? ranges[$0].step * strides[$0] : 0 }
        let offsets = stridedOffsets(shape: shape, strides: steps, base: base)
        return [data.gathering(offsets: offsets, shape: shape)]
    }
}

// MARK: - Optimizer hooks

extension SliceOperator: ChannelsLastAdaptable {
    /// Slice of an NHWC 4-D tensor along one axis with step 1 and constant bounds (ShuffleNet's channel halves):
    /// one block copy along the remapped axis, staying NHWC.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard channelsLast.first == true, let shape = inputs.first??.type.fixedShape, shape.count == 4 else {
            return nil
        }
        var constants: [Tensor?] = [nil]
        for index in 1..<max(inputs.count, 1) {
            guard let value = inputs[index] else { constants.append(nil); continue }
            guard let constant = value.constant else { return nil }
            constants.append(constant)
        }
        guard let ranges = try? ranges(shape: shape, constants) else { return nil }
        let sliced = ranges.indices.filter { ranges[$0].start != 0 || ranges[$0].count != shape[$0] }
        guard sliced.count <= 1 else { return nil }
        let axis = sliced.first ?? 1
        guard ranges[axis].step == 1 || ranges[axis].count <= 1 else { return nil }
        return ChannelsLastVariant(
            op: AxisSlice(axis: channelsLastAxis(axis), start: ranges[axis].start, count: ranges[axis].count),
            opType: "SliceNHWC", channelsLastInputs: [0], outputIsChannelsLast: true)
    }
}
