// Clip and Relu: clamping activations, both exposed to the optimizer as a clamp with (possibly constant) bounds.
//
// Clip spec: https://onnx.ai/onnx/operators/onnx__Clip.html
//   Opset 1 (min/max attributes, consumed_inputs), 6 (min/max attributes, defaults -/+ float max),
//   11 (min/max become optional inputs, scalars; defaults -inf/+inf), 12 (integer types), 13 (bfloat16).
//   Arity: opset < 11: input -> output; opset >= 11: input, optional min, optional max -> output.
// Relu spec: https://onnx.ai/onnx/operators/onnx__Relu.html
//   Opset 1, 6, 13, 14 (integer types): the same function; input -> output.

// MARK: - Clip

struct ClipOperator: ActivationOperator {
    /// Opset < 11: the bounds are attributes. Opset >= 11: they are inputs 1 and 2, read at run time.
    let attributeBounds: ClampBounds?

    init(_ context: OperatorContext) throws {
        if context.opset < 11 {
            try context.expectInputs(1...1)
            // Opset 1 and 6 default to the float range, which clamps nothing finite either way.
            attributeBounds = ClampBounds(minimum: try context.float("min") ?? -.infinity,
                                          maximum: try context.float("max") ?? .infinity)
        } else {
            try context.expectInputs(1...3)
            attributeBounds = nil
        }
    }

    func activation(_ inputs: [InferenceValue?]) -> Activation? {
        if let attributeBounds { return .clamp(attributeBounds) }
        var bounds = ClampBounds()
        if let minimum = optionalInput(inputs, 1) {
            guard let constant = minimum.constant, constant.elementCount == 1,
                  let value = constant.doubleValue(at: 0) else { return nil }
            bounds.minimum = Float(value)
        }
        if let maximum = optionalInput(inputs, 2) {
            guard let constant = maximum.constant, constant.elementCount == 1,
                  let value = constant.doubleValue(at: 0) else { return nil }
            bounds.maximum = Float(value)
        }
        return .clamp(bounds)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard clampTypes.contains(input.elementType) else { throw unsupportedType(input.elementType) }
        for index in 1...2 {
            if let bound = optionalInput(inputs, index) {
                guard bound.type.elementType == input.elementType else {
                    throw ONNXRunError(.invalidModel, "bound \(index) is \(bound.type), input is \(input)")
                }
                if let shape = bound.type.fixedShape, product(shape) != 1 {
                    throw ONNXRunError(.invalidModel, "bound \(index) must be a scalar, is \(bound.type)")
                }
            }
        }
        return [input]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        var bounds = ClampValues()
        if let attributeBounds {
            bounds.floatMinimum = attributeBounds.minimum
            bounds.floatMaximum = attributeBounds.maximum
        }
        for index in 1...2 {
            guard let bound = optionalInput(inputs, index) else { continue }
            guard bound.elementType == input.elementType, bound.elementCount == 1 else {
                throw runtimeError("Clip bound \(index) must be a one-element tensor of the input's type", inputs)
            }
            // Integer bounds are read exactly (a Double would round int64 values beyond 2^53).
            let float = Float(bound.doubleValue(at: 0) ?? 0)
            let integer = Int64(bound.integers?.first ?? 0)
            if index == 1 {
                bounds.floatMinimum = float
                bounds.integerMinimum = integer
            } else {
                bounds.floatMaximum = float
                bounds.integerMaximum = integer
            }
        }
        return [try clamp(input, bounds)]
    }
}

/// The reference kernel's bounds in the input's arithmetic: floats for float tensors, exact integers for integer
/// tensors (an int64 bound need not be representable as a Float, so this is not `ClampBounds`).
struct ClampValues {
    var floatMinimum = -Float.infinity
    var floatMaximum = Float.infinity
    var integerMinimum = Int64.min
    var integerMaximum = Int64.max
}

/// `min(max(x, minimum), maximum)`, as onnxruntime computes it (when minimum > maximum every element is maximum).
func clamp(_ input: Tensor, _ bounds: ClampValues) throws -> Tensor {
    switch input.elementType {
    case .float:
        let low = bounds.floatMinimum, high = bounds.floatMaximum
        return Tensor(shape: input.shape, computed: input.floats.map { Swift.min(Swift.max($0, low), high) })
    case .int64:
        let low = bounds.integerMinimum, high = bounds.integerMaximum
        return Tensor(shape: input.shape,
                      computed: input.scalars(as: Int64.self).map { Swift.min(Swift.max($0, low), high) })
    case .int32: return clampIntegers(input, Int32.self, bounds)
    case .int16: return clampIntegers(input, Int16.self, bounds)
    case .int8: return clampIntegers(input, Int8.self, bounds)
    case .uint32: return clampIntegers(input, UInt32.self, bounds)
    case .uint16: return clampIntegers(input, UInt16.self, bounds)
    case .uint8: return clampIntegers(input, UInt8.self, bounds)
    default:
        throw unsupportedType(input.elementType)
    }
}

/// Clamps integers narrower than 64 bits through Int64 (every value and bound fits).
private func clampIntegers<Value: FixedWidthInteger & TensorElement>(_ input: Tensor, _ type: Value.Type,
                                                                     _ bounds: ClampValues) -> Tensor {
    Tensor(shape: input.shape, computed: input.scalars(as: Value.self).map {
        Value(truncatingIfNeeded: Swift.min(Swift.max(Int64($0), bounds.integerMinimum), bounds.integerMaximum))
    })
}

/// The element types Clip and Relu implement.
let clampTypes: [ElementType] = [.float, .int64, .int32, .int16, .int8, .uint32, .uint16, .uint8]

// MARK: - Relu

struct ReluOperator: ActivationOperator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
    }

    func activation(_ inputs: [InferenceValue?]) -> Activation? {
        .clamp(ClampBounds(minimum: 0))
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X").type
        guard clampTypes.contains(input.elementType) else { throw unsupportedType(input.elementType) }
        return [input]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        [try clamp(try requiredInput(inputs, 0, "X"),
                   ClampValues(floatMinimum: 0, floatMaximum: .infinity, integerMinimum: 0, integerMaximum: .max))]
    }
}
