// GlobalAveragePool, GlobalMaxPool, MaxPool, AveragePool: pooling over the spatial axes of NCHW (or NCW) tensors.
//
// Specs: https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html, onnx__GlobalMaxPool.html,
//        https://onnx.ai/onnx/operators/onnx__MaxPool.html, onnx__AveragePool.html
// Opset history: Global*Pool 1, 22 (bfloat16) — X -> Y, any spatial rank.
// MaxPool 1, 8 (storage_order, optional Indices output), 10 (ceil_mode, dilations), 11 (auto_pad wording), 12 (int8),
// 22. AveragePool 1, 7 (count_include_pad), 10 (ceil_mode), 11, 19 (dilations), 22.
// Windowed pooling is implemented for 1-D and 2-D.

// MARK: - Global pooling

struct GlobalPoolOperator: Operator {
    let isMaximum: Bool

    init(_ context: OperatorContext, maximum: Bool) throws {
        try context.expectInputs(1...1)
        isMaximum = maximum
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        guard let shape = x.shape else { return [x] }
        guard shape.count >= 2 else { throw ONNXRunError(.invalidModel, "X must have rank 2 or more, is \(x)") }
        return [TensorType(elementType: .float, shape: Array(shape[0..<2]) + Array(repeating: .fixed(1), count: shape.count - 2))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        try requireFloat(x, "X")
        guard x.rank >= 2 else { throw runtimeError("X must have rank 2 or more", [x]) }
        let planes = x.shape[0] * x.shape[1]
        let planeSize = product(x.shape[2...])
        var values = [Float](repeating: 0, count: planes)
        x.withUnsafeBufferPointer(as: Float.self) { input in
            for plane in 0..<planes {
                let start = plane * planeSize
                if isMaximum {
                    var maximum = -Float.infinity
                    for index in start..<(start + planeSize) { maximum = Swift.max(maximum, input[index]) }
                    values[plane] = maximum
                } else {
                    var sum: Float = 0
                    for index in start..<(start + planeSize) { sum += input[index] }
                    values[plane] = sum / Float(planeSize)
                }
            }
        }
        return [Tensor(shape: Array(x.shape[0..<2]) + Array(repeating: 1, count: x.rank - 2), computed: values)]
    }
}

// MARK: - Windowed pooling

struct PoolOperator: Operator {
    let isMaximum: Bool
    let window: WindowAttributes
    let kernelShape: [Int]
    let ceilMode: Bool
    let countIncludePad: Bool
    /// MaxPool's Indices output: 0 = row major, 1 = column major.
    let storageOrder: Int
    let producesIndices: Bool

    init(_ context: OperatorContext, maximum: Bool) throws {
        try context.expectInputs(1...1, outputs: maximum ? 1...2 : 1...1)
        isMaximum = maximum
        window = try WindowAttributes(context)
        guard let kernelShape = window.kernelShape else { throw context.invalid("attribute 'kernel_shape' is required") }
        self.kernelShape = kernelShape
        if window.dilations != nil && !maximum && context.opset < 19 {
            throw context.invalid("AveragePool has no dilations before opset 19")
        }
        ceilMode = try context.int("ceil_mode", default: 0) != 0
        countIncludePad = try context.int("count_include_pad", default: 0) != 0
        storageOrder = try context.int("storage_order", default: 0)
        producesIndices = context.hasOutput(1)
        guard kernelShape.count <= 2 else { throw context.unsupported("only 1-D and 2-D pooling is implemented") }
    }

    private func geometry(_ shape: [Int]) throws -> ConvolutionGeometry {
        guard shape.count == kernelShape.count + 2 else {
            throw ONNXRunError(.invalidModel, "X \(describeShape(shape)) does not have \(kernelShape.count) spatial axes")
        }
        return try window.geometry(inputSize: Array(shape[2...]), kernelSize: kernelShape, ceilMode: ceilMode)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        try requireFloat(x, "X")
        guard let shape = x.shape else { return [x] + (producesIndices ? [TensorType(elementType: .int64, shape: nil)] : []) }
        guard shape.count == kernelShape.count + 2 else {
            throw ONNXRunError(.invalidModel, "X \(x) does not have \(kernelShape.count) spatial axes")
        }
        let spatial = try window.inferredOutputSize(inputSize: Array(shape[2...]), kernelSize: kernelShape,
                                                    ceilMode: ceilMode)
        let outputShape = Array(shape[0..<2]) + spatial
        return [TensorType(elementType: .float, shape: outputShape)]
            + (producesIndices ? [TensorType(elementType: .int64, shape: outputShape)] : [])
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        try requireFloat(x, "X")
        let geometry: ConvolutionGeometry
        do { geometry = try self.geometry(x.shape) } catch let error as ONNXRunError {
            throw error.adding(shapes: [x.description])
        }
        let is1D = geometry.spatialRank == 1
        let height = is1D ? 1 : geometry.inputSize[0], width = geometry.inputSize[is1D ? 0 : 1]
        let outputHeight = is1D ? 1 : geometry.outputSize[0], outputWidth = geometry.outputSize[is1D ? 0 : 1]
        let kernelHeight = is1D ? 1 : geometry.kernelSize[0], kernelWidth = geometry.kernelSize[is1D ? 0 : 1]
        let strideY = is1D ? 1 : geometry.strides[0], strideX = geometry.strides[is1D ? 0 : 1]
        let dilationY = is1D ? 1 : geometry.dilations[0], dilationX = geometry.dilations[is1D ? 0 : 1]
        let padTop = is1D ? 0 : geometry.padsBegin[0], padLeft = geometry.padsBegin[is1D ? 0 : 1]
        let padBottom = is1D ? 0 : geometry.padsEnd[0], padRight = geometry.padsEnd[is1D ? 0 : 1]
        let planes = x.shape[0] * x.shape[1]
        let outputShape = Array(x.shape[0..<2]) + geometry.outputSize
        let count = try checkedCount(outputShape, [x])
        var values = [Float](repeating: 0, count: count)
        var indices = [Int64](repeating: 0, count: producesIndices ? count : 0)
        x.withUnsafeBufferPointer(as: Float.self) { input in
            for plane in 0..<planes {
                let planeStart = plane * height * width
                for oy in 0..<outputHeight {
                    let startY = oy * strideY - padTop
                    for ox in 0..<outputWidth {
                        let startX = ox * strideX - padLeft
                        var maximum = -Float.infinity, maximumIndex = -1
                        var sum: Float = 0, validTaps = 0, paddedTaps = 0
                        for ky in 0..<kernelHeight {
                            let iy = startY + ky * dilationY
                            // Taps beyond the end padding (ceil mode) count nowhere, as in onnxruntime.
                            guard iy < height + padBottom else { break }
                            for kx in 0..<kernelWidth {
                                let ix = startX + kx * dilationX
                                guard ix < width + padRight else { break }
                                paddedTaps += 1
                                guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                let value = input[planeStart + iy * width + ix]
                                validTaps += 1
                                sum += value
                                if value > maximum || maximumIndex < 0 {
                                    maximum = value
                                    maximumIndex = storageOrder == 0 ? iy * width + ix : ix * height + iy
                                }
                            }
                        }
                        let position = (plane * outputHeight + oy) * outputWidth + ox
                        if isMaximum {
                            values[position] = maximum
                            if producesIndices { indices[position] = Int64(plane * height * width + maximumIndex) }
                        } else {
                            let divisor = countIncludePad ? paddedTaps : validTaps
                            values[position] = divisor > 0 ? sum / Float(divisor) : 0
                        }
                    }
                }
            }
        }
        return [Tensor(shape: outputShape, computed: values)]
            + (producesIndices ? [Tensor(shape: outputShape, computed: indices)] : [])
    }
}
