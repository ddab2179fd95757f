// LayerNormalization, RMSNormalization, InstanceNormalization, MeanVarianceNormalization and LpNormalization
// (inference, float32).
//
// LayerNormalization https://onnx.ai/onnx/operators/onnx__LayerNormalization.html: 17. X, Scale (, B) -> Y
//   (Mean and InvStdDev outputs supported too); normalizes over axes [axis, rank).
// InstanceNormalization https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html: 1, 6, 22. input, scale, B
//   -> output; per (batch, channel) over the spatial axes.
// RMSNormalization https://onnx.ai/onnx/operators/onnx__RMSNormalization.html: 23. X, scale -> Y; x / sqrt(mean(x^2)
//   + epsilon) * scale over axes [axis, rank).
// MeanVarianceNormalization https://onnx.ai/onnx/operators/onnx__MeanVarianceNormalization.html: 9, 13. X -> Y;
//   (x - mean) / (sqrt(variance) + 1e-9) over `axes` (default [0, 2, 3]).
// LpNormalization https://onnx.ai/onnx/operators/onnx__LpNormalization.html: 1, 22. input -> output; p = 1 or 2.

struct LayerNormalizationOperator: Operator {
    let axis: Int
    let epsilon: Float
    let outputCount: Int
    /// RMSNormalization: no mean subtraction, one output.
    let isRootMeanSquare: Bool

    init(_ context: OperatorContext, rootMeanSquare: Bool = false) throws {
        isRootMeanSquare = rootMeanSquare
        try context.expectInputs(rootMeanSquare ? 2...2 : 2...3, outputs: rootMeanSquare ? 1...1 : 1...3)
        axis = try context.int("axis", default: -1)
        epsilon = try context.float("epsilon", default: 1e-5)
        if try context.int("stash_type", default: 1) != 1 { throw context.unsupported("stash_type other than float") }
        outputCount = context.node.outputs.count
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        guard let shape = x.shape else { return Array(repeating: x, count: outputCount) }
        guard let axis = normalizedAxis(axis, rank: shape.count) else {
            throw ONNXRunError(.invalidModel, "axis \(self.axis) is out of range for \(x)")
        }
        let statistics = TensorType(elementType: .float, shape: Array(shape[..<axis]) + Array(repeating: .fixed(1), count: shape.count - axis))
        return [x] + Array(repeating: statistics, count: outputCount - 1)
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        let scale = try requiredInput(inputs, 1, "Scale")
        let bias = optionalInput(inputs, 2)
        try requireFloat(x, "X")
        guard let axis = normalizedAxis(axis, rank: x.rank) else { throw runtimeError("axis out of range", inputs) }
        let normalizedShape = Array(x.shape[axis...])
        let size = product(normalizedShape)
        guard let scaleShape = broadcastShape([normalizedShape, scale.shape]), scaleShape == normalizedShape,
              bias.map({ broadcastShape([normalizedShape, $0.shape]) == normalizedShape }) ?? true,
              scale.elementType == .float, bias?.elementType ?? .float == .float else {
            throw runtimeError("Scale and B must broadcast to \(describeShape(normalizedShape))", inputs)
        }
        let scaleValues = scale.floats, biasValues = bias?.floats
        let scaleOffsets = broadcastOffsets(from: scale.shape, to: normalizedShape)
        let biasOffsets = bias.map { broadcastOffsets(from: $0.shape, to: normalizedShape) }
        var values = x.floats
        let groups = product(x.shape[..<axis])
        var means = [Float](repeating: 0, count: groups), inverseDeviations = [Float](repeating: 0, count: groups)
        for group in 0..<groups {
            let base = group * size
            var mean: Float = 0
            if !isRootMeanSquare {
                for index in 0..<size { mean += values[base + index] }
                mean /= Float(max(size, 1))
            }
            var variance: Float = 0
            for index in 0..<size { variance += (values[base + index] - mean) * (values[base + index] - mean) }
            variance /= Float(max(size, 1))
            let inverse = 1 / (variance + epsilon).squareRoot()
            for index in 0..<size {
                values[base + index] = (values[base + index] - mean) * inverse * scaleValues[scaleOffsets[index]]
                    + (biasValues.map { $0[biasOffsets![index]] } ?? 0)
            }
            means[group] = mean
            inverseDeviations[group] = inverse
        }
        let statisticsShape = Array(x.shape[..<axis]) + Array(repeating: 1, count: x.rank - axis)
        return [Tensor(shape: x.shape, computed: values), Tensor(shape: statisticsShape, computed: means),
                Tensor(shape: statisticsShape, computed: inverseDeviations)].prefix(outputCount).map { $0 }
    }
}

extension LayerNormalizationOperator: ConstantInputPacking {
    /// With constant Scale (and B) of exactly the normalized shape and only Y used: the fused kernel.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard !isRootMeanSquare, outputCount == 1, let x = inputs.first??.type, x.elementType == .float,
              let shape = x.shape, let first = normalizedAxis(axis, rank: shape.count),
              let scale = optionalInput(inputs, 1)?.constant, scale.elementType == .float else { return nil }
        let normalized = shape[first...].compactMap(\.value)
        guard normalized.count == shape.count - first, scale.shape == normalized else { return nil }
        var bias: [Float]?
        if let b = optionalInput(inputs, 2) {
            guard let constant = b.constant, constant.elementType == .float, constant.shape == normalized else {
                return nil
            }
            bias = constant.floats
        }
        return PackedOperator(op: try FusedLayerNormalization(axis: axis, epsilon: epsilon, scale: scale.floats,
                                                              bias: bias),
                              opType: "FusedLayerNorm", remainingInputs: [0])
    }
}

struct InstanceNormalizationOperator: Operator {
    let epsilon: Float

    init(_ context: OperatorContext) throws {
        try context.expectInputs(3...3)
        epsilon = try context.float("epsilon", default: 1e-5)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "input").type
        try requireFloat(x)
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "input")
        let scale = try requiredInput(inputs, 1, "scale"), bias = try requiredInput(inputs, 2, "B")
        try requireFloat(x)
        guard x.rank >= 2, scale.elementCount == x.shape[1], bias.elementCount == x.shape[1],
              scale.elementType == .float, bias.elementType == .float else {
            throw runtimeError("scale and B must have one float per channel", inputs)
        }
        let channels = x.shape[1], size = product(x.shape[2...])
        let scaleValues = scale.floats, biasValues = bias.floats
        var values = x.floats
        for plane in 0..<(x.shape[0] * channels) {
            let base = plane * size, channel = plane % channels
            var mean: Float = 0
            for index in 0..<size { mean += values[base + index] }
            mean /= Float(max(size, 1))
            var variance: Float = 0
            for index in 0..<size { variance += (values[base + index] - mean) * (values[base + index] - mean) }
            variance /= Float(max(size, 1))
            let multiplier = scaleValues[channel] / (variance + epsilon).squareRoot()
            for index in 0..<size { values[base + index] = (values[base + index] - mean) * multiplier + biasValues[channel] }
        }
        return [Tensor(shape: x.shape, computed: values)]
    }
}

struct LpNormalizationOperator: Operator {
    let axis: Int
    let p: Int

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        axis = try context.int("axis", default: -1)
        p = try context.int("p", default: 2)
        guard p == 1 || p == 2 else { throw context.invalid("p \(p) is not 1 or 2") }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "input").type
        try requireFloat(x)
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "input")
        try requireFloat(x)
        guard let axis = normalizedAxis(axis, rank: x.rank) else { throw runtimeError("axis out of range", inputs) }
        let outer = product(x.shape[..<axis]), length = x.shape[axis], inner = product(x.shape[(axis + 1)...])
        var values = x.floats
        for outerIndex in 0..<outer {
            for innerIndex in 0..<inner {
                let base = outerIndex * length * inner + innerIndex
                var norm: Float = 0
                for step in 0..<length {
                    let value = values[base + step * inner]
                    norm += p == 1 ? abs(value) : value * value
                }
                if p == 2 { norm = norm.squareRoot() }
                for step in 0..<length { values[base + step * inner] = norm == 0 ? 0 : values[base + step * inner] / norm }
            }
        }
        return [Tensor(shape: x.shape, computed: values)]
    }
}

struct MeanVarianceNormalizationOperator: Operator {
    let axes: [Int]

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        axes = try context.ints("axes") ?? [0, 2, 3]
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        try requireFloat(x, "X")
        let axes: [Int]
        do { axes = try normalizedAxes(self.axes, rank: x.rank) } catch let error as ONNXRunError {
            throw error.adding(shapes: [x.description])
        }
        let strides = contiguousStrides(x.shape)
        let keptShape = x.shape.indices.map { axes.contains($0) ? 1 : x.shape[$0] }
        let reducedShape = x.shape.indices.map { axes.contains($0) ? x.shape[$0] : 1 }
        let bases = stridedOffsets(shape: keptShape, strides: strides.indices.map { axes.contains($0) ? 0 : strides[$0] })
        let offsets = stridedOffsets(shape: reducedShape, strides: strides.indices.map { axes.contains($0) ? strides[$0] : 0 })
        var values = x.floats
        let count = Float(max(offsets.count, 1))
        for base in bases {
            var mean: Float = 0
            for offset in offsets { mean += values[base + offset] }
            mean /= count
            var variance: Float = 0
            for offset in offsets { variance += (values[base + offset] - mean) * (values[base + offset] - mean) }
            variance /= count
            let deviation = variance.squareRoot() + 1e-9
            for offset in offsets { values[base + offset] = (values[base + offset] - mean) / deviation }
        }
        return [Tensor(shape: x.shape, computed: values)]
    }
}
