// Resize: nearest, linear and cubic interpolation over any axes, with every coordinate transformation mode.
//
// Spec: https://onnx.ai/onnx/operators/onnx__Resize.html
// Opset history: 10 (X, scales; not implemented), 11 (roi, scales, sizes inputs; coordinate_transformation_mode,
// nearest_mode, cubic_coeff_a, exclude_outside, extrapolation_value), 13 (roi and scales may be ""), 18 (antialias,
// axes, keep_aspect_ratio_policy), 19 (half_pixel_symmetric).
// Arity: X, optional roi, optional scales, optional sizes -> Y. Float32.
// Follows the spec's reference implementation: each axis is a 1-D filter (taps and weights per output coordinate,
// edge-clamped), applied separably.

import Foundation

struct ResizeOperator: Operator {
    enum Mode: String { case nearest, linear, cubic }
    enum CoordinateMode: String {
        case halfPixel = "half_pixel", halfPixelSymmetric = "half_pixel_symmetric"
        case pytorchHalfPixel = "pytorch_half_pixel", alignCorners = "align_corners", asymmetric
        case tfCropAndResize = "tf_crop_and_resize"
    }
    enum NearestMode: String {
        case roundPreferFloor = "round_prefer_floor", roundPreferCeil = "round_prefer_ceil", floor, ceil
    }
    enum AspectRatioPolicy: String { case stretch, notLarger = "not_larger", notSmaller = "not_smaller" }

    let mode: Mode
    let coordinateMode: CoordinateMode
    let nearestMode: NearestMode
    let cubicCoefficient: Double
    let excludeOutside: Bool
    let extrapolationValue: Float
    let antialias: Bool
    let axes: [Int]?
    let aspectRatioPolicy: AspectRatioPolicy

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...4)
        func choice<Value: RawRepresentable<String>>(_ name: String, _ defaultValue: String) throws -> Value {
            let text = try context.string(name, default: defaultValue)
            guard let value = Value(rawValue: text) else { throw context.unsupported("\(name) '\(text)' is not supported") }
            return value
        }
        mode = try choice("mode", "nearest")
        coordinateMode = try choice("coordinate_transformation_mode", "half_pixel")
        nearestMode = try choice("nearest_mode", "round_prefer_floor")
        aspectRatioPolicy = try choice("keep_aspect_ratio_policy", "stretch")
        cubicCoefficient = Double(try context.float("cubic_coeff_a", default: -0.75))
        excludeOutside = try context.int("exclude_outside", default: 0) != 0
        extrapolationValue = try context.float("extrapolation_value", default: 0)
        antialias = try context.int("antialias", default: 0) != 0
        axes = try context.ints("axes")
    }

    // MARK: Output size

    struct Layout {
        var outputShape: [Int]
        /// Per axis: the scale the coordinate transformation uses.
        var scales: [Double]
        /// Per axis: the normalized crop (tf_crop_and_resize).
        var roiStart: [Double]
        var roiEnd: [Double]
    }

    func layout(_ shape: [Int], roi: [Double]?, scales: [Double]?, sizes: [Int]?) throws -> Layout {
        let rank = shape.count
        let axes = try normalizedAxes(self.axes ?? Array(0..<rank), rank: rank)
        var layout = Layout(outputShape: shape, scales: Array(repeating: 1, count: rank),
                            roiStart: Array(repeating: 0, count: rank), roiEnd: Array(repeating: 1, count: rank))
        if let roi, coordinateMode == .tfCropAndResize {
            guard roi.count == 2 * axes.count else {
                throw ONNXRunError(.invalidModel, "roi has \(roi.count) values, needs \(2 * axes.count)")
            }
            for (position, axis) in axes.enumerated() {
                layout.roiStart[axis] = roi[position]
                layout.roiEnd[axis] = roi[axes.count + position]
            }
        }
        if let sizes {
            guard sizes.count == axes.count, sizes.allSatisfy({ $0 >= 0 }) else {
                throw ONNXRunError(.invalidModel, "sizes \(sizes) need one non-negative value per resized axis")
            }
            var common: Double?
            if aspectRatioPolicy != .stretch {
                let ratios = axes.indices.map { Double(sizes[$0]) / Double(max(shape[axes[$0]], 1)) }
                common = aspectRatioPolicy == .notLarger ? ratios.min() : ratios.max()
            }
            for (position, axis) in axes.enumerated() {
                if let common {
                    layout.scales[axis] = common
                    layout.outputShape[axis] = Int((common * Double(shape[axis]) + 0.5).rounded(.down))
                } else {
                    layout.scales[axis] = Double(sizes[position]) / Double(max(shape[axis], 1))
                    layout.outputShape[axis] = sizes[position]
                }
            }
        } else if let scales {
            guard scales.count == axes.count, scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ONNXRunError(.invalidModel, "scales \(scales) need one positive value per resized axis")
            }
            for (position, axis) in axes.enumerated() {
                layout.scales[axis] = scales[position]
                let crop = coordinateMode == .tfCropAndResize ? layout.roiEnd[axis] - layout.roiStart[axis] : 1
                let size = (Double(shape[axis]) * crop * scales[position]).rounded(.down)
                guard size >= 0, size <= Double(maximumComputedElementCount) else {
                    throw ONNXRunError(.invalidModel, "scales \(scales) give an output too large")
                }
                layout.outputShape[axis] = Int(size)
            }
        } else {
            throw ONNXRunError(.invalidModel, "one of scales and sizes is required")
        }
        return layout
    }

    /// roi, scales and sizes from the inputs ("" or empty tensors count as absent).
    func parameters(_ inputs: [Tensor?]) throws -> (roi: [Double]?, scales: [Double]?, sizes: [Int]?) {
        func doubles(_ tensor: Tensor?) -> [Double]? {
            guard let tensor, tensor.elementCount > 0 else { return nil }
            return (0..<tensor.elementCount).map { tensor.doubleValue(at: $0) ?? .nan }
        }
        let sizesTensor = optionalInput(inputs, 3)
        let sizes = sizesTensor.flatMap { $0.elementCount > 0 ? $0.integers : nil }
        let scales = doubles(optionalInput(inputs, 2))
        if sizes != nil && scales != nil { throw ONNXRunError(.invalidModel, "scales and sizes are both given") }
        return (doubles(optionalInput(inputs, 1)), scales, sizes)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        guard let shape = x.fixedShape else {
            return [TensorType(elementType: .float, shape: x.shape.map { $0.map { _ in .unknown } })]
        }
        var constants: [Tensor?] = [nil]
        for index in 1...3 {
            guard let value = optionalInput(inputs, index) else { constants.append(nil); continue }
            guard let constant = value.constant else {
                return [TensorType(elementType: .float, shape: shape.map { _ in .unknown })]
            }
            constants.append(constant)
        }
        let (roi, scales, sizes) = try parameters(constants)
        return [TensorType(elementType: .float, fixedShape: try layout(shape, roi: roi, scales: scales, sizes: sizes).outputShape)]
    }

    // MARK: One-dimensional filters

    /// Taps (input index, weight) for one output coordinate, or nil when it lies outside the crop (extrapolated).
    func taps(output: Int, inputLength: Int, outputLength: Int, scale: Double, roiStart: Double,
                      roiEnd: Double) -> [(index: Int, weight: Double)]? {
        let x = Double(output), inLength = Double(inputLength), outLength = Double(outputLength)
        let original: Double
        switch coordinateMode {
        case .halfPixel: original = (x + 0.5) / scale - 0.5
        case .halfPixelSymmetric:
            let adjustment = outLength / (scale * inLength)
            let center = inLength / 2
            original = center * (1 - adjustment) + (x + 0.5) / scale - 0.5
        case .pytorchHalfPixel: original = outputLength > 1 ? (x + 0.5) / scale - 0.5 : 0
        // The reference divides by the unrounded output length, input * scale.
        case .alignCorners:
            let scaledLength = inLength * scale
            original = scaledLength == 1 ? 0 : x * (inLength - 1) / (scaledLength - 1)
        case .asymmetric: original = x / scale
        case .tfCropAndResize:
            original = outputLength > 1
                ? roiStart * (inLength - 1) + x * (roiEnd - roiStart) * (inLength - 1) / (outLength - 1)
                : 0.5 * (roiStart + roiEnd) * (inLength - 1)
            if original < 0 || original > inLength - 1 { return nil }
        }
        // Degenerate scales from a file must not reach the integer conversions below.
        guard original.isFinite, abs(original) < 1e15 else { return [] }
        // The reference prefers the pixel left of the coordinate: ratio is in (0, 1].
        let base = original == original.rounded(.down) ? Int(original) - 1 : Int(original.rounded(.down))
        let ratio = original - Double(base)
        var offsets: [Int]
        var weights: [Double]
        switch mode {
        case .nearest:
            offsets = [0, 1]
            let ceilWins: Bool
            if ratio == 1 { ceilWins = true } else {
                switch nearestMode {
                case .roundPreferFloor: ceilWins = ratio > 0.5
                case .roundPreferCeil: ceilWins = ratio >= 0.5
                case .floor: ceilWins = false
                case .ceil: ceilWins = true
                }
            }
            weights = ceilWins ? [0, 1] : [1, 0]
        case .linear:
            if antialias && scale < 1 {
                let start = Int((-1 / scale).rounded(.down)) + 1
                offsets = Array(start..<(start + 2 - 2 * start))
                weights = offsets.map { Swift.max(0, Swift.min(1, 1 - abs((Double($0) - ratio) * scale))) }
            } else {
                offsets = [0, 1]
                weights = [1 - ratio, ratio]
            }
        case .cubic:
            if antialias && scale < 1 {
                let start = Int((-2 / scale).rounded(.down)) + 1
                offsets = Array(start..<(2 - start))
                weights = offsets.map { cubicKernel(scale * (Double($0) - ratio)) }
            } else {
                offsets = [-1, 0, 1, 2]
                weights = offsets.map { cubicKernel(Double($0) - ratio) }
            }
        }
        var result: [(index: Int, weight: Double)] = []
        for (offset, weight) in zip(offsets, weights) {
            let index = base + offset
            if excludeOutside && (index < 0 || index >= inputLength) { continue }
            // Edge clamping, as the reference pads with the edge values.
            result.append((Swift.min(Swift.max(index, 0), inputLength - 1), weight))
        }
        if antialias || excludeOutside {
            let sum = result.reduce(0) { $0 + $1.weight }
            if sum != 0 { result = result.map { ($0.index, $0.weight / sum) } }
        }
        return result.filter { $0.weight != 0 }
    }

    /// The cubic convolution kernel with coefficient A at distance `x`.
    private func cubicKernel(_ x: Double) -> Double {
        let a = cubicCoefficient, distance = abs(x)
        if distance <= 1 { return ((a + 2) * distance - (a + 3)) * distance * distance + 1 }
        if distance < 2 { return ((a * distance - 5 * a) * distance + 8 * a) * distance - 4 * a }
        return 0
    }

    // MARK: Kernel

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        try requireFloat(x, "X")
        let layout: Layout
        do {
            let (roi, scales, sizes) = try parameters(inputs)
            layout = try self.layout(x.shape, roi: roi, scales: scales, sizes: sizes)
        } catch let error as ONNXRunError {
            throw error.adding(shapes: inputs.map { $0?.description ?? "absent" })
        }
        let rank = x.rank
        let count = try checkedCount(layout.outputShape, inputs)
        guard x.elementCount > 0 || count == 0 else { throw runtimeError("cannot resize an empty tensor", inputs) }
        // Per axis, per output coordinate: its taps (nil: extrapolated).
        let axisTaps = (0..<rank).map { axis in
            (0..<layout.outputShape[axis]).map { output in
                taps(output: output, inputLength: x.shape[axis], outputLength: layout.outputShape[axis],
                     scale: layout.scales[axis], roiStart: layout.roiStart[axis], roiEnd: layout.roiEnd[axis])
            }
        }
        let strides = contiguousStrides(x.shape)
        var values = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        x.withUnsafeBufferPointer(as: Float.self) { input in
            for position in 0..<count {
                let selected = (0..<rank).map { axisTaps[$0][index[$0]] }
                if selected.contains(where: { $0 == nil }) {
                    values[position] = extrapolationValue
                } else if selected.contains(where: { $0!.isEmpty }) {
                    values[position] = 0
                } else {
                    let lists = selected.map { $0! }
                    // Sum over every combination of one tap per axis, weights multiplied.
                    var sum: Double = 0
                    var choice = [Int](repeating: 0, count: rank)
                    combinations: while true {
                        var weight: Double = 1, offset = 0
                        for axis in 0..<rank {
                            let tap = lists[axis][choice[axis]]
                            weight *= tap.weight
                            offset += tap.index * strides[axis]
                        }
                        sum += weight * Double(input[offset])
                        var axis = rank - 1
                        while axis >= 0 {
                            choice[axis] += 1
                            if choice[axis] < lists[axis].count { continue combinations }
                            choice[axis] = 0
                            axis -= 1
                        }
                        break
                    }
                    values[position] = Float(sum)
                }
                var axis = rank - 1
                while axis >= 0 {
                    index[axis] += 1
                    if index[axis] < layout.outputShape[axis] { break }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        return [Tensor(shape: layout.outputShape, computed: values)]
    }
}

// MARK: - Optimizer hooks

extension ResizeOperator: ConstantInputPacking {
    /// Nearest or linear (no antialias) resizing of the two spatial axes of a 4-D float tensor by constant scales or
    /// sizes, in any coordinate mode but tf_crop_and_resize: the fast kernel, which also has an NHWC variant.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard mode != .cubic, !antialias, !excludeOutside, coordinateMode != .tfCropAndResize,
              aspectRatioPolicy == .stretch, let x = inputs.first??.type, x.elementType == .float,
              x.shape?.count == 4 else { return nil }
        var constants: [Tensor?] = [nil]
        for index in 1..<max(inputs.count, 1) {
            guard let value = inputs[index] else { constants.append(nil); continue }
            guard let constant = value.constant else { return nil }
            constants.append(constant)
        }
        guard let (_, scales, sizes) = try? parameters(constants) else { return nil }
        let axes = (try? normalizedAxes(self.axes ?? [0, 1, 2, 3], rank: 4)) ?? []
        // Batch and channel axes must stay as they are (scale 1, or their own fixed size).
        guard (scales?.count ?? sizes?.count) == axes.count, let shape = x.shape else { return nil }
        for (position, axis) in axes.enumerated() where axis < 2 {
            if let scales, scales[position] != 1 { return nil }
            if let sizes, shape[axis].value != sizes[position] { return nil }
        }
        let resize = FastResize(resize: self, scales: scales, sizes: sizes)
        return PackedOperator(op: resize, opType: "FastResize", remainingInputs: [0])
    }
}
