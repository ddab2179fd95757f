// Sliding-window geometry shared by Conv, MaxPool, AveragePool and the fast kernels: output sizes and resolved pads.

/// How ONNX `auto_pad` chooses the pads of a sliding window.
enum AutoPad: String, Sendable {
    /// Explicit `pads` (default).
    case notSet = "NOTSET"
    /// No padding; the window stays inside the input.
    case valid = "VALID"
    /// Output size ceil(input / stride); an odd total pad puts the extra element at the end.
    case sameUpper = "SAME_UPPER"
    /// As SAME_UPPER, with the extra element at the beginning.
    case sameLower = "SAME_LOWER"

    init(_ context: OperatorContext) throws {
        let text = try context.string("auto_pad", default: "NOTSET")
        guard let value = AutoPad(rawValue: text) else {
            throw context.invalid("auto_pad '\(text)' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        }
        self = value
    }
}

/// The geometry of a sliding window over the spatial axes: per axis, input, kernel, stride, dilation, the resolved
/// begin/end pads and the output size.
struct ConvolutionGeometry: Sendable, Hashable, CustomStringConvertible {
    let inputSize: [Int]
    let kernelSize: [Int]
    let strides: [Int]
    let dilations: [Int]
    /// Pads before the first element of each spatial axis, after resolving `auto_pad`.
    let padsBegin: [Int]
    /// Pads after the last element of each spatial axis, after resolving `auto_pad`.
    let padsEnd: [Int]
    let outputSize: [Int]

    var spatialRank: Int { inputSize.count }

    /// `(kernel - 1) * dilation + 1` per axis: the extent one window covers.
    var effectiveKernelSize: [Int] {
        (0..<spatialRank).map { (kernelSize[$0] - 1) * dilations[$0] + 1 }
    }

    /// - Parameters:
    ///   - strides, dilations: one per spatial axis; nil means all 1.
    ///   - pads: ONNX layout `[begin_0, begin_1, ..., end_0, end_1, ...]`; nil means all 0. Ignored unless NOTSET.
    ///   - ceilMode: pooling's `ceil_mode`: round the output size up (a window must still start inside the
    ///     input or its begin padding, as onnxruntime does).
    init(inputSize: [Int], kernelSize: [Int], strides: [Int]? = nil, dilations: [Int]? = nil,
                pads: [Int]? = nil, autoPad: AutoPad = .notSet, ceilMode: Bool = false) throws {
        let rank = inputSize.count
        let strides = strides ?? [Int](repeating: 1, count: rank)
        let dilations = dilations ?? [Int](repeating: 1, count: rank)
        let pads = pads ?? [Int](repeating: 0, count: 2 * rank)
        guard kernelSize.count == rank, strides.count == rank, dilations.count == rank, pads.count == 2 * rank else {
            throw ONNXRunError(.invalidModel,
                               "window attributes do not match \(rank) spatial axes: kernel \(kernelSize), "
                                   + "strides \(strides), dilations \(dilations), pads \(pads)")
        }
        guard kernelSize.allSatisfy({ $0 >= 1 }), strides.allSatisfy({ $0 >= 1 }),
              dilations.allSatisfy({ $0 >= 1 }), pads.allSatisfy({ $0 >= 0 }), inputSize.allSatisfy({ $0 >= 0 })
        else {
            throw ONNXRunError(.invalidModel,
                               "kernel \(kernelSize), strides \(strides) and dilations \(dilations) must be "
                                   + "positive and pads \(pads) non-negative")
        }
        var padsBegin = [Int](repeating: 0, count: rank)
        var padsEnd = [Int](repeating: 0, count: rank)
        var outputSize = [Int](repeating: 0, count: rank)
        for axis in 0..<rank {
            let extent = (kernelSize[axis] - 1) * dilations[axis] + 1
            let input = inputSize[axis]
            let stride = strides[axis]
            switch autoPad {
            case .notSet, .valid:
                if autoPad == .notSet {
                    padsBegin[axis] = pads[axis]
                    padsEnd[axis] = pads[rank + axis]
                }
                let span = input + padsBegin[axis] + padsEnd[axis] - extent
                guard span >= 0 else {
                    throw ONNXRunError(.invalidModel,
                                       "window of extent \(extent) does not fit input size \(input) with pads "
                                           + "\(padsBegin[axis])+\(padsEnd[axis]) on spatial axis \(axis)")
                }
                var size = span / stride + 1
                if ceilMode && span % stride != 0 {
                    size += 1
                    // The last window must start inside the input or its begin padding.
                    if (size - 1) * stride >= input + padsBegin[axis] { size -= 1 }
                }
                outputSize[axis] = size
            case .sameUpper, .sameLower:
                let size = (input + stride - 1) / stride
                let total = max(0, (size - 1) * stride + extent - input)
                let smaller = total / 2
                padsBegin[axis] = autoPad == .sameUpper ? smaller : total - smaller
                padsEnd[axis] = total - padsBegin[axis]
                outputSize[axis] = size
            }
        }
        self.inputSize = inputSize
        self.kernelSize = kernelSize
        self.strides = strides
        self.dilations = dilations
        self.padsBegin = padsBegin
        self.padsEnd = padsEnd
        self.outputSize = outputSize
    }

    /// For output position `output` on `axis`: the kernel taps `k` whose input position
    /// `output * stride - padBegin + k * dilation` lies inside the input. Lets loops run without bounds checks.
    func validKernelRange(axis: Int, output: Int) -> Range<Int> {
        let start = output * strides[axis] - padsBegin[axis]
        let dilation = dilations[axis]
        // Smallest k with start + k*d >= 0, largest k with start + k*d < input.
        let first = start >= 0 ? 0 : (-start + dilation - 1) / dilation
        let limit = inputSize[axis] - start
        let last = limit <= 0 ? 0 : min(kernelSize[axis], (limit + dilation - 1) / dilation)
        return first < last ? first..<last : first..<first
    }

    /// For kernel tap `tap` on `axis`: the output positions `o` whose input position
    /// `o * stride - padBegin + tap * dilation` lies inside the input.
    func validOutputRange(axis: Int, tap: Int) -> Range<Int> {
        let shift = tap * dilations[axis] - padsBegin[axis]
        let stride = strides[axis]
        // Smallest o with o*s + shift >= 0; first o with o*s + shift >= input.
        func firstAtLeast(_ bound: Int) -> Int {
            let needed = bound - shift
            return needed <= 0 ? 0 : (needed + stride - 1) / stride
        }
        let lower = min(firstAtLeast(0), outputSize[axis])
        let upper = min(firstAtLeast(inputSize[axis]), outputSize[axis])
        return lower < upper ? lower..<upper : lower..<lower
    }

    var description: String {
        "input \(inputSize) kernel \(kernelSize) strides \(strides) dilations \(dilations) "
            + "pads \(padsBegin)+\(padsEnd) -> output \(outputSize)"
    }
}

// MARK: - Reading the window attributes of a node

/// The attributes Conv, ConvTranspose and the pooling operators share, read once in the builder.
struct WindowAttributes: Sendable {
    var kernelShape: [Int]?
    var strides: [Int]?
    var dilations: [Int]?
    var pads: [Int]?
    var autoPad: AutoPad

    init(_ context: OperatorContext) throws {
        kernelShape = try context.ints("kernel_shape")
        strides = try context.ints("strides")
        dilations = try context.ints("dilations")
        pads = try context.ints("pads")
        autoPad = try AutoPad(context)
        if let kernelShape, kernelShape.contains(where: { $0 < 1 }) {
            throw context.invalid("kernel_shape \(kernelShape) must be positive")
        }
        if let strides, strides.contains(where: { $0 < 1 }) {
            throw context.invalid("strides \(strides) must be positive")
        }
        if let dilations, dilations.contains(where: { $0 < 1 }) {
            throw context.invalid("dilations \(dilations) must be positive")
        }
        if let pads, pads.contains(where: { $0 < 0 }) {
            throw context.invalid("pads \(pads) must be non-negative")
        }
        // Sizes beyond 2^31 are not images; rejecting them keeps the window arithmetic free of overflow.
        for (name, values) in [("kernel_shape", kernelShape), ("strides", strides), ("dilations", dilations), ("pads", pads)] {
            if let values, values.contains(where: { $0 > Int(Int32.max) }) {
                throw context.invalid("\(name) \(values) has a value above 2^31")
            }
        }
        if let pads, pads.count % 2 != 0 {
            throw context.invalid("pads \(pads) must have a begin and an end per spatial axis")
        }
        // Every per-axis attribute must agree on the number of spatial axes.
        let ranks = [kernelShape?.count, strides?.count, dilations?.count, pads.map { $0.count / 2 }].compactMap { $0 }
        if let first = ranks.first, ranks.contains(where: { $0 != first }) {
            throw context.invalid("kernel_shape \(kernelShape ?? []), strides \(strides ?? []), dilations "
                                      + "\(dilations ?? []) and pads \(pads ?? []) disagree on the number of spatial axes")
        }
    }

    /// The geometry for one input's spatial size.
    func geometry(inputSize: [Int], kernelSize: [Int], ceilMode: Bool = false) throws -> ConvolutionGeometry {
        try ConvolutionGeometry(inputSize: inputSize, kernelSize: kernelSize, strides: strides, dilations: dilations,
                                pads: pads, autoPad: autoPad, ceilMode: ceilMode)
    }

    /// Output spatial dimensions from possibly symbolic input dimensions (unknown where the input is not fixed).
    func inferredOutputSize(inputSize: [Dimension], kernelSize: [Int], ceilMode: Bool = false) throws -> [Dimension] {
        let fixed = inputSize.compactMap(\.value)
        if fixed.count == inputSize.count {
            return try geometry(inputSize: fixed, kernelSize: kernelSize, ceilMode: ceilMode).outputSize.map { .fixed($0) }
        }
        return [Dimension](repeating: .unknown, count: inputSize.count)
    }
}
