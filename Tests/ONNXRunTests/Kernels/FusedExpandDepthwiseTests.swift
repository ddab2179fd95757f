// Tests of the banded (1x1-expansion +) depthwise (+ projection) operator against the FusedConvolutions it replaces.

import CKernels
import XCTest

@testable import ONNXRun

final class FusedExpandDepthwiseTests: XCTestCase {
    /// One expansion + depthwise pair: sizes, depthwise window, clamps, and the band budget to run with.
    private struct Case {
        var batch = 1
        var height: Int
        var width: Int
        var inputChannels: Int
        var channels: Int
        var kernel = 3
        var strides = [1, 1]
        var pads = [1, 1, 1, 1]
        var dilations = [1, 1]
        var bandBytes = FusedExpandDepthwiseConvolution.defaultBandBytes
        var expandBounds = ClampBounds(minimum: 0, maximum: 6)
        var depthwiseBounds = ClampBounds(minimum: 0, maximum: 6)
        /// Output channels of a fused 1x1 projection (none: nil), and whether it adds a residual.
        var projectionChannels: Int?
        var residual = false
        /// Whether a 1x1 expansion feeds the depthwise conv (without: it reads the `channels`-channel input).
        var expands = true
        /// A dense expansion (the general kernel) instead of the 1x1: its kernel size, strides and pads; `height`
        /// and `width` are then its input's.
        var denseKernel: Int?
        var denseStrides = [2, 2]
        var densePads = [1, 1, 1, 1]
        /// Runs the bfloat16 variant (against the float32 reference, loosely).
        var bfloat16 = false
    }

    private func convolution(kernel: Int, group: Int, strides: [Int], pads: [Int], dilations: [Int],
                             weights: Tensor, bias: Tensor, bounds: ClampBounds) throws -> FusedConvolution {
        let node = Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["y"], attributes: [
            "kernel_shape": .ints([kernel, kernel]), "strides": .ints(strides), "pads": .ints(pads),
            "dilations": .ints(dilations), "group": .int(group),
        ])
        var fused = try FusedConvolution(window: WindowAttributes(OperatorContext(node: node, opset: 13)),
                                         group: group, weights: weights, bias: bias)
        fused.activation = .clamp(bounds)
        return fused
    }

    /// Runs the fused operator and the two separate convolutions on seeded data and compares every output value.
    private func check(_ testCase: Case, threads: [Int] = [1, 2], file: StaticString = #filePath,
                       line: UInt = #line) throws {
        var values = SeededValues(seed: UInt64(testCase.height * 131 + testCase.width * 7 + testCase.channels))
        let (ce, k) = (testCase.channels, testCase.kernel)
        let cin = testCase.expands ? testCase.inputChannels : ce
        let ek = testCase.denseKernel ?? 1
        let expand = try convolution(
            kernel: ek, group: 1, strides: testCase.denseKernel == nil ? [1, 1] : testCase.denseStrides,
            pads: testCase.denseKernel == nil ? [0, 0, 0, 0] : testCase.densePads, dilations: [1, 1],
            weights: Tensor(shape: [ce, cin, ek, ek], floats: values.array(ce * cin * ek * ek)),
            bias: Tensor(shape: [ce], floats: values.array(ce)), bounds: testCase.expandBounds)
        let depthwise = try convolution(
            kernel: k, group: ce, strides: testCase.strides, pads: testCase.pads, dilations: testCase.dilations,
            weights: Tensor(shape: [ce, 1, k, k], floats: values.array(ce * k * k)),
            bias: Tensor(shape: [ce], floats: values.array(ce)), bounds: testCase.depthwiseBounds)
        var fused = try XCTUnwrap(testCase.expands && testCase.denseKernel == nil
            ? FusedExpandDepthwiseConvolution(expand: expand, depthwise: depthwise)
            : FusedExpandDepthwiseConvolution(depthwise: depthwise), file: file, line: line)
        let inputShape = [testCase.batch, testCase.height, testCase.width, cin]
        let input = try Tensor(shape: inputShape, floats: values.array(inputShape.reduce(1, *)))

        let expanded = testCase.expands ? try expand.run([input])[0] : input
        var expected = try depthwise.run([expanded])[0]
        var inputs = [input]
        var projection: FusedConvolution?
        if let channels = testCase.projectionChannels {
            // A plain projection (identity store) or one with a residual and a clamp.
            projection = try convolution(
                kernel: 1, group: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1],
                weights: Tensor(shape: [channels, ce, 1, 1], floats: values.array(channels * ce)),
                bias: Tensor(shape: [channels], floats: values.array(channels)),
                bounds: testCase.residual ? ClampBounds(minimum: -1, maximum: 1) : ClampBounds())
            projection?.hasResidual = testCase.residual
            let projection = try XCTUnwrap(projection)
            fused = try XCTUnwrap(fused.projecting(with: projection), file: file, line: line)
            XCTAssertNil(fused.projecting(with: projection), "a second projection", file: file, line: line)
            if !testCase.expands {
                // The same block with the expansion fused last, as the optimizer builds it.
                XCTAssertNotNil(fused.expanding(with: expand), file: file, line: line)
            }
            if testCase.denseKernel != nil {
                // A dense expansion only where allowed, fused last.
                XCTAssertNil(fused.expanding(with: expand), file: file, line: line)
                fused = try XCTUnwrap(fused.expanding(with: expand, dense: true), file: file, line: line)
            }
            var projectionInputs = [expected]
            if testCase.residual {
                let shape = expected.shape.dropLast() + [channels]
                projectionInputs.append(try Tensor(shape: Array(shape), floats: values.array(shape.reduce(1, *))))
                inputs.append(projectionInputs[1])
            }
            expected = try projection.run(projectionInputs)[0]
        }
        fused.bandBytes = testCase.bandBytes
        var tolerance: Float = 1e-5
        // Several threads on a small image run the unfused schedule, whose scratch tensors stay float32.
        var alternative: Tensor?
        if testCase.bfloat16 {
            // The portable kernels run where the CPU lacks AVX512-BF16 (their own tests pin them down).
            fused = try XCTUnwrap(fused.bfloat16Variant() as? FusedExpandDepthwiseConvolution, file: file, line: line)
            XCTAssertEqual(fused.bandsInBFloat16, testCase.channels % 2 == 0 && testCase.projectionChannels != nil
                           && testCase.expands && testCase.denseKernel == nil,
                           "\(testCase): bfloat16 bands", file: file, line: line)
            let bfloat16Expansion = testCase.expands ? expand : nil
            let dense = testCase.denseKernel != nil
            expected = try bfloat16Reference(expand: bfloat16Expansion, dense: dense, depthwise: depthwise,
                                             projection: projection, input: input, residual: inputs.dropFirst().first,
                                             roundingExpanded: fused.bandsInBFloat16)
            if fused.bandsInBFloat16 {
                alternative = try bfloat16Reference(expand: bfloat16Expansion, dense: dense, depthwise: depthwise,
                                                    projection: projection, input: input,
                                                    residual: inputs.dropFirst().first, roundingExpanded: false)
            }
            // The same roundings and sums in the same order; only the float32 depthwise output is not rounded.
            tolerance = 1e-3 * max(1, expected.floats.map(abs).max() ?? 0)
        }
        let types = inputs.map { InferenceValue(type: TensorType(elementType: .float, fixedShape: $0.shape)) }
        XCTAssertEqual(try fused.inferOutputs(types).map(\.fixedShape), [expected.shape], file: file, line: line)
        // On 2+ threads a small image runs either schedule (whichever the cost estimate picks): test both.
        let schedules = FusedExpandDepthwiseConvolution.SmallImageSchedule.allCases
        for threadCount in threads {
            for schedule in threadCount > 1 ? schedules : [.estimated] {
                fused.smallImageSchedule = schedule
                let output = Tensor(zeros: .float, shape: expected.shape)
                try fused.execute(inputs, into: [output], pool: ThreadPool(threadCount: threadCount))
                XCTAssertEqual(output.shape, expected.shape, file: file, line: line)
                let actual = output.floats
                let worst = ([expected] + (threadCount > 1 ? [alternative].compactMap { $0 } : [])).map { reference in
                    zip(actual, reference.floats).map { abs($0 - $1) }.max() ?? 0
                }.min() ?? 0
                XCTAssertLessThanOrEqual(worst, tolerance, "\(testCase) at \(threadCount) threads, \(schedule)",
                                         file: file, line: line)
                XCTAssertFalse(actual.contains { $0.isNaN }, file: file, line: line)
            }
        }
    }

    /// The separate convolutions with the bfloat16 variant's roundings: the 1x1 GEMMs in bfloat16 (a dense
    /// expansion stays float32; without one the depthwise reads the input) and, with bfloat16 bands, the expanded
    /// tensor rounded to bfloat16 before the float32 depthwise.
    private func bfloat16Reference(expand: FusedConvolution?, dense: Bool, depthwise: FusedConvolution,
                                   projection: FusedConvolution?, input: Tensor, residual: Tensor?,
                                   roundingExpanded: Bool) throws -> Tensor {
        var expanded = input
        if let expand {
            expanded = try (dense ? expand : XCTUnwrap(expand.bfloat16Pointwise)).run([input])[0]
        }
        if roundingExpanded {
            expanded = try Tensor(shape: expanded.shape,
                                  floats: expanded.floats.map { ork_float_from_bfloat16(ork_bfloat16_from_float($0)) })
        }
        let depthwiseOutput = try depthwise.run([expanded])[0]
        guard let projection else { return depthwiseOutput }
        return try XCTUnwrap(projection.bfloat16Pointwise).run([depthwiseOutput] + (residual.map { [$0] } ?? []))[0]
    }

    /// A band budget of `rows` expanded rows.
    private func bandBytes(rows: Int, width: Int, channels: Int) -> Int { rows * width * channels * 4 }

    func testMobileNetShapesMatchSeparateConvolutions() throws {
        try check(Case(height: 28, width: 28, inputChannels: 24, channels: 144))
        try check(Case(height: 28, width: 28, inputChannels: 24, channels: 144, strides: [2, 2], pads: [0, 0, 1, 1]))
        try check(Case(height: 56, width: 56, inputChannels: 16, channels: 96, strides: [2, 2]))
    }

    func testBandBoundariesWithSlidingWindow() throws {
        // Buffers of 3-5 rows for a 3-row window: many slides, bands of one to three output rows.
        for rows in [3, 4, 5, 7] {
            try check(Case(height: 17, width: 13, inputChannels: 5, channels: 19,
                           bandBytes: bandBytes(rows: rows, width: 13, channels: 19)))
            try check(Case(height: 17, width: 13, inputChannels: 5, channels: 19, strides: [2, 2],
                           bandBytes: bandBytes(rows: rows, width: 13, channels: 19)))
        }
        // A budget below one window still holds one output row's window.
        try check(Case(height: 9, width: 7, inputChannels: 3, channels: 17, bandBytes: 1))
    }

    func testAwkwardShapes() throws {
        // 5x5 depthwise, odd width, asymmetric pads, batch 2, small bands.
        try check(Case(batch: 2, height: 15, width: 11, inputChannels: 7, channels: 33, kernel: 5, pads: [2, 1, 1, 2],
                       bandBytes: bandBytes(rows: 6, width: 11, channels: 33)))
        try check(Case(batch: 2, height: 15, width: 11, inputChannels: 7, channels: 33, kernel: 5, strides: [2, 2],
                       pads: [1, 2, 2, 1], bandBytes: bandBytes(rows: 6, width: 11, channels: 33)))
        // No padding, no clamps, stride 2 with an odd height.
        try check(Case(height: 13, width: 9, inputChannels: 4, channels: 16, strides: [2, 2], pads: [0, 0, 0, 0],
                       bandBytes: bandBytes(rows: 4, width: 9, channels: 16), expandBounds: ClampBounds(),
                       depthwiseBounds: ClampBounds()))
        // Pads larger than the kernel reach: output rows that read only padding.
        try check(Case(batch: 2, height: 5, width: 6, inputChannels: 3, channels: 8, pads: [4, 1, 4, 1],
                       bandBytes: bandBytes(rows: 3, width: 6, channels: 8)))
        // Dilation 2 and a single-row image.
        try check(Case(height: 12, width: 10, inputChannels: 6, channels: 20, pads: [2, 2, 2, 2], dilations: [2, 2],
                       bandBytes: bandBytes(rows: 6, width: 10, channels: 20)))
        try check(Case(batch: 2, height: 1, width: 10, inputChannels: 6, channels: 20))
        // More threads than output rows.
        try check(Case(height: 2, width: 3, inputChannels: 2, channels: 5, strides: [2, 2]), threads: [1, 2, 4])
    }

    func testProjectionWithAndWithoutResidual() throws {
        // MobileNetV2's blocks: stride 1 with the residual, stride 2 without; the default band and small ones.
        try check(Case(height: 28, width: 28, inputChannels: 24, channels: 144, projectionChannels: 24, residual: true))
        try check(Case(height: 28, width: 28, inputChannels: 24, channels: 144, strides: [2, 2], pads: [0, 0, 1, 1],
                       projectionChannels: 32))
        try check(Case(batch: 3, height: 7, width: 7, inputChannels: 16, channels: 96, projectionChannels: 16,
                       residual: true), threads: [1, 2, 3])
        // Few pixels per thread: both GEMMs split by column blocks, the last one partial.
        try check(Case(height: 5, width: 5, inputChannels: 8, channels: 72, projectionChannels: 70, residual: true),
                  threads: [1, 2, 3])
        for rows in [1, 3, 5] {
            try check(Case(batch: 2, height: 17, width: 13, inputChannels: 5, channels: 19,
                           bandBytes: bandBytes(rows: rows, width: 13, channels: 19), projectionChannels: 7,
                           residual: true))
            try check(Case(height: 17, width: 13, inputChannels: 5, channels: 19, strides: [2, 2],
                           bandBytes: bandBytes(rows: rows, width: 13, channels: 19), projectionChannels: 33))
        }
        // Output rows that read only padding, 5x5 with asymmetric pads, more threads than rows.
        try check(Case(batch: 2, height: 5, width: 6, inputChannels: 3, channels: 8, pads: [4, 1, 4, 1],
                       bandBytes: bandBytes(rows: 3, width: 6, channels: 8), projectionChannels: 1, residual: true))
        try check(Case(batch: 2, height: 15, width: 11, inputChannels: 7, channels: 33, kernel: 5, pads: [2, 1, 1, 2],
                       bandBytes: bandBytes(rows: 6, width: 11, channels: 33), projectionChannels: 17))
        try check(Case(height: 2, width: 3, inputChannels: 2, channels: 5, strides: [2, 2], projectionChannels: 3),
                  threads: [1, 2, 4])
    }

    func testDepthwiseAndProjectionWithoutExpansion() throws {
        // MobileNetV2's first block (32 channels at 112x112 -> 16), smaller: the default band and small ones.
        try check(Case(height: 28, width: 28, inputChannels: 0, channels: 32, projectionChannels: 16, expands: false))
        try check(Case(height: 28, width: 28, inputChannels: 0, channels: 32, projectionChannels: 32, residual: true,
                       expands: false))
        for rows in [1, 2, 5] {
            // Bands of `rows` output rows: the budget counts depthwise output rows.
            try check(Case(batch: 3, height: 17, width: 13, inputChannels: 0, channels: 19,
                           bandBytes: bandBytes(rows: rows, width: 13, channels: 19), projectionChannels: 19,
                           residual: true, expands: false), threads: [1, 2, 3, 4])
            try check(Case(batch: 2, height: 17, width: 13, inputChannels: 0, channels: 19, strides: [2, 2],
                           pads: [0, 0, 1, 1], bandBytes: bandBytes(rows: rows, width: 7, channels: 19),
                           projectionChannels: 33, expands: false), threads: [1, 2, 3])
        }
        // 5x5 with asymmetric pads, rows that read only padding, more threads than rows, one channel.
        try check(Case(batch: 2, height: 15, width: 11, inputChannels: 0, channels: 33, kernel: 5, pads: [2, 1, 1, 2],
                       bandBytes: bandBytes(rows: 2, width: 11, channels: 33), projectionChannels: 17,
                       expands: false))
        try check(Case(batch: 2, height: 5, width: 6, inputChannels: 0, channels: 8, pads: [4, 1, 4, 1],
                       bandBytes: bandBytes(rows: 1, width: 6, channels: 8), projectionChannels: 1, residual: true,
                       expands: false))
        try check(Case(height: 2, width: 3, inputChannels: 0, channels: 1, strides: [2, 2], projectionChannels: 3,
                       expands: false), threads: [1, 2, 4])
    }

    func testDenseExpansionBeforeDepthwiseAndProjection() throws {
        // MobileNetV2's stem and first block (3x3 stride 2, 3 -> 32; depthwise; 32 -> 16), smaller; small bands.
        try check(Case(height: 56, width: 56, inputChannels: 3, channels: 32, projectionChannels: 16, denseKernel: 3))
        for rows in [3, 4, 6] {
            try check(Case(batch: 3, height: 33, width: 27, inputChannels: 3, channels: 19,
                           bandBytes: bandBytes(rows: rows, width: 14, channels: 19), projectionChannels: 19,
                           residual: true, denseKernel: 3), threads: [1, 2, 3, 4])
            // Odd sizes, asymmetric pads on both convolutions, a stride-2 depthwise, a 1-row stride-1 dense conv.
            try check(Case(batch: 2, height: 17, width: 12, inputChannels: 5, channels: 9, strides: [2, 2],
                           pads: [0, 0, 1, 1], bandBytes: bandBytes(rows: rows, width: 6, channels: 9),
                           projectionChannels: 7, denseKernel: 3, densePads: [0, 1, 1, 0]), threads: [1, 2, 3])
            try check(Case(height: 9, width: 8, inputChannels: 2, channels: 6, kernel: 5, pads: [2, 2, 2, 2],
                           bandBytes: bandBytes(rows: rows, width: 8, channels: 6), projectionChannels: 4,
                           denseKernel: 3, denseStrides: [1, 1]), threads: [1, 2])
        }
        // An expansion whose output rows read only padding (pads past the kernel), more threads than rows.
        try check(Case(height: 3, width: 4, inputChannels: 3, channels: 5, projectionChannels: 2, denseKernel: 2,
                       denseStrides: [1, 1], densePads: [3, 0, 3, 1]), threads: [1, 2, 4])
    }

    func testBFloat16BandsAgainstFloat32() throws {
        try check(Case(height: 28, width: 28, inputChannels: 24, channels: 144, projectionChannels: 24, residual: true,
                       bfloat16: true))
        try check(Case(height: 28, width: 28, inputChannels: 16, channels: 96, strides: [2, 2], pads: [0, 0, 1, 1],
                       projectionChannels: 24, bfloat16: true))
        // Channel tails (34, 66: not whole 32-channel groups), 5x5 with asymmetric pads, small bands, batch 2.
        for rows in [1, 3, 6] {
            try check(Case(batch: 2, height: 15, width: 11, inputChannels: 7, channels: 34, kernel: 5,
                           pads: [2, 1, 1, 2], bandBytes: bandBytes(rows: rows, width: 11, channels: 34),
                           projectionChannels: 17, residual: true, bfloat16: true))
            try check(Case(height: 17, width: 13, inputChannels: 6, channels: 66, strides: [2, 2],
                           bandBytes: bandBytes(rows: rows, width: 13, channels: 66), projectionChannels: 40,
                           bfloat16: true))
        }
        // Rows that read only padding, dilation 2, no clamps, 2 channels; an odd channel count and no projection
        // keep float32 bands.
        try check(Case(batch: 2, height: 5, width: 6, inputChannels: 3, channels: 8, pads: [4, 1, 4, 1],
                       bandBytes: bandBytes(rows: 3, width: 6, channels: 8), projectionChannels: 1, residual: true,
                       bfloat16: true))
        try check(Case(height: 12, width: 10, inputChannels: 6, channels: 20, pads: [2, 2, 2, 2], dilations: [2, 2],
                       expandBounds: ClampBounds(), depthwiseBounds: ClampBounds(), projectionChannels: 2,
                       bfloat16: true))
        try check(Case(height: 9, width: 9, inputChannels: 5, channels: 2, projectionChannels: 3, bfloat16: true))
        try check(Case(height: 9, width: 9, inputChannels: 5, channels: 33, projectionChannels: 8, bfloat16: true))
        try check(Case(height: 9, width: 9, inputChannels: 5, channels: 32, bfloat16: true))
        // MobileNetV2's first block without expansion, and with the stem as a dense (float32) expansion: float32
        // bands, the projection in bfloat16.
        try check(Case(height: 28, width: 28, inputChannels: 0, channels: 32, projectionChannels: 16, expands: false,
                       bfloat16: true), threads: [1, 2, 3])
        try check(Case(height: 56, width: 56, inputChannels: 3, channels: 32, projectionChannels: 16, denseKernel: 3,
                       bfloat16: true), threads: [1, 2, 3])
        try check(Case(batch: 2, height: 9, width: 11, inputChannels: 3, channels: 6, projectionChannels: 5,
                       residual: true, denseKernel: 3, denseStrides: [1, 1], bfloat16: true))
    }

    /// The block of a 1x1 expansion `inputChannels -> channels`, a `kernel` x `kernel` depthwise conv (stride 1,
    /// same padding) and, when given, a projection to `projectionChannels`, with its depthwise shape at `size`.
    private func block(size: Int, inputChannels: Int, channels: Int, kernel: Int, projectionChannels: Int?) throws
        -> (FusedExpandDepthwiseConvolution, ConvolutionShape) {
        let none = ClampBounds()
        let pad = kernel / 2
        let expand = try convolution(kernel: 1, group: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1],
                                     weights: Tensor(zeros: .float, shape: [channels, inputChannels, 1, 1]),
                                     bias: Tensor(zeros: .float, shape: [channels]), bounds: none)
        let depthwise = try convolution(kernel: kernel, group: channels, strides: [1, 1], pads: [pad, pad, pad, pad],
                                        dilations: [1, 1],
                                        weights: Tensor(zeros: .float, shape: [channels, 1, kernel, kernel]),
                                        bias: Tensor(zeros: .float, shape: [channels]), bounds: none)
        var fused = try XCTUnwrap(FusedExpandDepthwiseConvolution(expand: expand, depthwise: depthwise))
        if let projectionChannels {
            let projection = try convolution(
                kernel: 1, group: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1],
                weights: Tensor(zeros: .float, shape: [projectionChannels, channels, 1, 1]),
                bias: Tensor(zeros: .float, shape: [projectionChannels]), bounds: none)
            fused = try XCTUnwrap(fused.projecting(with: projection))
        }
        let geometry = try depthwise.window.geometry(inputSize: [size, size], kernelSize: [kernel, kernel])
        return (fused, ConvolutionShape(batch: 1, inputChannels: channels, outputChannels: channels, groups: channels,
                                        geometry: geometry))
    }

    /// The schedule the cost estimate picks (`schedule(_:threads:)`): at one thread always the band loop; at two,
    /// the band loop where its recomputed window rows cost less than the unfused steps' joins (MobileNetV2
    /// 0.35 @96's small blocks, measured 0.29 -> 0.24 ms), the unfused steps where the images are a few rows
    /// (7x7, 14x14) of many channels.
    func testTwoThreadScheduleOfSmallImages() throws {
        let blocks: [(name: String, size: Int, input: Int, channels: Int, kernel: Int, projection: Int?,
                      unfused: Bool)] = [
            ("MobileNetV2 0.35 @96, 24x24", 24, 8, 48, 3, 8, false),
            ("MobileNetV2 0.35 @96, 12x12", 12, 16, 96, 3, 16, false),
            ("MobileNetV2 0.35 @96, 6x6", 6, 24, 144, 3, 24, false),
            ("MobileNetV2 0.35 @96, 6x6 (96-stage)", 6, 32, 192, 3, 32, false),
            ("MobileNetV2 0.35 @96, 3x3", 3, 56, 336, 3, 56, false),
            ("MobileNetV2 0.35 @96, 3x3 (last)", 3, 56, 336, 3, 112, false),
            ("MobileNetV2 1.0 @224, 7x7", 7, 160, 960, 3, 160, true),
            ("MobileNetV3-Small, 7x7", 7, 96, 576, 5, nil, true),
            ("MobileNetV3-Small, 14x14", 14, 40, 240, 5, nil, true),
            ("MobileNetV3-Large, 14x14", 14, 80, 480, 3, nil, true),
        ]
        for block in blocks {
            let (fused, band) = try self.block(size: block.size, inputChannels: block.input, channels: block.channels,
                                               kernel: block.kernel, projectionChannels: block.projection)
            let one = fused.schedule(band, threads: 1)
            XCTAssertEqual(one.bandTasks, 1, block.name)
            XCTAssertFalse(one.unfused, block.name)
            let two = fused.schedule(band, threads: 2)
            XCTAssertEqual(two.bandTasks, 2, block.name)
            XCTAssertEqual(two.unfused, block.unfused, block.name)
        }
    }

    func testOnlyPointwiseIntoDepthwisePairsFuse() throws {
        var values = SeededValues(seed: 3)
        let pointwise = try convolution(kernel: 1, group: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1],
                                        weights: Tensor(shape: [8, 4, 1, 1], floats: values.array(32)),
                                        bias: Tensor(shape: [8], floats: values.array(8)), bounds: ClampBounds())
        let depthwise = try convolution(kernel: 3, group: 8, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1],
                                        weights: Tensor(shape: [8, 1, 3, 3], floats: values.array(72)),
                                        bias: Tensor(shape: [8], floats: values.array(8)), bounds: ClampBounds())
        let dense = try convolution(kernel: 3, group: 1, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1],
                                    weights: Tensor(shape: [8, 8, 3, 3], floats: values.array(576)),
                                    bias: Tensor(shape: [8], floats: values.array(8)), bounds: ClampBounds())
        XCTAssertNotNil(FusedExpandDepthwiseConvolution(expand: pointwise, depthwise: depthwise))
        XCTAssertNil(FusedExpandDepthwiseConvolution(expand: pointwise, depthwise: dense))
        XCTAssertNil(FusedExpandDepthwiseConvolution(expand: depthwise, depthwise: depthwise))
        var residual = depthwise
        residual.hasResidual = true
        XCTAssertNil(FusedExpandDepthwiseConvolution(expand: pointwise, depthwise: residual))
        // Only a pointwise conv over the depthwise output's channels projects.
        let pair = try XCTUnwrap(FusedExpandDepthwiseConvolution(expand: pointwise, depthwise: depthwise))
        XCTAssertNil(pair.projecting(with: depthwise))
        XCTAssertNil(pair.projecting(with: dense))
        let narrow = try convolution(kernel: 1, group: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1],
                                     weights: Tensor(shape: [8, 4, 1, 1], floats: values.array(32)),
                                     bias: Tensor(shape: [8], floats: values.array(8)), bounds: ClampBounds())
        XCTAssertNil(pair.projecting(with: narrow))
        let projection = try convolution(kernel: 1, group: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1],
                                         weights: Tensor(shape: [4, 8, 1, 1], floats: values.array(32)),
                                         bias: Tensor(shape: [4], floats: values.array(4)), bounds: ClampBounds())
        XCTAssertNotNil(pair.projecting(with: projection))
        // Without expansion: a depthwise conv only, then a pointwise expansion into its channels only, once.
        XCTAssertNil(FusedExpandDepthwiseConvolution(depthwise: dense))
        XCTAssertNil(FusedExpandDepthwiseConvolution(depthwise: residual))
        let unexpanded = try XCTUnwrap(FusedExpandDepthwiseConvolution(depthwise: depthwise))
        XCTAssertNil(unexpanded.expanding(with: depthwise))
        XCTAssertNil(unexpanded.expanding(with: projection))
        XCTAssertNil(try XCTUnwrap(unexpanded.expanding(with: pointwise)).expanding(with: pointwise))
    }
}
