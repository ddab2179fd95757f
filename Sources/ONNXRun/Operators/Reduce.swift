// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp: reductions over a set of axes (all axes by default), keeping the reduced axes as 1 or not.
//
// Specs: https://onnx.ai/onnx/operators/onnx__ReduceMean.html (and the others alike)
// Opset history: 1 (axes attribute), 11 (negative axes), 13 (bfloat16; ReduceSum: axes becomes an optional input and
// noop_with_empty_axes appears), 18 (the others: axes input, noop_with_empty_axes), 20 (ReduceMax/Min: bool).
// Arity: data (, axes) -> reduced. Float32 and double (accumulating in the input's type, as onnxruntime does).

import Foundation

enum Reduction: Sendable {
    case mean, sum, maximum, minimum, product, sumSquare, l1, l2, logSum, logSumExp

    /// The opset from which `axes` is an input rather than an attribute.
    var axesInputSince: Int { self == .sum ? 13 : 18 }
}

struct ReduceOperator: Operator {
    let reduction: Reduction
    let attributeAxes: [Int]?
    let axesFromInput: Bool
    let keepDimensions: Bool
    let noopWithEmptyAxes: Bool

    init(_ context: OperatorContext, _ reduction: Reduction) throws {
        self.reduction = reduction
        keepDimensions = try context.int("keepdims", default: 1) != 0
        noopWithEmptyAxes = try context.int("noop_with_empty_axes", default: 0) != 0
        if context.opset < reduction.axesInputSince {
            try context.expectInputs(1...1)
            attributeAxes = try context.ints("axes")
            axesFromInput = false
        } else {
            try context.expectInputs(1...2)
            attributeAxes = nil
            axesFromInput = context.hasInput(1)
        }
    }

    /// The reduced axes (normalized), nil when they come from a non-constant input.
    private func reducedAxes(rank: Int, _ axesInput: Tensor?) throws -> [Int]? {
        var axes = attributeAxes ?? []
        if axesFromInput {
            guard let axesInput else { return nil }
            guard axesInput.rank <= 1, let values = axesInput.integers else {
                throw ONNXRunError(.invalidModel, "axes must be a 1-D int64 tensor, is \(axesInput)")
            }
            axes = values
        }
        if axes.isEmpty { return noopWithEmptyAxes ? [] : Array(0..<rank) }
        return try normalizedAxes(axes, rank: rank)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let data = try requiredInput(inputs, 0, "data").type
        guard [.float, .double].contains(data.elementType) else { throw unsupportedType(data.elementType, "data") }
        guard let shape = data.shape,
              let axes = try reducedAxes(rank: shape.count, axesFromInput ? optionalInput(inputs, 1)?.constant : nil) else {
            return [TensorType(elementType: data.elementType, shape: nil)]
        }
        return [TensorType(elementType: data.elementType, shape: shape.indices.compactMap { axis in
            axes.contains(axis) ? (keepDimensions ? .fixed(1) : nil) : shape[axis]
        })]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let data = try requiredInput(inputs, 0, "data")
        guard [.float, .double].contains(data.elementType) else { throw unsupportedType(data.elementType, "data") }
        let axes: [Int]
        do {
            guard let resolved = try reducedAxes(rank: data.rank, axesFromInput ? try requiredInput(inputs, 1, "axes") : nil) else {
                throw ONNXRunError(.invalidModel, "axes are missing")
            }
            axes = resolved
        } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
        if axes.isEmpty { return [data] }
        let keptShape = data.shape.indices.map { axes.contains($0) ? 1 : data.shape[$0] }
        let reducedShape = data.shape.indices.map { axes.contains($0) ? data.shape[$0] : 1 }
        let strides = contiguousStrides(data.shape)
        // Offsets of each output's first element, and of each reduced element relative to it.
        let outputOffsets = stridedOffsets(shape: keptShape, strides: strides.indices.map { axes.contains($0) ? 0 : strides[$0] })
        let reducedOffsets = stridedOffsets(shape: reducedShape, strides: strides.indices.map { axes.contains($0) ? strides[$0] : 0 })
        let values = data.elementType == .double
            ? Tensor(shape: [outputOffsets.count], computed: reduce(data, Double.self, outputOffsets, reducedOffsets))
            : Tensor(shape: [outputOffsets.count], computed: reduce(data, Float.self, outputOffsets, reducedOffsets))
        let shape = keepDimensions ? keptShape : data.shape.indices.filter { !axes.contains($0) }.map { data.shape[$0] }
        return [values.viewed(as: shape)]
    }

    /// The reduction of the elements at `base + reducedOffsets` for every base in `outputOffsets`.
    private func reduce<Value: ReferenceFloatingPoint>(_ data: Tensor, _ type: Value.Type, _ outputOffsets: [Int],
                                                       _ reducedOffsets: [Int]) -> [Value] {
        let count = Value(reducedOffsets.count)
        var values = [Value](repeating: 0, count: outputOffsets.count)
        data.withUnsafeBufferPointer(as: Value.self) { input in
            for (position, base) in outputOffsets.enumerated() {
                var accumulator: Value
                switch reduction {
                case .maximum: accumulator = -.infinity
                case .minimum: accumulator = .infinity
                case .product: accumulator = 1
                default: accumulator = 0
                }
                // log-sum-exp is shifted by the maximum for stability.
                var shift: Value = 0
                if reduction == .logSumExp {
                    shift = reducedOffsets.reduce(-Value.infinity) { max($0, input[base + $1]) }
                    if !shift.isFinite { shift = 0 }
                }
                for offset in reducedOffsets {
                    let value = input[base + offset]
                    switch reduction {
                    case .mean, .sum, .logSum: accumulator += value
                    case .maximum: accumulator = value.isNaN || accumulator.isNaN ? .nan : max(accumulator, value)
                    case .minimum: accumulator = value.isNaN || accumulator.isNaN ? .nan : min(accumulator, value)
                    case .product: accumulator *= value
                    case .sumSquare, .l2: accumulator += value * value
                    case .l1: accumulator += abs(value)
                    case .logSumExp: accumulator += Value.exponential(value - shift)
                    }
                }
                switch reduction {
                case .mean: accumulator /= count
                case .l2: accumulator = accumulator.squareRoot()
                case .logSum: accumulator = Value.logarithm(accumulator)
                case .logSumExp: accumulator = Value.logarithm(accumulator) + shift
                default: break
                }
                values[position] = accumulator
            }
        }
        return values
    }
}

/// Float and Double with the math functions the reference kernels need, in their own precision.
protocol ReferenceFloatingPoint: BinaryFloatingPoint, TensorElement {
    static func exponential(_ value: Self) -> Self
    static func logarithm(_ value: Self) -> Self
}

extension Float: ReferenceFloatingPoint {
    static func exponential(_ value: Float) -> Float { expf(value) }
    static func logarithm(_ value: Float) -> Float { logf(value) }
}

extension Double: ReferenceFloatingPoint {
    static func exponential(_ value: Double) -> Double { exp(value) }
    static func logarithm(_ value: Double) -> Double { log(value) }
}

// MARK: - Optimizer hooks

extension ReduceOperator: ReductionOperator {
    func reducedAxes(_ inputs: [InferenceValue?], rank: Int) -> [Int]? {
        guard let axes = try? reducedAxes(rank: rank, axesFromInput ? optionalInput(inputs, 1)?.constant : nil)
        else { return nil }
        return axes.sorted()
    }
}
