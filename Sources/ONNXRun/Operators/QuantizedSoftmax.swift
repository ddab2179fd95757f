// com.microsoft QLinearSoftmax: softmax of a quantized tensor, quantized, computed as onnxruntime does through a
// table of exponentials.
//
// Spec: https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md (com.microsoft, version 1).
// Arity: X, X_scale, x_zero_point (optional), y_scale, y_zero_point (optional) -> Y. Attributes: opset (required: the
// Softmax semantics, < 13 flattens from `axis` on, >= 13 normalizes along `axis` only) and axis (default 1 before 13,
// -1 from 13). Arithmetic (onnxruntime): e[x] = float(exp((x - max + shift) * X_scale)) in double, with
// shift = max(0, log(FLT_MAX / D) - 5) / X_scale so the float sum cannot overflow; y = nearbyint(e[x] * floor(1 /
// y_scale) / sum(e)) + y_zero_point, capped at 255 (the zero point of X plays no part: it cancels in x - max).

import Foundation

struct QuantizedSoftmaxOperator: Operator {
    let axis: Int
    let flattens: Bool

    init(_ context: OperatorContext) throws {
        try context.expectInputs(4...5)
        guard let opset = try context.int("opset") else { throw context.invalid("attribute 'opset' is required") }
        flattens = opset < 13
        axis = try context.int("axis", default: flattens ? 1 : -1)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        _ = try UnaryQuantization.check(inputs)
        if let rank = x.shape?.count, normalizedAxis(axis, rank: rank) == nil {
            throw ONNXRunError(.invalidModel, "axis \(axis) is out of range for \(x)")
        }
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        guard [.int8, .uint8].contains(x.elementType) else { throw unsupportedType(x.elementType, "X") }
        guard let axis = normalizedAxis(axis, rank: x.rank) else { throw runtimeError("axis \(self.axis) is out of range", [x]) }
        let parameters = try UnaryQuantization(inputs)
        let (inputScale, output) = (parameters.input.scale, parameters.output)
        // Rows of `length` elements `stride` apart: flattened (opset < 13), or along the axis only.
        let length = flattens ? product(x.shape[axis...]) : x.shape[axis]
        let stride = flattens ? 1 : product(x.shape[(axis + 1)...])
        let rows = length == 0 ? 0 : x.elementCount / length
        guard length > 0 else { return [x] }
        let shift = max(0, log(Double(Float.greatestFiniteMagnitude / Float(length))) - 5) / Double(inputScale)
        // exponentials[d] for d = x - max in -255...0.
        let exponentials = (0...255).map { Float(exp((Double($0) - 255 + shift) * Double(inputScale))) }
        let outputScale = (1 / output.scale).rounded(.down)
        let values = x.integerValues
        var results = [Int64](repeating: 0, count: values.count)
        for row in 0..<rows {
            let first = (row / stride) * length * stride + row % stride
            let indices = (0..<length).map { first + $0 * stride }
            let maximum = indices.map { values[$0] }.max() ?? 0
            let terms = indices.map { exponentials[Int(values[$0] - maximum) + 255] }
            let sum = terms.reduce(Float(0), +)
            for (index, term) in zip(indices, terms) {
                // A huge 1 / y_scale makes the level infinite; the cap below decides it as onnxruntime's would.
                let rounded = (term * outputScale / sum).rounded(.toNearestOrEven)
                let level = (rounded.isFinite ? Int64(min(rounded, 0x1p20)) : 1 << 20) + output.zeroPoint
                results[index] = x.elementType == .uint8 ? min(level, 255) : Int64(Int8(truncatingIfNeeded: level > 255 ? 255 : level))
            }
        }
        return [try castTensor(Tensor(shape: x.shape, computed: results), to: x.elementType)]
    }
}
