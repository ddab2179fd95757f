// Trilu: keeps the upper (or lower) triangle of the last two axes, shifted by k diagonals; zeroes the rest.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Trilu.html
// Opset history: 14. Arity: input (, k int64 scalar) -> output. Any fixed-size type.

struct TriluOperator: Operator {
    let upper: Bool

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...2)
        upper = try context.int("upper", default: 1) != 0
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        [try requiredInput(inputs, 0, "input").type]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        guard input.rank >= 2 else { throw runtimeError("input must have rank 2 or more", inputs) }
        var k = 0
        if let kTensor = optionalInput(inputs, 1) {
            guard kTensor.elementCount == 1, let value = kTensor.integers?.first else {
                throw runtimeError("k must be one integer", inputs)
            }
            k = value
        }
        let rows = input.shape[input.rank - 2], columns = input.shape[input.rank - 1]
        // Kept elements come from the input; the others from a zero appended after it.
        let zero = Tensor(zeros: input.elementType, shape: [1])
        let combined = try ConcatOperator.joinFlat(input, zero)
        let offsets = (0..<input.elementCount).map { position -> Int in
            let row = (position / columns) % max(rows, 1), column = position % columns
            let keep = upper ? column - row >= k : column - row <= k
            return keep ? position : input.elementCount
        }
        return [combined.gathering(offsets: offsets, shape: input.shape)]
    }
}
