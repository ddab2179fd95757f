// GlobalAveragePool, GlobalMaxPool, GlobalLpPool, MaxPool, AveragePool, LpPool: pooling over the spatial axes of
// NC... tensors.
//
// Specs: https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html, onnx__GlobalMaxPool.html,
//        https://onnx.ai/onnx/operators/onnx__MaxPool.html, onnx__AveragePool.html
// Opset history: Global*Pool 1, 22 (bfloat16) — X -> Y, any spatial rank.
// MaxPool 1, 8 (storage_order, optional Indices output), 10 (ceil_mode, dilations), 11 (auto_pad wording), 12 (int8),
// 22. AveragePool 1, 7 (count_include_pad), 10 (ceil_mode), 11, 19 (dilations), 22. LpPool 1 (p float), 2 (p int),
// 11, 18 (ceil_mode, dilations), 22; GlobalLpPool 1, 2, 22: (sum over the window of |x|^p)^(1/p), padding excluded.
// Windowed pooling works for any number of spatial axes.

import Foundation

// MARK: - Global pooling

struct GlobalPoolOperator: Operator {
    let isMaximum: Bool
    /// GlobalLpPool's p.
    let lpExponent: Float?

    init(_ context: OperatorContext, maximum: Bool, lp: Bool = false) throws {
        try context.expectInputs(1...1)
        isMaximum = maximum
        lpExponent = lp ? try context.float("p", default: 2) : nil
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
                if let p = lpExponent {
                    var sum: Float = 0
                    for index in start..<(start + planeSize) { sum += powf(abs(input[index]), p) }
                    values[plane] = powf(sum, 1 / p)
                } else if isMaximum {
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

extension GlobalPoolOperator: ChannelsLastAdaptable {
    /// GlobalAveragePool / GlobalMaxPool of an NHWC tensor read it directly; the [N, C, 1, 1] result has the same
    /// bytes in either layout, so the chain leaves channels-last here without a transform.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard lpExponent == nil, channelsLast.first == true, let input = inputs.first??.type,
              input.elementType == .float, input.shape?.count == 4 else { return nil }
        let pooling = ChannelsLastPooling(kernel: PoolingKernel(reduction: isMaximum ? .maximum : .average),
                                          window: .global)
        return ChannelsLastVariant(op: pooling, opType: isMaximum ? "GlobalMaxPoolNHWC" : "GlobalAveragePoolNHWC",
                                   channelsLastInputs: [0], outputIsChannelsLast: false)
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
    /// LpPool's p.
    let lpExponent: Float?

    init(_ context: OperatorContext, maximum: Bool, lp: Bool = false) throws {
        lpExponent = lp ? try context.float("p", default: 2) : nil
        try context.expectInputs(1...1, outputs: maximum ? 1...2 : 1...1)
        isMaximum = maximum
        window = try WindowAttributes(context)
        guard let kernelShape = window.kernelShape else { throw context.invalid("attribute 'kernel_shape' is required") }
        self.kernelShape = kernelShape
        if window.dilations != nil && !maximum && !lp && context.opset < 19 {
            throw context.invalid("AveragePool has no dilations before opset 19")
        }
        ceilMode = try context.int("ceil_mode", default: 0) != 0
        countIncludePad = try context.int("count_include_pad", default: 0) != 0
        storageOrder = try context.int("storage_order", default: 0)
        producesIndices = context.hasOutput(1)
    }

    private func geometry(_ shape: [Int]) throws -> ConvolutionGeometry {
        guard shape.count == kernelShape.count + 2 else {
            throw ONNXRunError(.invalidModel, "X \(describeShape(shape)) does not have \(kernelShape.count) spatial axes")
        }
        return try window.geometry(inputSize: Array(shape[2...]), kernelSize: kernelShape, ceilMode: ceilMode)
    }

    /// MaxPool also takes int8 and uint8 (opset 12; quantized models): the maximum is the same in float32.
    private func isEightBitMaximum(_ type: ElementType) -> Bool {
        isMaximum && (type == .int8 || type == .uint8)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        if !isEightBitMaximum(x.elementType) { try requireFloat(x, "X") }
        guard let shape = x.shape else { return [x] + (producesIndices ? [TensorType(elementType: .int64, shape: nil)] : []) }
        guard shape.count == kernelShape.count + 2 else {
            throw ONNXRunError(.invalidModel, "X \(x) does not have \(kernelShape.count) spatial axes")
        }
        let spatial = try window.inferredOutputSize(inputSize: Array(shape[2...]), kernelSize: kernelShape,
                                                    ceilMode: ceilMode)
        let outputShape = Array(shape[0..<2]) + spatial
        return [TensorType(elementType: x.elementType, shape: outputShape)]
            + (producesIndices ? [TensorType(elementType: .int64, shape: outputShape)] : [])
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        if isEightBitMaximum(x.elementType) {
            var outputs = try run([try castTensor(x, to: .float)])
            outputs[0] = try castTensor(outputs[0], to: x.elementType)
            return outputs
        }
        try requireFloat(x, "X")
        let geometry: ConvolutionGeometry
        do { geometry = try self.geometry(x.shape) } catch let error as ONNXRunError {
            throw error.adding(shapes: [x.description])
        }
        let rank = geometry.spatialRank
        let planes = x.shape[0] * x.shape[1]
        let planeSize = product(geometry.inputSize)
        let outputShape = Array(x.shape[0..<2]) + geometry.outputSize
        let count = try checkedCount(outputShape, [x])
        let outputPositions = product(geometry.outputSize)
        let taps = product(geometry.kernelSize)
        let inputStrides = contiguousStrides(geometry.inputSize)
        // Column-major strides for storage_order = 1 (the Indices output only).
        var columnStrides = [Int](repeating: 1, count: rank)
        for axis in 1..<max(rank, 1) { columnStrides[axis] = columnStrides[axis - 1] * geometry.inputSize[axis - 1] }
        // Kernel tap coordinates, row-major.
        let tapCoordinates = (0..<taps).map { tap -> [Int] in
            var remainder = tap
            return (0..<rank).reversed().map { axis -> Int in
                let coordinate = remainder % geometry.kernelSize[axis]
                remainder /= geometry.kernelSize[axis]
                return coordinate
            }.reversed()
        }
        var values = [Float](repeating: 0, count: count)
        var indices = [Int64](repeating: 0, count: producesIndices ? count : 0)
        var start = [Int](repeating: 0, count: rank)
        x.withUnsafeBufferPointer(as: Float.self) { input in
            for outputIndex in 0..<outputPositions {
                var remainder = outputIndex
                for axis in (0..<rank).reversed() {
                    let position = remainder % geometry.outputSize[axis]
                    remainder /= geometry.outputSize[axis]
                    start[axis] = position * geometry.strides[axis] - geometry.padsBegin[axis]
                }
                for plane in 0..<planes {
                    let planeStart = plane * planeSize
                    var maximum = -Float.infinity, maximumOffset = -1, maximumColumnOffset = 0
                    var sum: Float = 0, lpSum: Float = 0, validTaps = 0, paddedTaps = 0
                    tapLoop: for tap in tapCoordinates {
                        var offset = 0, columnOffset = 0, inside = true
                        for axis in 0..<rank {
                            let coordinate = start[axis] + tap[axis] * geometry.dilations[axis]
                            // Taps beyond the end padding (ceil mode) count nowhere, as in onnxruntime.
                            if coordinate >= geometry.inputSize[axis] + geometry.padsEnd[axis] { continue tapLoop }
                            if coordinate < 0 || coordinate >= geometry.inputSize[axis] { inside = false }
                            offset += coordinate * inputStrides[axis]
                            columnOffset += coordinate * columnStrides[axis]
                        }
                        paddedTaps += 1
                        guard inside else { continue }
                        let value = input[planeStart + offset]
                        validTaps += 1
                        sum += value
                        if let p = lpExponent { lpSum += powf(abs(value), p) }
                        if value > maximum || maximumOffset < 0 {
                            maximum = value
                            maximumOffset = offset
                            maximumColumnOffset = columnOffset
                        }
                    }
                    let position = plane * outputPositions + outputIndex
                    if isMaximum {
                        values[position] = maximum
                        if producesIndices {
                            indices[position] = Int64(planeStart + (storageOrder == 0 ? maximumOffset : maximumColumnOffset))
                        }
                    } else {
                        if let p = lpExponent {
                            values[position] = powf(lpSum, 1 / p)
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

extension PoolOperator: ChannelsLastAdaptable {
    /// 2-D MaxPool (without its Indices output) and AveragePool run NHWC: after a convolution the chain goes on
    /// through them; on an NCHW input the transform there still costs far less than the reference loops.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant? {
        guard lpExponent == nil, !producesIndices, kernelShape.count == 2, let input = inputs.first??.type,
              input.elementType == .float, input.shape?.count == 4 else { return nil }
        let kernel = PoolingKernel(reduction: isMaximum ? .maximum : .average, countIncludePad: countIncludePad)
        let pooling = ChannelsLastPooling(kernel: kernel,
                                          window: .sliding(window, kernelShape: kernelShape, ceilMode: ceilMode))
        return ChannelsLastVariant(op: pooling, opType: isMaximum ? "MaxPoolNHWC" : "AveragePoolNHWC",
                                   channelsLastInputs: [0], outputIsChannelsLast: true)
    }
}
