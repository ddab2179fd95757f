// DepthToSpace and SpaceToDepth: move blocks between the channel axis and the spatial axes of NCHW tensors.
//
// Specs: https://onnx.ai/onnx/operators/onnx__DepthToSpace.html, onnx__SpaceToDepth.html
// Opset history: DepthToSpace 1, 11 (mode DCR|CRD), 13; SpaceToDepth 1, 13. Arity: input -> output (rank 4).

struct DepthToSpaceOperator: Operator {
    let blockSize: Int
    let toSpace: Bool
    /// DepthToSpace's CRD mode (column-row-depth) instead of the default DCR.
    let columnRowDepth: Bool

    init(_ context: OperatorContext, toSpace: Bool) throws {
        try context.expectInputs(1...1)
        guard let size = try context.int("blocksize"), size >= 1 else { throw context.invalid("blocksize must be positive") }
        blockSize = size
        self.toSpace = toSpace
        let mode = try context.string("mode", default: "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw context.invalid("mode '\(mode)' is not DCR or CRD") }
        columnRowDepth = mode == "CRD"
    }

    private func outputShape(_ shape: [Int]) throws -> [Int] {
        guard shape.count == 4 else { throw ONNXRunError(.invalidModel, "input must have rank 4") }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let square = blockSize * blockSize
        if toSpace {
            guard c % square == 0 else { throw ONNXRunError(.invalidModel, "channels \(c) are not a multiple of \(square)") }
            return [n, c / square, h * blockSize, w * blockSize]
        }
        guard h % blockSize == 0, w % blockSize == 0 else {
            throw ONNXRunError(.invalidModel, "spatial size \(h)x\(w) is not a multiple of \(blockSize)")
        }
        return [n, c * square, h / blockSize, w / blockSize]
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard let shape = input.fixedShape else {
            return [TensorType(elementType: input.elementType, shape: input.shape.map { $0.map { _ in .unknown } })]
        }
        return [TensorType(elementType: input.elementType, fixedShape: try outputShape(shape))]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let input = try requiredInput(inputs, 0, "input")
        let shape: [Int]
        do { shape = try outputShape(input.shape) } catch let error as ONNXRunError {
            throw error.adding(shapes: [input.description])
        }
        let b = blockSize
        // Both are a reshape to 6-D, a transpose, and a reshape: express the transpose as strides over the input.
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let strides = contiguousStrides(input.shape)
        let walkShape: [Int], walkStrides: [Int]
        if toSpace {
            let outputChannels = c / (b * b)
            // Output order: n, c', h, b1, w, b2. Input channel = DCR: b1*b*c' + b2*c' + c'; CRD: c'*b*b + b1*b + b2.
            walkShape = [n, outputChannels, h, b, w, b]
            walkStrides = columnRowDepth
                ? [strides[0], b * b * strides[1], strides[2], b * strides[1], strides[3], strides[1]]
                : [strides[0], strides[1], strides[2], b * outputChannels * strides[1], strides[3], outputChannels * strides[1]]
        } else {
            // Output order: n, b1, b2, c, h', w' from input (n, c, h' * b + b1, w' * b + b2).
            walkShape = [n, b, b, c, h / b, w / b]
            walkStrides = [strides[0], strides[2], strides[3], strides[1], b * strides[2], b * strides[3]]
        }
        return [input.gathering(offsets: stridedOffsets(shape: walkShape, strides: walkStrides), shape: shape)]
    }
}
