// Clip and Relu: clamping activations, both exposed to the optimizer as a clamp with (possibly constant) bounds.
//
// Clip spec: https://onnx.ai/onnx/operators/onnx__Clip.html
//   Opset 1 (min/max attributes, consumed_inputs), 6 (min/max attributes, defaults -/+ float max),
//   11 (min/max become optional inputs, scalars; defaults -inf/+inf), 12 (integer types), 13 (bfloat16).
//   Arity: opset < 11: input -> output; opset >= 11: input, optional min, optional max -> output.
// Relu spec: https://onnx.ai/onnx/operators/onnx__Relu.html
//   Opset 1, 6, 13, 14 (integer types): the same function; input -> output.

/// The interval a clamping activation limits its input to. Relu is [0, +inf], Relu6 is [0, 6].
public struct ClampBounds: Sendable, Hashable {
    public var minimum: Float
    public var maximum: Float

    public init(minimum: Float = -.infinity, maximum: Float = .infinity) {
        self.minimum = minimum
        self.maximum = maximum
    }
}

/// An operator that is `min(max(x, minimum), maximum)` elementwise; the optimizer fuses these into the producer.
public protocol ClampingOperator: Operator {
    /// The bounds when they are known at load time (attributes or constant inputs); nil when an input bound is
    /// computed at run time.
    func clampBounds(_ inputs: [InferenceValue?]) -> ClampBounds?
}

// MARK: - Clip

struct ClipOperator: ClampingOperator {
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

    func clampBounds(_ inputs: [InferenceValue?]) -> ClampBounds? {
        if let attributeBounds { return attributeBounds }
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
        return bounds
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard [.float, .int64, .int32].contains(input.elementType) else { throw unsupportedType(input.elementType) }
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

/// Clamp bounds in the input's arithmetic: floats for float tensors, exact integers for integer tensors.
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
    case .int32:
        let low = bounds.integerMinimum, high = bounds.integerMaximum
        return Tensor(shape: input.shape, computed: input.scalars(as: Int32.self).map {
            Int32(truncatingIfNeeded: Swift.min(Swift.max(Int64($0), low), high))
        })
    default:
        throw unsupportedType(input.elementType)
    }
}

// MARK: - Relu

struct ReluOperator: ClampingOperator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
    }

    func clampBounds(_ inputs: [InferenceValue?]) -> ClampBounds? {
        ClampBounds(minimum: 0)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "X").type
        guard [.float, .int64, .int32].contains(input.elementType) else { throw unsupportedType(input.elementType) }
        return [input]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        [try clamp(try requiredInput(inputs, 0, "X"),
                   ClampValues(floatMinimum: 0, floatMaximum: .infinity, integerMinimum: 0, integerMaximum: .max))]
    }
}
