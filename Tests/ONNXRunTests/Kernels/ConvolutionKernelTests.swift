// Depthwise and general NHWC convolution kernels against the ONNX Conv definition (NCHW), at every ISA level.

import XCTest

@testable import ONNXRun

final class ConvolutionKernelTests: XCTestCase {
    /// Output size from the ONNX formula with explicit begin/end pads.
    private func shape(batch: Int = 1, height: Int, width: Int, channels: Int, outputChannels: Int? = nil,
                       kernel: (Int, Int), stride: (Int, Int) = (1, 1), dilation: (Int, Int) = (1, 1),
                       pads: (top: Int, left: Int, bottom: Int, right: Int), groups: Int) -> ConvolutionShape {
        let outputHeight = (height + pads.top + pads.bottom - ((kernel.0 - 1) * dilation.0 + 1)) / stride.0 + 1
        let outputWidth = (width + pads.left + pads.right - ((kernel.1 - 1) * dilation.1 + 1)) / stride.1 + 1
        return ConvolutionShape(
            batch: batch, inputHeight: height, inputWidth: width, inputChannels: channels,
            outputHeight: outputHeight, outputWidth: outputWidth, outputChannels: outputChannels ?? channels,
            kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: stride.0, strideWidth: stride.1,
            dilationHeight: dilation.0, dilationWidth: dilation.1, padTop: pads.top, padLeft: pads.left,
            groups: groups)
    }

    private struct Data {
        var inputNCHW: [Float], weights: [Float], bias: [Float]?, residualNHWC: [Float]?
        var expected: [Double], magnitudes: [Double]
    }

    private func makeData(_ shape: ConvolutionShape, seed: UInt64, bias: Bool, residual: Bool, activation: Activation)
        -> Data
    {
        var random = SeededValues(seed: seed)
        let input = random.array(shape.inputElementCount)
        let weights = random.array(shape.outputChannels * (shape.inputChannels / shape.groups) * shape.kernelHeight
            * shape.kernelWidth)
        let biasValues = bias ? random.array(shape.outputChannels) : nil
        let residualValues = residual ? random.array(shape.outputElementCount) : nil
        let reference = referenceConvolutionNCHW(input: input, weights: weights, bias: biasValues, shape: shape)
        let expected = referenceEpilogue(
            channelsLast(reference.values, batch: shape.batch, channels: shape.outputChannels,
                         height: shape.outputHeight, width: shape.outputWidth),
            residual: residualValues, activation: activation)
        let magnitudes = channelsLast(reference.magnitudes, batch: shape.batch, channels: shape.outputChannels,
                                      height: shape.outputHeight, width: shape.outputWidth)
        return Data(inputNCHW: input, weights: weights, bias: biasValues, residualNHWC: residualValues,
                    expected: expected, magnitudes: magnitudes)
    }

    /// The NHWC input, output and residual of `data`, guarded against writes past their ends.
    private func guardedBuffers(_ data: Data, _ shape: ConvolutionShape)
        -> (input: GuardedBuffer, output: GuardedBuffer, residual: GuardedBuffer?)
    {
        (GuardedBuffer(channelsLast(data.inputNCHW, batch: shape.batch, channels: shape.inputChannels,
                                    height: shape.inputHeight, width: shape.inputWidth)),
         GuardedBuffer(count: shape.outputElementCount), data.residualNHWC.map { GuardedBuffer($0) })
    }

    // MARK: - Depthwise

    private func checkDepthwise(_ shape: ConvolutionShape, seed: UInt64, bias: Bool = true, residual: Bool = false,
                                activation: Activation = .none, level: KernelInstructionSet) throws {
        let data = makeData(shape, seed: seed, bias: bias, residual: residual, activation: activation)
        let kernel = try DepthwiseConvolutionKernel.packing(
            weights: data.weights, bias: data.bias, channels: shape.inputChannels,
            kernelHeight: shape.kernelHeight, kernelWidth: shape.kernelWidth)
        XCTAssertTrue(kernel.accepts(shape))
        let (input, output, residualBuffer) = guardedBuffers(data, shape)
        // Rows in uneven pieces, as a thread pool would split them.
        let rowCount = shape.outputRowCount
        var begin = 0
        for piece in [1, 2, 3, rowCount] {
            let end = min(rowCount, begin + piece)
            kernel.run(shape: shape, input: input.pointer, output: output.pointer,
                       residual: residualBuffer.map { UnsafePointer($0.pointer) }, activation: activation, rows: begin..<end,
                       using: level)
            begin = end
        }
        output.assertGuardIntact()
        assertClose(output.values, data.expected, scale: data.magnitudes, "depthwise \(shape) at \(level)")
    }

    func testDepthwiseAwkwardShapesAtEveryLevel() throws {
        try forEachInstructionSet { level in
            var seed: UInt64 = 1
            func next() -> UInt64 { seed += 1; return seed }
            for channels in [3, 17, 24, 33, 101] {
                // 3x3 stride 1, symmetric pads; wide enough for 8-pixel blocks plus remainders.
                try checkDepthwise(shape(height: 6, width: 21, channels: channels, kernel: (3, 3),
                                         pads: (1, 1, 1, 1), groups: channels), seed: next(), level: level)
                // 3x3 stride 2 on odd sizes, asymmetric (TF "SAME") pads, clamp, residual.
                try checkDepthwise(shape(height: 9, width: 15, channels: channels, kernel: (3, 3), stride: (2, 2),
                                         pads: (0, 0, 1, 1), groups: channels),
                                   seed: next(), residual: true, activation: .clamp(ClampBounds(minimum: 0, maximum: 0.6)),
                                   level: level)
            }
            // The activations other than a clamp, applied in the store, on a tail tile and full tiles.
            for (index, activation) in testedActivations.enumerated() {
                try checkDepthwise(shape(height: 5, width: 11, channels: 37, kernel: (3, 3), stride: (1, 2),
                                         pads: (1, 1, 1, 1), groups: 37),
                                   seed: next(), residual: index % 2 == 0, activation: activation, level: level)
            }
            // More than one outer group of 8 channel tiles (128 channels), with a tail tile.
            try checkDepthwise(shape(height: 7, width: 13, channels: 150, kernel: (3, 3), stride: (2, 2),
                                     pads: (1, 1, 1, 1), groups: 150), seed: next(), residual: true, level: level)
            try checkDepthwise(shape(height: 5, width: 14, channels: 272, kernel: (3, 3),
                                     pads: (1, 1, 1, 1), groups: 272), seed: next(), level: level)
            // 5x5 stride 1 and 2 (EfficientNet-Lite0), asymmetric pads, batch 2.
            try checkDepthwise(shape(batch: 2, height: 11, width: 13, channels: 40, kernel: (5, 5),
                                     pads: (2, 2, 2, 2), groups: 40), seed: next(), level: level)
            try checkDepthwise(shape(height: 14, width: 14, channels: 24, kernel: (5, 5), stride: (2, 2),
                                     pads: (1, 1, 2, 2), groups: 24), seed: next(), residual: true, level: level)
            // Stride-2 rows in pairs (3x3, 5x5): batch 2 without top and bottom pads, 7 output rows (the last row
            // of image 0 and the first of image 1 are whole rows in one call, not a pair), a tail tile past the
            // 128-channel group, residual and an activation on both rows.
            try checkDepthwise(shape(batch: 2, height: 15, width: 37, channels: 150, kernel: (3, 3), stride: (2, 2),
                                     pads: (0, 1, 0, 1), groups: 150),
                               seed: next(), residual: true, activation: testedActivations[1], level: level)
            try checkDepthwise(shape(batch: 2, height: 17, width: 40, channels: 33, kernel: (5, 5), stride: (2, 2),
                                     pads: (0, 2, 0, 2), groups: 33), seed: next(), residual: true, level: level)
            // No padding, tall narrow image, and an image smaller than the kernel (only edge pixels).
            try checkDepthwise(shape(height: 12, width: 5, channels: 16, kernel: (3, 3), pads: (0, 0, 0, 0),
                                     groups: 16), seed: next(), bias: false, level: level)
            try checkDepthwise(shape(height: 2, width: 3, channels: 19, kernel: (5, 5), pads: (2, 2, 2, 2),
                                     groups: 19), seed: next(), level: level)
            // Other kernel sizes and dilation go through the general-width path.
            try checkDepthwise(shape(height: 10, width: 17, channels: 20, kernel: (3, 7), stride: (1, 2),
                                     dilation: (2, 1), pads: (2, 3, 1, 0), groups: 20), seed: next(), level: level)
            try checkDepthwise(shape(height: 8, width: 8, channels: 32, kernel: (1, 1), pads: (0, 0, 0, 0),
                                     groups: 32), seed: next(), level: level)
            try checkDepthwise(shape(height: 9, width: 30, channels: 48, kernel: (3, 3), dilation: (2, 2),
                                     pads: (2, 2, 2, 2), groups: 48), seed: next(), residual: true, level: level)
        }
    }

    func testDepthwiseEveryRowWidth() throws {
        // Widths 1...19 cover every split of a row into border pixels, 8-pixel blocks and 1-7 pixel rests.
        try forEachInstructionSet { level in
            for width in 1...19 {
                try checkDepthwise(shape(height: 3, width: width, channels: 40, kernel: (3, 3), pads: (1, 1, 1, 1),
                                         groups: 40), seed: UInt64(100 + width), level: level)
                try checkDepthwise(shape(height: 4, width: width, channels: 18, kernel: (5, 5), stride: (1, 2),
                                         pads: (2, 2, 2, 2), groups: 18),
                                   seed: UInt64(200 + width), residual: true, level: level)
                // Stride 2 (output widths 1...19 from odd and even input widths), 5x5 at stride 1, and a dilated
                // 3x3 whose columns are not dilated: the kernels that load each input column once per kernel row.
                try checkDepthwise(shape(height: 5, width: 2 * width + width % 2, channels: 21, kernel: (3, 3),
                                         stride: (2, 2), pads: (1, 1, 1, 1), groups: 21),
                                   seed: UInt64(300 + width), level: level)
                // Tall enough for stride-2 pairs of rows (every rest of 1-7 pixels in pairs), a tail tile.
                try checkDepthwise(shape(height: 11, width: 2 * width + 1, channels: 21, kernel: (3, 3),
                                         stride: (2, 2), pads: (1, 1, 1, 1), groups: 21),
                                   seed: UInt64(600 + width), residual: true, level: level)
                try checkDepthwise(shape(height: 13, width: 2 * width + 3, channels: 18, kernel: (5, 5),
                                         stride: (2, 2), pads: (2, 2, 2, 2), groups: 18),
                                   seed: UInt64(700 + width), level: level)
                try checkDepthwise(shape(height: 4, width: width, channels: 18, kernel: (5, 5), pads: (2, 2, 2, 2),
                                         groups: 18), seed: UInt64(400 + width), residual: true, level: level)
                try checkDepthwise(shape(height: 6, width: width, channels: 35, kernel: (3, 3), dilation: (2, 1),
                                         pads: (2, 1, 2, 1), groups: 35), seed: UInt64(500 + width), level: level)
            }
        }
    }

    func testDepthwiseRejectsBadWeights() {
        XCTAssertThrowsError(try DepthwiseConvolutionKernel.packing(weights: [Float](repeating: 0, count: 8),
                                                                    channels: 1, kernelHeight: 3, kernelWidth: 3))
        XCTAssertThrowsError(try DepthwiseConvolutionKernel.packing(weights: [Float](repeating: 0, count: 65),
                                                                    channels: 1, kernelHeight: 65, kernelWidth: 1))
    }

    // MARK: - General convolution

    private func checkConvolution(_ shape: ConvolutionShape, seed: UInt64, bias: Bool = true, residual: Bool = false,
                                  activation: Activation = .none, level: KernelInstructionSet) throws {
        let data = makeData(shape, seed: seed, bias: bias, residual: residual, activation: activation)
        let kernel = try ConvolutionKernel.packing(
            weights: data.weights, bias: data.bias, outputChannels: shape.outputChannels,
            inputChannelsPerGroup: shape.inputChannels / shape.groups, kernelHeight: shape.kernelHeight,
            kernelWidth: shape.kernelWidth, groups: shape.groups)
        XCTAssertTrue(kernel.accepts(shape))
        let (input, output, residualBuffer) = guardedBuffers(data, shape)
        let scratch = GuardedBuffer(count: kernel.scratchCount(for: shape))
        let pixelCount = shape.outputPixelCount
        // A split that is not a multiple of the kernel's pixel step.
        let split = min(pixelCount, 101)
        // Dense, and into a channel window of wider rows (a Concat's buffer).
        let windowed = WindowedOutput(pixels: pixelCount, channels: shape.outputChannels)
        var windowShape = shape
        windowShape.outputPixelStride = windowed.rowStride
        for (shape, output) in [(shape, output.pointer), (windowShape, windowed.pointer)] {
            for pixels in [0..<split, split..<pixelCount] {
                kernel.run(shape: shape, input: input.pointer, output: output,
                           residual: residualBuffer.map { UnsafePointer($0.pointer) }, activation: activation,
                           pixels: pixels, scratch: scratch.pointer, using: level)
            }
        }
        output.assertGuardIntact()
        scratch.assertGuardIntact()
        assertClose(output.values, data.expected, scale: data.magnitudes, "convolution \(shape) at \(level)")
        assertClose(windowed.values(), data.expected, scale: data.magnitudes,
                    "convolution \(shape) into a window at \(level)")
    }

    func testConvolutionAwkwardShapesAtEveryLevel() throws {
        try forEachInstructionSet { level in
            // The MobileNetV2 stem (3 -> 32, 3x3 stride 2, pads 1) on an odd size, Relu6.
            try checkConvolution(shape(height: 17, width: 15, channels: 3, outputChannels: 32, kernel: (3, 3),
                                       stride: (2, 2), pads: (1, 1, 1, 1), groups: 1),
                                 seed: 1, activation: .clamp(ClampBounds(minimum: 0, maximum: 6)), level: level)
            // EfficientNet stem with TF "SAME" pads (0, 0, 1, 1), batch 2.
            try checkConvolution(shape(batch: 2, height: 12, width: 12, channels: 3, outputChannels: 33,
                                       kernel: (3, 3), stride: (2, 2), pads: (0, 0, 1, 1), groups: 1),
                                 seed: 2, level: level)
            // Grouped 3x3 with dilation, residual.
            try checkConvolution(shape(height: 9, width: 11, channels: 12, outputChannels: 20, kernel: (3, 3),
                                       dilation: (2, 2), pads: (2, 1, 2, 3), groups: 4),
                                 seed: 3, residual: true, level: level)
            // 1x1 with stride 2 (im2col path) and 1x1 grouped without stride (in-place GEMM path).
            try checkConvolution(shape(height: 9, width: 7, channels: 24, outputChannels: 17, kernel: (1, 1),
                                       stride: (2, 2), pads: (0, 0, 0, 0), groups: 1), seed: 4, level: level)
            try checkConvolution(shape(height: 6, width: 7, channels: 34, outputChannels: 18, kernel: (1, 1),
                                       pads: (0, 0, 0, 0), groups: 2),
                                 seed: 5, residual: true, activation: .clamp(ClampBounds(minimum: 0)), level: level)
            // Dense 3x3 with vertical dilation only (in-place rows, segments two input rows apart) and wide rows.
            try checkConvolution(shape(height: 11, width: 40, channels: 6, outputChannels: 19, kernel: (3, 3),
                                       dilation: (2, 1), pads: (1, 0, 3, 2), groups: 1),
                                 seed: 7, residual: true, level: level)
            // The activations other than a clamp: im2col and in-place paths, more pixels than one step.
            for (index, activation) in testedActivations.enumerated() {
                try checkConvolution(shape(height: 10, width: 13, channels: 5, outputChannels: 21, kernel: (3, 3),
                                           pads: (1, 1, 1, 1), groups: 1),
                                     seed: 20 + UInt64(index), residual: index % 2 == 1, activation: activation,
                                     level: level)
            }
            // Grouped with more than 8 channels per group (im2col, one GEMM segment per tap) and with exactly 8,
            // stride 2 (windows read in place per tap).
            try checkConvolution(shape(height: 7, width: 9, channels: 20, outputChannels: 30, kernel: (3, 3),
                                       pads: (1, 1, 1, 1), groups: 2), seed: 8, residual: true, level: level)
            try checkConvolution(shape(height: 9, width: 8, channels: 16, outputChannels: 16, kernel: (3, 3),
                                       stride: (2, 2), pads: (0, 1, 1, 0), groups: 2),
                                 seed: 9, activation: .clamp(ClampBounds(minimum: 0)), level: level)
            // Dense with horizontal dilation (in place, a segment per tap).
            try checkConvolution(shape(height: 8, width: 13, channels: 5, outputChannels: 9, kernel: (3, 3),
                                       dilation: (1, 2), pads: (1, 2, 1, 2), groups: 1), seed: 10, level: level)
            // Many output channels on a narrow image: the weights outweigh the windows (whole-range im2col steps).
            try checkConvolution(shape(batch: 2, height: 5, width: 3, channels: 8, outputChannels: 64, kernel: (3, 3),
                                       pads: (1, 1, 1, 1), groups: 1), seed: 11, residual: true, level: level)
            // 5x5 dense with asymmetric pads, no bias, more pixels than one step.
            try checkConvolution(shape(height: 13, width: 14, channels: 5, outputChannels: 7, kernel: (5, 5),
                                       pads: (1, 2, 3, 0), groups: 1), seed: 6, bias: false, level: level)
        }
    }

    // MARK: - Winograd F(2x2, 3x3)

    private func checkWinograd(_ shape: ConvolutionShape, outputTile: Int, seed: UInt64, bias: Bool = true,
                               residual: Bool = false, activation: Activation = .none,
                               level: KernelInstructionSet) throws {
        let data = makeData(shape, seed: seed, bias: bias, residual: residual, activation: activation)
        let kernel = try WinogradConvolutionKernel.packing(weights: data.weights, bias: data.bias,
                                                           outputChannels: shape.outputChannels,
                                                           inputChannels: shape.inputChannels,
                                                           outputTile: outputTile)
        XCTAssertTrue(kernel.accepts(shape))
        let (input, output, residualBuffer) = guardedBuffers(data, shape)
        let scratch = GuardedBuffer(count: kernel.scratchCount(for: shape))
        let tiles = kernel.tileCount(for: shape)
        XCTAssertEqual(tiles, shape.batch * ((shape.outputHeight + outputTile - 1) / outputTile)
            * ((shape.outputWidth + outputTile - 1) / outputTile))
        // A split inside a tile row and a block; the second part split again by channels (16 and the rest).
        let split = min(tiles, 7), firstPanel = min(16, shape.outputChannels)
        let parts = [(0..<split, 0..<shape.outputChannels), (split..<tiles, 0..<firstPanel),
                     (split..<tiles, firstPanel..<shape.outputChannels)]
        // Dense, and into a channel window of wider rows (a Concat's buffer).
        let windowed = WindowedOutput(pixels: shape.outputPixelCount, channels: shape.outputChannels)
        var windowShape = shape
        windowShape.outputPixelStride = windowed.rowStride
        for (shape, output) in [(shape, output.pointer), (windowShape, windowed.pointer)] {
            for (part, channels) in parts where !channels.isEmpty {
                kernel.run(shape: shape, input: input.pointer, output: output,
                           residual: residualBuffer.map { UnsafePointer($0.pointer) }, activation: activation,
                           tiles: part, channels: channels, scratch: scratch.pointer, using: level)
            }
        }
        output.assertGuardIntact()
        scratch.assertGuardIntact()
        // The transforms' roundings: F(2x2, 3x3) within 2e-5 of the sum of |terms| (the GEMM's bound is 1e-5),
        // F(4x4, 3x3), whose transforms scale by up to 8 and 1/24, within 1e-4.
        for (values, placement) in [(output.values, ""), (windowed.values(), " into a window")] {
            assertClose(values, data.expected, scale: data.magnitudes, tolerance: outputTile == 2 ? 2e-5 : 1e-4,
                        "Winograd F(\(outputTile)x\(outputTile), 3x3) \(shape)\(placement) at \(level)")
        }
    }

    func testWinogradAgainstTheDefinitionAtEveryLevel() throws {
        try forEachInstructionSet { level in
            for tile in [2, 4] {
                // ResNet's 3x3 (pads 1) on odd sizes: partial tiles at the right and bottom, residual + Relu.
                try checkWinograd(shape(height: 7, width: 9, channels: 16, outputChannels: 32, kernel: (3, 3),
                                        pads: (1, 1, 1, 1), groups: 1), outputTile: tile, seed: 30, residual: true,
                                  activation: .clamp(ClampBounds(minimum: 0)), level: level)
                // Channels that are no multiple of any vector width, batch 2, no pads, no bias.
                try checkWinograd(shape(batch: 2, height: 6, width: 5, channels: 19, outputChannels: 21,
                                        kernel: (3, 3), pads: (0, 0, 0, 0), groups: 1),
                                  outputTile: tile, seed: 31, bias: false, level: level)
                // Asymmetric pads; a one-pixel-wide output; a 1x1 output.
                try checkWinograd(shape(height: 5, width: 4, channels: 17, outputChannels: 18, kernel: (3, 3),
                                        pads: (0, 2, 2, 0), groups: 1),
                                  outputTile: tile, seed: 32, residual: true, level: level)
                try checkWinograd(shape(height: 4, width: 3, channels: 16, outputChannels: 16, kernel: (3, 3),
                                        pads: (1, 0, 1, 0), groups: 1), outputTile: tile, seed: 33, level: level)
                try checkWinograd(shape(height: 3, width: 3, channels: 3, outputChannels: 5, kernel: (3, 3),
                                        pads: (0, 0, 0, 0), groups: 1), outputTile: tile, seed: 34, level: level)
                // More tiles than one block (several blocks per call), with the activations other than a clamp.
                for (index, activation) in testedActivations.prefix(3).enumerated() {
                    try checkWinograd(shape(height: 31, width: 30, channels: 20, outputChannels: 36, kernel: (3, 3),
                                            pads: (1, 1, 1, 1), groups: 1), outputTile: tile,
                                      seed: 40 + UInt64(index), residual: index == 1, activation: activation,
                                      level: level)
                }
            }
        }
    }

    func testWinogradRejectsBadWeights() {
        XCTAssertThrowsError(try WinogradConvolutionKernel.packing(weights: [Float](repeating: 0, count: 17),
                                                                   outputChannels: 1, inputChannels: 2))
        XCTAssertThrowsError(try WinogradConvolutionKernel.packing(weights: [Float](repeating: 0, count: 18),
                                                                   bias: [0, 0], outputChannels: 1, inputChannels: 2))
        XCTAssertThrowsError(try WinogradConvolutionKernel.packing(weights: [Float](repeating: 0, count: 18),
                                                                   outputChannels: 1, inputChannels: 2, outputTile: 3))
    }

    func testConvolutionRejectsBadWeights() {
        XCTAssertThrowsError(try ConvolutionKernel.packing(weights: [Float](repeating: 0, count: 27),
                                                           outputChannels: 3, inputChannelsPerGroup: 1,
                                                           kernelHeight: 3, kernelWidth: 3, groups: 2))
        XCTAssertThrowsError(try ConvolutionKernel.packing(weights: [Float](repeating: 0, count: 26),
                                                           outputChannels: 1, inputChannelsPerGroup: 3,
                                                           kernelHeight: 3, kernelWidth: 3))
    }
}
