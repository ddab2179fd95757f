// Tests of squeeze-excite's scale folded into the projection against the Mul and the FusedConvolution it replaces.

import XCTest

@testable import ONNXRun

final class ScaledPointwiseConvolutionTests: XCTestCase {
    private func projection(inputs: Int, outputs: Int, residual: Bool, activation: Activation,
                            values: inout SeededValues) throws -> FusedConvolution {
        let node = Node(name: "projection", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["y"],
                        attributes: ["kernel_shape": .ints([1, 1])])
        var conv = try FusedConvolution(window: WindowAttributes(OperatorContext(node: node, opset: 13)), group: 1,
                                        weights: Tensor(shape: [outputs, inputs, 1, 1],
                                                        floats: values.array(outputs * inputs)),
                                        bias: Tensor(shape: [outputs], floats: values.array(outputs)))
        conv.hasResidual = residual
        conv.activation = activation
        return conv
    }

    /// `x * scale` then the projection, against the fused operator, with the scale as either Mul operand.
    private func check(batch: Int, height: Int, width: Int, channels: Int, outputs: Int, scaleImages: Int,
                       residual: Bool, activation: Activation = .none, bfloat16: Bool = false,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        var values = SeededValues(seed: UInt64(height * 97 + channels * 5 + outputs))
        let conv = try projection(inputs: channels, outputs: outputs, residual: residual, activation: activation,
                                  values: &values)
        let inputShape = [batch, height, width, channels]
        let input = try Tensor(shape: inputShape, floats: values.array(inputShape.reduce(1, *)))
        let scale = try Tensor(shape: [scaleImages, 1, 1, channels], floats: values.array(scaleImages * channels))
        let outputShape = [batch, height, width, outputs]
        let residualTensor = try residual ? Tensor(shape: outputShape, floats: values.array(outputShape.reduce(1, *)))
                                          : nil
        let scaled = try arithmetic(.multiply, input, scale)
        let expected = try conv.run([scaled] + (residualTensor.map { [$0] } ?? []))[0]
        for scalePosition in [0, 1] {
            var fused: any KernelOperator = try XCTUnwrap(
                ScaledPointwiseConvolution(projection: conv, scalePosition: scalePosition), file: file, line: line)
            if bfloat16 {
                fused = try XCTUnwrap(
                    (fused as? ScaledPointwiseConvolution)?.bfloat16Variant() as? any KernelOperator,
                    file: file, line: line)
            }
            let pair: [Tensor?] = scalePosition == 0 ? [scale, input] : [input, scale]
            let inputs = pair + (residualTensor.map { [$0] } ?? [])
            for threads in [1, 2] {
                let output = Tensor(zeros: .float, shape: outputShape)
                try fused.execute(inputs, into: [output], pool: ThreadPool(threadCount: threads))
                let worst = zip(output.floats, expected.floats).map { abs($0 - $1) }.max() ?? 0
                let bound: Float = bfloat16 ? 0.1 : 1e-5
                XCTAssertLessThanOrEqual(worst, bound, "\(inputShape) -> \(outputs), scale \(scaleImages) at "
                                         + "\(scalePosition), \(threads) threads", file: file, line: line)
            }
        }
    }

    func testScaledWeightsAndScaledPixelsMatchTheMulAndConvolution() throws {
        // More pixels than padded columns (the weights are scaled), then fewer (the pixels are), around the
        // switch: 16 columns against 15, 16 and 17 pixels; odd channels, batch with a scale per image or one for all.
        for (height, width) in [(3, 5), (4, 4), (1, 17), (7, 7)] {
            for outputs in [1, 16, 17] {
                try check(batch: 1, height: height, width: width, channels: 13, outputs: outputs, scaleImages: 1,
                          residual: false)
            }
        }
        try check(batch: 3, height: 7, width: 7, channels: 40, outputs: 24, scaleImages: 3, residual: true,
                  activation: .clamp(ClampBounds(minimum: -1, maximum: 1)))
        try check(batch: 2, height: 2, width: 3, channels: 33, outputs: 70, scaleImages: 2, residual: true)
        try check(batch: 2, height: 9, width: 11, channels: 5, outputs: 3, scaleImages: 1, residual: false,
                  activation: .swish(alpha: 1))
        // EfficientNet's 7x7 stage: 49 pixels, 192 columns (pixels scaled), 1152 channels.
        try check(batch: 1, height: 7, width: 7, channels: 1152, outputs: 192, scaleImages: 1, residual: true)
    }

    func testBFloat16VariantScalesPixels() throws {
        try check(batch: 2, height: 6, width: 6, channels: 24, outputs: 16, scaleImages: 2, residual: true,
                  bfloat16: true)
    }

    func testOnlyPerImageChannelScalesBeforeAPointwiseConvolutionFuse() throws {
        var values = SeededValues(seed: 11)
        let conv = try projection(inputs: 8, outputs: 4, residual: false, activation: .none, values: &values)
        let multiply = try XCTUnwrap(ElementwiseArithmetic(operation: .multiply))
        func fuses(_ a: [Int], _ b: [Int], into consumer: any Operator = conv, operation: ElementwiseArithmetic? = nil)
            -> Bool {
            let types = [a, b].map { InferenceValue(type: TensorType(elementType: .float, fixedShape: $0)) }
            let output = TensorType(elementType: .float, fixedShape: broadcastShape([a, b]) ?? a)
            let candidate = FusionCandidate(
                node: Node(name: "conv", opType: "FusedConv", inputs: ["scaled"], outputs: ["y"]), op: consumer,
                inputs: [InferenceValue(type: output)], producedInput: 0, producerInputs: ["x", "s"],
                producerInputValues: types, isAvailableBeforeProducer: { _ in true })
            return ((try? (operation ?? multiply).fusing(candidate)) ?? nil) != nil
        }
        XCTAssertTrue(fuses([2, 8, 5, 5], [2, 8, 1, 1]))
        XCTAssertTrue(fuses([1, 8, 1, 1], [2, 8, 5, 5]))
        XCTAssertTrue(fuses([2, 8, 5, 5], [1, 8, 1, 1]))
        // Full-size, per-pixel, wrong channel count, a scale that grows the output, other operations and consumers.
        XCTAssertFalse(fuses([1, 8, 5, 5], [1, 8, 5, 5]))
        XCTAssertFalse(fuses([1, 8, 5, 5], [1, 1, 5, 5]))
        XCTAssertFalse(fuses([1, 8, 5, 5], [8, 1, 1]))
        XCTAssertFalse(fuses([1, 8, 5, 5], [2, 8, 1, 1]))
        XCTAssertFalse(fuses([1, 4, 5, 5], [1, 4, 1, 1]))
        XCTAssertFalse(fuses([1, 8, 5, 5], [1, 8, 1, 1], operation: ElementwiseArithmetic(operation: .add)))
        let depthwiseNode = Node(name: "dw", opType: "Conv", inputs: ["x", "w"], outputs: ["y"],
                                 attributes: ["kernel_shape": .ints([3, 3]), "pads": .ints([1, 1, 1, 1]),
                                              "group": .int(8)])
        let depthwise = try FusedConvolution(window: WindowAttributes(OperatorContext(node: depthwiseNode, opset: 13)),
                                             group: 8, weights: Tensor(shape: [8, 1, 3, 3], floats: values.array(72)),
                                             bias: nil)
        XCTAssertFalse(fuses([1, 8, 5, 5], [1, 8, 1, 1], into: depthwise))
    }
}
