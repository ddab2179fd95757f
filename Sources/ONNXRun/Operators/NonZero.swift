// NonZero, OneHot, Compress, IsNaN, IsInf: index-producing and predicate operators from shape and mask subgraphs.
//
// NonZero https://onnx.ai/onnx/operators/onnx__NonZero.html: 9, 13. X -> int64 [rank, count] (row-major order).
// OneHot https://onnx.ai/onnx/operators/onnx__OneHot.html: 9, 11 (negative indices and axis). indices, depth,
//   values [off, on] -> output with a new axis of size depth.
// Compress https://onnx.ai/onnx/operators/onnx__Compress.html: 9, 11. input, condition (bool 1-D) -> selected slices.
// IsNaN https://onnx.ai/onnx/operators/onnx__IsNaN.html: 9, 13, 20. IsInf: 10, 20 (detect_negative/positive).

struct NonZeroOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        return [TensorType(elementType: .int64, shape: [x.shape.map { .fixed($0.count) } ?? .unknown, .unknown])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        guard x.elementType != .string else { throw unsupportedType(.string) }
        let nonZero = (0..<x.elementCount).filter { (x.doubleValue(at: $0) ?? 0) != 0 }
        let strides = contiguousStrides(x.shape)
        var values = [Int64](repeating: 0, count: x.rank * nonZero.count)
        for (column, offset) in nonZero.enumerated() {
            for axis in 0..<x.rank { values[axis * nonZero.count + column] = Int64((offset / strides[axis]) % x.shape[axis]) }
        }
        return [Tensor(shape: [x.rank, nonZero.count], computed: values)]
    }
}

struct OneHotOperator: Operator {
    let axis: Int

    init(_ context: OperatorContext) throws {
        try context.expectInputs(3...3)
        axis = try context.int("axis", default: -1)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let indices = try requiredInput(inputs, 0, "indices").type
        let values = try requiredInput(inputs, 2, "values").type
        guard var shape = indices.shape else { return [TensorType(elementType: values.elementType, shape: nil)] }
        guard let axis = normalizedAxis(axis, rank: shape.count + 1) else {
            throw ONNXRunError(.invalidModel, "axis \(self.axis) is out of range")
        }
        let depth = optionalInput(inputs, 1)?.constant.flatMap { $0.doubleValue(at: 0) }
        let known = depth.flatMap { $0 >= 1 && $0 <= Double(maximumComputedElementCount) ? Int($0) : nil }
        shape.insert(known.map { .fixed($0) } ?? .unknown, at: axis)
        return [TensorType(elementType: values.elementType, shape: shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let indicesTensor = try requiredInput(inputs, 0, "indices")
        let depthTensor = try requiredInput(inputs, 1, "depth")
        let values = try requiredInput(inputs, 2, "values")
        guard values.elementCount == 2, depthTensor.elementCount == 1, let depthValue = depthTensor.doubleValue(at: 0),
              depthValue >= 1, depthValue <= Double(maximumComputedElementCount) else {
            throw runtimeError("depth must be one positive number and values hold [off, on]", inputs)
        }
        let depth = Int(depthValue)
        guard let axis = normalizedAxis(axis, rank: indicesTensor.rank + 1) else { throw runtimeError("axis out of range", inputs) }
        var shape = indicesTensor.shape
        shape.insert(depth, at: axis)
        let count = try checkedCount(shape, inputs)
        let indices = (0..<indicesTensor.elementCount).map { indicesTensor.doubleValue(at: $0) ?? -.infinity }
        let outer = product(indicesTensor.shape[..<axis]), inner = product(indicesTensor.shape[axis...])
        // Offsets into values: 0 (off) or 1 (on).
        var offsets = [Int](repeating: 0, count: count)
        for outerIndex in 0..<outer {
            for innerIndex in 0..<inner {
                var index = indices[outerIndex * inner + innerIndex].rounded(.towardZero)
                if index < 0 { index += Double(depth) }
                guard index >= 0, index < Double(depth) else { continue }
                offsets[(outerIndex * depth + Int(index)) * inner + innerIndex] = 1
            }
        }
        return [values.viewed(as: [2]).gathering(offsets: offsets, shape: shape)]
    }
}

struct CompressOperator: Operator {
    let axis: Int?

    init(_ context: OperatorContext) throws {
        try context.expectInputs(2...2)
        axis = try context.int("axis")
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard let shape = input.shape else { return [input] }
        guard let axis else { return [TensorType(elementType: input.elementType, shape: [.unknown])] }
        guard let resolved = normalizedAxis(axis, rank: shape.count) else {
            throw ONNXRunError(.invalidModel, "axis \(axis) is out of range for \(input)")
        }
        var result = shape
        result[resolved] = .unknown
        return [TensorType(elementType: input.elementType, shape: result)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        let condition = try requiredInput(inputs, 1, "condition")
        guard condition.elementType == .bool, condition.rank == 1 else { throw runtimeError("condition must be 1-D bool", inputs) }
        let flags = condition.scalars(as: Bool.self)
        guard let axis else {
            let selected = (0..<min(flags.count, input.elementCount)).filter { flags[$0] }
            return [input.gathering(offsets: selected, shape: [selected.count])]
        }
        guard let resolved = normalizedAxis(axis, rank: input.rank), flags.count <= input.shape[resolved] else {
            throw runtimeError("axis \(axis) is out of range or condition is longer than the axis", inputs)
        }
        let selected = flags.indices.filter { flags[$0] }
        let outer = product(input.shape[..<resolved]), length = input.shape[resolved]
        let inner = product(input.shape[(resolved + 1)...])
        var offsets: [Int] = []
        for outerIndex in 0..<outer {
            for index in selected {
                for innerIndex in 0..<inner { offsets.append((outerIndex * length + index) * inner + innerIndex) }
            }
        }
        var shape = input.shape
        shape[resolved] = selected.count
        return [input.gathering(offsets: offsets, shape: shape)]
    }
}

struct FloatPredicateOperator: Operator {
    let predicate: @Sendable (Double) -> Bool

    init(_ context: OperatorContext, infinity: Bool) throws {
        try context.expectInputs(1...1)
        if infinity {
            let negative = try context.int("detect_negative", default: 1) != 0
            let positive = try context.int("detect_positive", default: 1) != 0
            predicate = { $0.isInfinite && ($0 > 0 ? positive : negative) }
        } else {
            predicate = { $0.isNaN }
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        guard x.elementType.isFloatingPoint else { throw unsupportedType(x.elementType) }
        return [TensorType(elementType: .bool, shape: x.shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        guard x.elementType.isFloatingPoint else { throw unsupportedType(x.elementType) }
        return [Tensor(shape: x.shape, computed: (0..<x.elementCount).map { predicate(x.doubleValue(at: $0) ?? 0) })]
    }
}
