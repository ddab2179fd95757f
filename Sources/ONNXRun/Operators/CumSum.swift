// CumSum and CumProd: running sums (products) along one axis (given as an input), optionally exclusive and/or reversed.
//
// Specs: https://onnx.ai/onnx/operators/onnx__CumSum.html, onnx__CumProd.html
// Opset history: CumSum 11, 14 (more types); CumProd 26. Arity: x, axis (int32/int64 scalar) -> y.
// Float32, double, int32, int64.

struct CumSumOperator: Operator {
    let exclusive: Bool
    let reverse: Bool
    let isProduct: Bool

    init(_ context: OperatorContext, product: Bool = false) throws {
        isProduct = product
        try context.expectInputs(2...2)
        exclusive = try context.int("exclusive", default: 0) != 0
        reverse = try context.int("reverse", default: 0) != 0
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "x").type
        guard [.float, .double, .int64, .int32].contains(x.elementType) else { throw unsupportedType(x.elementType) }
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "x")
        let axisTensor = try requiredInput(inputs, 1, "axis")
        guard axisTensor.elementCount == 1, let axisValue = axisTensor.integers?.first,
              let axis = normalizedAxis(axisValue, rank: x.rank) else {
            throw runtimeError("axis must be one integer in range", inputs)
        }
        switch x.elementType {
        case .float: return [cumulative(x, axis: axis, Float.self, isProduct ? (*) : (+))]
        case .double: return [cumulative(x, axis: axis, Double.self, isProduct ? (*) : (+))]
        case .int64: return [cumulative(x, axis: axis, Int64.self, isProduct ? (&*) : (&+))]
        case .int32: return [cumulative(x, axis: axis, Int32.self, isProduct ? (&*) : (&+))]
        default: throw unsupportedType(x.elementType)
        }
    }

    private func cumulative<Value: TensorElement & Numeric>(_ x: Tensor, axis: Int, _ type: Value.Type,
                                                            _ add: (Value, Value) -> Value) -> Tensor {
        var values = x.scalars(as: Value.self)
        let input = values
        let outer = product(x.shape[..<axis]), length = x.shape[axis], inner = product(x.shape[(axis + 1)...])
        for outerIndex in 0..<outer {
            for innerIndex in 0..<inner {
                var sum: Value = isProduct ? 1 : 0
                for step in 0..<length {
                    let position = outerIndex * length * inner + (reverse ? length - 1 - step : step) * inner + innerIndex
                    if exclusive {
                        values[position] = sum
                        sum = add(sum, input[position])
                    } else {
                        sum = add(sum, input[position])
                        values[position] = sum
                    }
                }
            }
        }
        return Tensor(shape: x.shape, computed: values)
    }
}
