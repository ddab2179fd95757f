// Constant and ConstantOfShape: tensors from attributes.
//
// Constant https://onnx.ai/onnx/operators/onnx__Constant.html: 1 (value), 9, 11 (sparse_value), 12 (value_float(s),
//   value_int(s), value_string(s)), 13, 19, 21. No inputs -> output. Strings and sparse tensors are not supported.
// ConstantOfShape https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html: 9, 20, 21. input (int64 shape) ->
//   output filled with `value` (a one-element tensor; default float 0).

struct ConstantOperator: Operator {
    let value: Tensor

    init(_ context: OperatorContext) throws {
        try context.expectInputs(0...0)
        let forms = ["value", "value_float", "value_floats", "value_int", "value_ints", "value_string",
                     "value_strings", "sparse_value"].filter { context.hasAttribute($0) }
        guard forms.count == 1, let form = forms.first else {
            throw context.invalid("needs exactly one value attribute, has \(forms.isEmpty ? "none" : forms.joined(separator: ", "))")
        }
        switch form {
        case "value":
            guard let tensor = try context.tensor("value") else { throw context.invalid("attribute 'value' is missing") }
            guard tensor.elementType != .string else { throw context.unsupported("string constants are not supported") }
            value = tensor
        case "value_float":
            value = Tensor(scalar: try context.float("value_float") ?? 0)
        case "value_floats":
            let floats = try context.floats("value_floats") ?? []
            value = Tensor(shape: [floats.count], computed: floats)
        case "value_int":
            value = Tensor(scalar: Int64(try context.int("value_int") ?? 0))
        case "value_ints":
            let ints = try context.ints("value_ints") ?? []
            value = Tensor(shape: [ints.count], computed: ints.map { Int64($0) })
        default:
            throw context.unsupported("Constant with \(form) is not supported")
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        [TensorType(elementType: value.elementType, fixedShape: value.shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        [value]
    }
}

struct ConstantOfShapeOperator: Operator {
    /// The one-element fill value.
    let value: Tensor

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        if let tensor = try context.tensor("value") {
            guard tensor.elementCount == 1 else {
                throw context.invalid("attribute 'value' must have one element, has shape \(describeShape(tensor.shape))")
            }
            guard tensor.elementType != .string else { throw context.unsupported("string values are not supported") }
            value = tensor
        } else {
            value = Tensor(scalar: Float(0))
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let shapeInput = try requiredInput(inputs, 0, "input")
        guard shapeInput.type.elementType == .int64 else { throw unsupportedType(shapeInput.type.elementType, "shape") }
        if let constant = shapeInput.constant, let dimensions = constant.integers {
            return [TensorType(elementType: value.elementType, fixedShape: dimensions)]
        }
        if let length = shapeInput.type.fixedShape?.first {
            return [TensorType(elementType: value.elementType, shape: Array(repeating: .unknown, count: length))]
        }
        return [TensorType(elementType: value.elementType, shape: nil)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let shapeInput = try requiredInput(inputs, 0, "input")
        guard shapeInput.rank == 1, let shape = shapeInput.integers else {
            throw runtimeError("input must be a 1-D int64 shape", inputs)
        }
        let count = try checkedCount(shape, inputs)
        return [value.viewed(as: []).gathering(offsets: [Int](repeating: 0, count: count), shape: shape)]
    }
}
