// Identity and Dropout (inference): the output is the input; Dropout's optional mask is all true.
//
// Identity https://onnx.ai/onnx/operators/onnx__Identity.html: 1, 13, 14 (sequences), 16, 19, 21. input -> output.
// Dropout https://onnx.ai/onnx/operators/onnx__Dropout.html: 1 (is_test), 6, 7 (inference only), 10 (mask is bool),
//   12 (ratio and training_mode become inputs), 13, 22. data (, ratio, training_mode) -> output (, mask).
//   Training mode (training_mode = true, or is_test = 0 before opset 7) is not supported.
//   The inference mask: from opset 12 all true (the spec's reference and onnxruntime agree); before 12 the spec leaves
//   it open and onnxruntime fills it with false/0, which onnxrun matches.

struct IdentityOperator: Operator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
    }

    /// The optimizer's pass-through (its output shares the input's storage).
    init() {}

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        [try requiredInput(inputs, 0, "input").type]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        [try requiredInput(inputs, 0, "input")]
    }
}

struct DropoutOperator: Operator {
    let producesMask: Bool
    /// Before opset 10 the mask has the data's type; from 10 it is bool.
    let maskIsBool: Bool
    /// The inference mask's value (see the file header).
    let maskValue: Bool

    init(_ context: OperatorContext) throws {
        try context.expectInputs(context.opset < 12 ? 1...1 : 1...3, outputs: 1...2)
        if context.opset < 7, try context.int("is_test", default: 0) == 0, context.hasOutput(1) {
            throw context.unsupported("training-mode Dropout (is_test = 0 with a mask output) is not supported")
        }
        producesMask = context.hasOutput(1)
        maskIsBool = context.opset >= 10
        maskValue = context.opset >= 12
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        if let mode = optionalInput(inputs, 2)?.constant, mode.integers?.first ?? 0 != 0 {
            throw ONNXRunError(.unsupported, "training_mode = true is not supported")
        }
        return [data] + (producesMask ? [TensorType(elementType: maskIsBool ? .bool : data.elementType, shape: data.shape)] : [])
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        if let mode = optionalInput(inputs, 2), mode.integers?.first ?? 0 != 0 {
            throw ONNXRunError(.unsupported, "training_mode = true is not supported")
        }
        guard producesMask else { return [data] }
        let mask: Tensor
        if maskIsBool {
            mask = Tensor(shape: data.shape, computed: [Bool](repeating: maskValue, count: data.elementCount))
        } else {
            mask = try castTensor(Tensor(shape: data.shape, computed: [Bool](repeating: maskValue, count: data.elementCount)),
                                  to: data.elementType)
        }
        return [data, mask]
    }
}
