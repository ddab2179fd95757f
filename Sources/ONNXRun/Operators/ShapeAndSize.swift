// Shape and Size: a tensor's dimensions (optionally a start..<end slice of them) or element count, as int64.
//
// Shape https://onnx.ai/onnx/operators/onnx__Shape.html: 1, 13, 15 (start/end attributes, clamped), 19, 21.
// Size https://onnx.ai/onnx/operators/onnx__Size.html: 1, 13, 19, 21. data -> int64 shape / scalar.

struct ShapeOperator: ShapeReadingOperator {
    let start: Int
    let end: Int?

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        start = context.opset >= 15 ? try context.int("start", default: 0) : 0
        end = context.opset >= 15 ? try context.int("end") : nil
    }

    /// The selected axes: negative values count from the end, both clamp to [0, rank].
    private func range(rank: Int) -> Range<Int> {
        func clamped(_ value: Int) -> Int { Swift.min(Swift.max(value < 0 ? value + rank : value, 0), rank) }
        let lower = clamped(start), upper = clamped(end ?? rank)
        return lower < upper ? lower..<upper : lower..<lower
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        guard let shape = data.shape else { return [TensorType(elementType: .int64, shape: [.unknown])] }
        return [TensorType(elementType: .int64, fixedShape: [range(rank: shape.count).count])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        let dimensions = data.shape[range(rank: data.rank)].map { Int64($0) }
        return [Tensor(shape: [dimensions.count], computed: dimensions)]
    }
}

struct SizeOperator: ShapeReadingOperator {
    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        _ = try requiredInput(inputs, 0, "data")
        return [TensorType(elementType: .int64, fixedShape: [])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        [Tensor(scalar: Int64(try requiredInput(inputs, 0, "data").elementCount))]
    }
}
