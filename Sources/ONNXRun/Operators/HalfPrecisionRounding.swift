// RoundToHalfPrecision (internal, written by the half-precision widening stage): a Cast to float16 or bfloat16 whose
// result stays in float32.

/// What a Cast to float16 or bfloat16 computes, kept in float32: every value rounded to the half-precision type
/// (round to nearest even), so the model's precision loss is the same as with real half-precision storage.
struct HalfPrecisionRoundingOperator: Operator {
    let precision: ElementType

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        guard let code = try context.int("to"), let type = ElementType(rawValue: Int32(truncatingIfNeeded: code)),
              type.isHalfPrecision else {
            throw context.invalid("attribute 'to' must be float16 or bfloat16")
        }
        precision = type
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard input.elementType != .string else { throw unsupportedType(.string) }
        return [TensorType(elementType: .float, shape: input.shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        [try castTensor(castTensor(try requiredInput(inputs, 0, "input"), to: precision), to: .float)]
    }
}
