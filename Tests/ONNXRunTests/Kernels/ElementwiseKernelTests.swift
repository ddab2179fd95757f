// The elementwise C kernels, each ISA variant called by name: activations against libm in double precision,
// broadcasting arithmetic against the reference kernel, on awkward lengths and broadcast patterns.

import CKernels
import Foundation
import XCTest

@testable import ONNXRun

final class ElementwiseKernelTests: XCTestCase {
    private typealias ActivationKernel = @convention(c) (
        UnsafePointer<ork_activation>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    private typealias BinaryKernel = @convention(c) (
        Int32, UnsafePointer<ork_broadcast>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
        UnsafeMutablePointer<Float>?, Int, Int) -> Void

    /// The variants this CPU runs, by name; the others are skipped with a message.
    private func variants<Kernel>(_ portable: Kernel, _ avx2: Kernel, _ avx512: Kernel) -> [(String, Kernel)] {
        var result = [("portable", portable)]
        for (name, kernel, level) in [("avx2", avx2, KernelInstructionSet.avx2), ("avx512", avx512, .avx512)] {
            if KernelInstructionSet.detected >= level {
                result.append((name, kernel))
            } else {
                print("ElementwiseKernelTests: skipping \(name), this CPU lacks it")
            }
        }
        return result
    }

    private var activationKernels: [(String, ActivationKernel)] {
        variants(ork_activation_apply_portable, ork_activation_apply_avx2, ork_activation_apply_avx512)
    }

    private var binaryKernels: [(String, BinaryKernel)] {
        variants(ork_binary_portable, ork_binary_avx2, ork_binary_avx512)
    }

    /// Every activation, including the ones the epilogue tests leave out (unbounded slopes).
    private let allActivations: [Activation] = testedActivations + [
        .exp, .erf, .negate, .absolute, .squareRoot, .reciprocal, .square, .clamp(ClampBounds(minimum: 0)),
        .hardSigmoid(alpha: Float(1) / 6, beta: 0.5), .swish(alpha: 0.5),
    ]

    /// Inputs over the interesting ranges: near 0, the polynomial switch points, saturation, overflow.
    private func inputs(_ count: Int, seed: UInt64) -> [Float] {
        var random = SeededValues(seed: seed)
        let special: [Float] = [0, -0.0, 1e-20, -3e-8, 0.625, -0.9375, 0.9375, 3.92, -3.95, 9, -9, 30, -30, 88.7,
                                -88.7, 100, -110, 6, -3, 3]
        return (0..<count).map { index in
            index < special.count && count > 40 ? special[index] : random.next() * 12
        }
    }

    func testActivationsAgainstLibmAtEveryLevel() throws {
        for (name, kernel) in activationKernels {
            for activation in allActivations {
                var maximumRelativeError = 0.0
                for count in [1, 3, 7, 8, 15, 16, 17, 31, 33, 1000] {
                    var x = inputs(count, seed: UInt64(count))
                    if activation == .squareRoot { x = x.map(abs) }
                    let input = GuardedBuffer(x)
                    let output = GuardedBuffer(count: count, filledWith: -7)
                    var function = activation.standaloneFunction
                    kernel(&function, input.pointer, output.pointer, count)
                    output.assertGuardIntact()
                    for (index, y) in output.values.enumerated() {
                        let expected = referenceActivation(activation, Double(x[index]))
                        let expectedFloat = Float(expected)
                        if expectedFloat.isInfinite || expected.isNaN {
                            XCTAssertEqual(Double(y), Double(expectedFloat), "\(activation)(\(x[index])) \(name)")
                            continue
                        }
                        let error = abs(Double(y) - expected)
                        // A few ULP of the result, or of x where the formula cancels (1 + erf(x) near -1, and
                        // alpha x + beta near 0 at the hard sigmoid's knee) in float as in the reference kernel.
                        let cancels = [.gelu, .geluTanh, .hardSwish].contains(activation)
                            || { if case .hardSigmoid = activation { true } else { false } }()
                        let scale = cancels ? max(abs(expected), abs(Double(x[index]))) : abs(expected)
                        if scale > 1e-30 { maximumRelativeError = max(maximumRelativeError, error / scale) }
                        XCTAssertLessThanOrEqual(error, 5e-7 * scale + 1e-37,
                                                 "\(activation)(\(x[index])) = \(y), expected \(expected) (\(name))")
                    }
                }
                if name == "avx512" || name == activationKernels.last?.0 {
                    print("ElementwiseKernelTests: \(activation) max relative error \(maximumRelativeError) (\(name))")
                }
            }
        }
    }

    /// Sigmoid and swish (their own shorter exponential, of -|x| only) over a dense sweep of [-130, 130] that
    /// crosses the denormal results and the exponential's clamp, and at infinities, NaN and the extremes. Alphas
    /// are powers of two: another alpha rounds alpha * x, an error of the input no formula can undo.
    func testSigmoidAndSwishOverADenseSweepAtEveryLevel() {
        let special: [Float] = [.infinity, -.infinity, .nan, 0, -0.0, 1e-30, -1e-30, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 87.33, -87.33, 89.5, -89.5]
        let x = special + (0..<260_001).map { Float(-130 + Double($0) * 0.001) }
        let input = GuardedBuffer(x)
        for (name, kernel) in activationKernels {
            for activation in [Activation.sigmoid, .swish(alpha: 1), .swish(alpha: 0.5), .swish(alpha: -2)] {
                let output = GuardedBuffer(count: x.count, filledWith: -7)
                var function = activation.standaloneFunction
                kernel(&function, input.pointer, output.pointer, x.count)
                output.assertGuardIntact()
                var failures = 0
                for (index, y) in output.values.enumerated() {
                    let expected = referenceActivation(activation, Double(x[index]))
                    let good = expected.isNaN ? y.isNaN
                        : Float(expected).isInfinite ? Double(y) == Double(Float(expected))
                        : abs(Double(y) - expected) <= 5e-7 * abs(expected) + 1e-37
                    if !good && failures < 5 {
                        failures += 1
                        XCTFail("\(activation)(\(x[index])) = \(y), expected \(expected) (\(name))")
                    }
                }
            }
        }
    }

    func testActivationsRunInPlaceAndKeepNaN() {
        for (name, kernel) in activationKernels {
            for activation in allActivations {
                let x: [Float] = [.nan, 1.5, -2, .nan, 0.25]
                let buffer = GuardedBuffer(x)
                var function = activation.standaloneFunction
                kernel(&function, buffer.pointer, buffer.pointer, x.count)
                let y = buffer.values
                XCTAssertTrue(y[0].isNaN && y[3].isNaN, "\(activation) loses NaN (\(name)): \(y)")
                for index in [1, 2, 4] where !(activation == .squareRoot && x[index] < 0) {
                    XCTAssertEqual(Double(y[index]), referenceActivation(activation, Double(x[index])),
                                   accuracy: 1e-6 * (1 + abs(Double(y[index]))), "\(activation) in place (\(name))")
                }
            }
        }
    }

    // MARK: - Broadcasting arithmetic

    private let operations: [ArithmeticOperation] = [.add, .subtract, .multiply, .divide, .maximum, .minimum]

    /// (a's shape, b's shape): same shape, scalars either side, per-channel NCHW and NHWC, squeeze-excite's
    /// [N, C, 1, 1] on NCHW, general two-sided broadcasting, single elements, rank 1 against rank 4, short repeated rows.
    private let shapePairs: [([Int], [Int])] = [
        ([2, 3, 5, 7], [2, 3, 5, 7]), ([37], [1]), ([1], [19]), ([], [4, 5]), ([2, 17, 3, 5], [1, 17, 1, 1]),
        ([2, 3, 5, 17], [1, 1, 1, 17]), ([2, 3, 4, 19], [2, 1, 1, 19]), ([2, 19, 4, 3], [2, 19, 1, 1]),
        ([2, 1, 5, 1], [1, 3, 1, 7]), ([1], [1]), ([1, 1, 1, 1], [1]), ([3, 1, 33], [3, 4, 1]), ([5, 4, 3, 2], [2]),
        ([17, 3], [17, 1]), ([2, 3, 2, 3, 2, 3, 2], [3, 1, 3, 1, 3, 1]),
        // Short rows repeated down a contiguous operand (the periodic loop), on either side: an RGB NHWC input's
        // per-channel normalization, rows of every length up to and past the loop's limit, ranges past a period.
        ([1, 7, 9, 3], [1, 1, 1, 3]), ([3], [6, 5, 3]), ([50, 31], [31]), ([13], [40, 13]), ([1, 40, 40, 5], [5]),
        ([9, 33], [33]), ([7, 1], [7, 8]),
    ]

    func testBinaryBroadcastingMatchesTheReferenceAtEveryLevel() throws {
        for (name, kernel) in binaryKernels {
            for (pairIndex, (aShape, bShape)) in shapePairs.enumerated() {
                var random = SeededValues(seed: UInt64(pairIndex + 5))
                let a = try Tensor(shape: aShape, floats: random.array(aShape.reduce(1, *)))
                let b = try Tensor(shape: bShape, floats: random.array(bShape.reduce(1, *)).map { $0 == 0 ? 0.5 : $0 })
                let outputShape = try XCTUnwrap(broadcastShape([aShape, bShape]))
                let geometry = ElementwiseKernels.broadcastGeometry(a: aShape, b: bShape, output: outputShape)
                guard var geometry else {
                    XCTAssertGreaterThan(outputShape.count, Int(ORK_BROADCAST_MAX_RANK))
                    continue
                }
                let count = outputShape.reduce(1, *)
                let left = GuardedBuffer(a.floats), right = GuardedBuffer(b.floats)
                for operation in operations {
                    let expected = try arithmetic(operation, a, b).floats
                    let output = GuardedBuffer(count: count, filledWith: -7)
                    // Uneven pieces, starting and ending inside rows, as threads split the output.
                    var begin = 0
                    for piece in [1, 2, 5, count] {
                        let end = min(count, begin + piece)
                        kernel(Int32(ElementwiseKernels.binaryOperation(operation)!.rawValue), &geometry,
                               left.pointer, right.pointer, output.pointer, begin, end)
                        begin = end
                    }
                    output.assertGuardIntact()
                    XCTAssertEqual(output.values, expected, "\(aShape) \(operation) \(bShape) (\(name))")
                }
            }
        }
    }

    // MARK: - Reductions

    func testRowMeansAtEveryLevel() {
        typealias MeanKernel = @convention(c) (UnsafePointer<Float>?, Int, Int, UnsafeMutablePointer<Float>?) -> Void
        let kernels: [(String, MeanKernel)] = variants(ork_mean_rows_portable, ork_mean_rows_avx2, ork_mean_rows_avx512)
        for (name, kernel) in kernels {
            for rows in [0, 1, 7, 49] {
                for columns in [1, 5, 16, 17, 64, 65, 100] {
                    var random = SeededValues(seed: UInt64(rows * 1000 + columns))
                    let input = GuardedBuffer(random.array(rows * columns))
                    let output = GuardedBuffer(count: columns, filledWith: -7)
                    kernel(input.pointer, rows, columns, output.pointer)
                    output.assertGuardIntact()
                    let values = input.values
                    let expected = (0..<columns).map { column in
                        rows == 0 ? 0 : (0..<rows).map { Double(values[$0 * columns + column]) }.reduce(0, +)
                            / Double(rows)
                    }
                    assertClose(output.values, expected, scale: [Double](repeating: 1, count: columns),
                                tolerance: 1e-6, "mean of \(rows) rows x \(columns) (\(name))")
                }
            }
        }
    }

    func testBroadcastGeometryCollapsesAxes() throws {
        // NHWC squeeze-excite scale: [N, H*W, C] with the scale read once per image.
        let nhwc = try XCTUnwrap(ElementwiseKernels.broadcastGeometry(a: [2, 7, 7, 24], b: [2, 1, 1, 24],
                                                                      output: [2, 7, 7, 24]))
        XCTAssertEqual(nhwc.rank, 3)
        XCTAssertEqual([nhwc.shape.0, nhwc.shape.1, nhwc.shape.2], [2, 49, 24])
        XCTAssertEqual([nhwc.b_strides.0, nhwc.b_strides.1, nhwc.b_strides.2], [24, 0, 1])
        // Same shapes and scalars are one row.
        let same = try XCTUnwrap(ElementwiseKernels.broadcastGeometry(a: [3, 4, 5], b: [3, 4, 5], output: [3, 4, 5]))
        XCTAssertEqual(same.rank, 1)
        XCTAssertEqual(same.shape.0, 60)
        let scalar = try XCTUnwrap(ElementwiseKernels.broadcastGeometry(a: [3, 4, 5], b: [], output: [3, 4, 5]))
        XCTAssertEqual([scalar.rank, scalar.a_strides.0, scalar.b_strides.0], [1, 1, 0])
    }
}
