// Reshape, Flatten, Squeeze, Unsqueeze: new shapes over the same elements (the result shares the input's storage).
//
// Reshape https://onnx.ai/onnx/operators/onnx__Reshape.html: 1 (`shape` attribute), 5 (shape input), 13, 14
//   (allowzero), 19, 21. Arity: data (, shape) -> reshaped.
// Flatten https://onnx.ai/onnx/operators/onnx__Flatten.html: 1, 9 (all types), 11 (negative axis), 13, 21.
// Squeeze https://onnx.ai/onnx/operators/onnx__Squeeze.html: 1 (`axes` attribute), 11 (negative axes), 13 (axes
//   input), 21. Unsqueeze https://onnx.ai/onnx/operators/onnx__Unsqueeze.html: likewise.

// MARK: - Reshape

struct ReshapeOperator: Operator {
    /// Opset < 5: the target shape is an attribute.
    let attributeShape: [Int]?
    let allowZero: Bool

    init(_ context: OperatorContext) throws {
        if context.opset < 5 {
            try context.expectInputs(1...1)
            guard let shape = try context.ints("shape") else { throw context.invalid("attribute 'shape' is required") }
            attributeShape = shape
        } else {
            try context.expectInputs(2...2)
            attributeShape = nil
        }
        allowZero = try context.int("allowzero", default: 0) != 0
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        let requested: [Int]
        if let attributeShape {
            requested = attributeShape
        } else {
            let shapeInput = try requiredInput(inputs, 1, "shape")
            guard shapeInput.type.elementType == .int64 else { throw unsupportedType(shapeInput.type.elementType, "shape") }
            guard let constant = shapeInput.constant, let values = constant.integers else {
                // Only the rank is known.
                if let length = shapeInput.type.fixedShape?.first {
                    return [TensorType(elementType: data.elementType, shape: Array(repeating: .unknown, count: length))]
                }
                return [TensorType(elementType: data.elementType, shape: nil)]
            }
            requested = values
        }
        guard let inputShape = data.shape else {
            // Without the input shape, only dimensions given as positive numbers are known.
            return [TensorType(elementType: data.elementType,
                               shape: requested.map { $0 > 0 || (allowZero && $0 == 0) ? .fixed($0) : .unknown })]
        }
        return [TensorType(elementType: data.elementType, shape: try reshapedDimensions(inputShape, requested, allowZero: allowZero))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        var requested = attributeShape ?? []
        if attributeShape == nil {
            let shapeInput = try requiredInput(inputs, 1, "shape")
            guard shapeInput.rank == 1, let values = shapeInput.integers else {
                throw runtimeError("shape must be a 1-D integer tensor", inputs)
            }
            requested = values
        }
        do {
            let shape = try reshapedDimensions(data.shape.map { .fixed($0) }, requested, allowZero: allowZero)
            return [data.viewed(as: shape.map { $0.value ?? 0 })]
        } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
    }
}

/// The Reshape rule: 0 copies the input's dimension (unless allowzero), -1 takes what is left. Symbolic input
/// dimensions pass through copies; a -1 next to unknown dimensions is unknown.
func reshapedDimensions(_ input: [Dimension], _ requested: [Int], allowZero: Bool) throws -> [Dimension] {
    var result: [Dimension] = []
    var inferredAxis: Int?
    for (axis, value) in requested.enumerated() {
        switch value {
        case -1:
            guard inferredAxis == nil else {
                throw ONNXRunError(.invalidModel, "shape \(requested) has more than one -1")
            }
            inferredAxis = axis
            result.append(.unknown)
        case 0 where !allowZero:
            guard axis < input.count else {
                throw ONNXRunError(.invalidModel, "shape \(requested) copies dimension \(axis), input has rank \(input.count)")
            }
            result.append(input[axis])
        case let value where value >= 0:
            result.append(.fixed(value))
        default:
            throw ONNXRunError(.invalidModel, "shape \(requested) has the invalid dimension \(value)")
        }
    }
    if allowZero, inferredAxis != nil, requested.contains(0) {
        throw ONNXRunError(.invalidModel, "shape \(requested) has both -1 and 0 with allowzero")
    }
    let inputFixed = input.compactMap(\.value)
    let inputCount = inputFixed.count == input.count ? checkedElementCount(inputFixed) : nil
    if let inferredAxis {
        let others = result.enumerated().filter { $0.offset != inferredAxis }.map(\.element)
        let otherFixed = others.compactMap(\.value)
        if let inputCount, otherFixed.count == others.count {
            guard let otherCount = checkedElementCount(otherFixed) else {
                throw ONNXRunError(.invalidModel, "shape \(requested) is too large")
            }
            guard otherCount > 0 ? inputCount % otherCount == 0 : inputCount == 0 else {
                throw ONNXRunError(.invalidModel, "cannot reshape \(describeDimensions(input)) to \(requested)")
            }
            // A 0 among the other dimensions leaves -1 undetermined; accepted only for an empty input, as 0.
            result[inferredAxis] = .fixed(otherCount > 0 ? inputCount / otherCount : 0)
        } else {
            // Symbolic input dimensions copied in place by 0 cancel out (e.g. [N,1280,1,1] to [0,-1] is [N,1280]):
            // -1 is the ratio of the remaining fixed sizes.
            let copied = Set(requested.indices.filter { requested[$0] == 0 && !allowZero })
            let inputRest = input.indices.filter { !copied.contains($0) }.map { input[$0].value }
            let outputRest = result.indices.filter { !copied.contains($0) && $0 != inferredAxis }.map { result[$0].value }
            if !inputRest.contains(nil), !outputRest.contains(nil),
               let inputSize = checkedElementCount(inputRest.compactMap { $0 }),
               let outputSize = checkedElementCount(outputRest.compactMap { $0 }), outputSize > 0 {
                guard inputSize % outputSize == 0 else {
                    throw ONNXRunError(.invalidModel, "cannot reshape \(describeDimensions(input)) to \(requested)")
                }
                result[inferredAxis] = .fixed(inputSize / outputSize)
            }
        }
    }
    let outputFixed = result.compactMap(\.value)
    if let inputCount, outputFixed.count == result.count, checkedElementCount(outputFixed) != inputCount {
        throw ONNXRunError(.invalidModel, "cannot reshape \(describeDimensions(input)) to \(requested)")
    }
    return result
}

func describeDimensions(_ shape: [Dimension]) -> String {
    "[" + shape.map(\.description).joined(separator: ",") + "]"
}

// MARK: - Flatten

struct FlattenOperator: Operator {
    let axis: Int

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        axis = try context.int("axis", default: 1)
        if axis < 0 && context.opset < 11 { throw context.invalid("negative axis \(axis) needs opset 11") }
    }

    private func resolvedAxis(rank: Int) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard (0...rank).contains(resolved) else {
            throw ONNXRunError(.invalidModel, "axis \(axis) is out of range for rank \(rank)")
        }
        return resolved
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard let shape = input.shape else {
            return [TensorType(elementType: input.elementType, shape: [.unknown, .unknown])]
        }
        let axis = try resolvedAxis(rank: shape.count)
        func flattened(_ part: ArraySlice<Dimension>) -> Dimension {
            if part.isEmpty { return .fixed(1) }
            if part.count == 1 { return part.first! }
            let fixed = part.compactMap(\.value)
            return fixed.count == part.count ? .fixed(product(fixed)) : .unknown
        }
        return [TensorType(elementType: input.elementType, shape: [flattened(shape[..<axis]), flattened(shape[axis...])])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        let axis: Int
        do { axis = try resolvedAxis(rank: input.rank) } catch let error as ONNXRunError {
            throw error.adding(shapes: [input.description])
        }
        return [input.viewed(as: [product(input.shape[..<axis]), product(input.shape[axis...])])]
    }
}

// MARK: - Squeeze and Unsqueeze

struct SqueezeOperator: Operator {
    let isUnsqueeze: Bool
    /// From the attribute (opset < 13); from opset 13 the axes are input 1.
    let attributeAxes: [Int]?
    let axesFromInput: Bool

    init(_ context: OperatorContext, unsqueeze: Bool) throws {
        isUnsqueeze = unsqueeze
        if context.opset < 13 {
            try context.expectInputs(1...1)
            attributeAxes = try context.ints("axes")
            axesFromInput = false
            if unsqueeze && attributeAxes == nil { throw context.invalid("attribute 'axes' is required") }
        } else {
            try context.expectInputs(unsqueeze ? 2...2 : 1...2)
            attributeAxes = nil
            axesFromInput = context.hasInput(1)
        }
    }

    /// The axes, or nil when they are an input without a known value.
    private func axes(_ axesInput: Tensor?) throws -> [Int]? {
        if !axesFromInput { return attributeAxes }
        guard let axesInput else { return nil }
        guard axesInput.rank <= 1, let values = axesInput.integers else {
            throw ONNXRunError(.invalidModel, "axes must be a 1-D integer tensor, is \(axesInput)")
        }
        return values
    }

    /// The output shape, or nil when the axes or the rank are unknown.
    private func outputShape(_ shape: [Dimension], axes: [Int]?) throws -> [Dimension]? {
        if isUnsqueeze {
            guard let axes else { return nil }
            let rank = shape.count + axes.count
            let resolved = try normalizedAxes(axes, rank: rank)
            var remaining = shape.makeIterator()
            return (0..<rank).map { resolved.contains($0) ? .fixed(1) : remaining.next()! }
        }
        guard let axes else {
            // Squeeze every dimension that is 1; unknown dimensions make the result unknown.
            if shape.contains(where: { $0.value == nil }) { return nil }
            return shape.filter { $0.value != 1 }
        }
        let resolved = try normalizedAxes(axes, rank: shape.count)
        for axis in resolved where shape[axis].value != nil && shape[axis].value != 1 {
            throw ONNXRunError(.invalidModel, "cannot squeeze axis \(axis) of size \(shape[axis])")
        }
        return shape.enumerated().filter { !resolved.contains($0.offset) }.map(\.element)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        let axesValue = axesFromInput ? optionalInput(inputs, 1)?.constant : nil
        if axesFromInput && axesValue == nil {
            // Axes computed at run time: Unsqueeze still knows the rank when the axes' length is known.
            if isUnsqueeze, let rank = data.shape?.count, let length = optionalInput(inputs, 1)?.type.fixedShape?.first {
                return [TensorType(elementType: data.elementType, shape: Array(repeating: .unknown, count: rank + length))]
            }
            return [TensorType(elementType: data.elementType, shape: nil)]
        }
        guard let shape = data.shape, let result = try outputShape(shape, axes: try axes(axesValue)) else {
            return [TensorType(elementType: data.elementType, shape: nil)]
        }
        return [TensorType(elementType: data.elementType, shape: result)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        do {
            let axesInput = axesFromInput ? try requiredInput(inputs, 1, "axes") : nil
            guard let result = try outputShape(data.shape.map { .fixed($0) }, axes: try axes(axesInput)) else {
                throw ONNXRunError(.invalidModel, "axes are missing")
            }
            return [data.viewed(as: result.map { $0.value ?? 0 })]
        } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
    }
}

// MARK: - Optimizer hooks

extension ReshapeOperator: ElementOrderPreservingOperator {}
extension FlattenOperator: ElementOrderPreservingOperator {}
extension SqueezeOperator: ElementOrderPreservingOperator {}
