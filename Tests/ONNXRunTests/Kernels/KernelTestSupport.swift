// Helpers for the C kernel tests: every ISA level the CPU has, seeded data, the ONNX Conv reference (NCHW), comparison.

import XCTest

@testable import ONNXRun

/// Runs `body` once per ISA level this CPU has (portable C first); `body` passes the level to the kernel wrappers,
/// which call that level's variants by name. Levels the CPU lacks are skipped with a message.
func forEachInstructionSet(_ body: (KernelInstructionSet) throws -> Void) rethrows {
    for level in KernelInstructionSet.allCases {
        guard level <= KernelInstructionSet.detected else {
            print("skipping the \(level) kernels: this CPU lacks them (see the lscpu flags)")
            continue
        }
        try body(level)
    }
}

/// Deterministic values in [-1, 1] (a 64-bit LCG), so failures reproduce.
struct SeededValues {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }

    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(state >> 40) - (1 << 23)) / Float(1 << 23)
    }

    mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

/// A float array in 64-byte-aligned memory with `padding` extra guard floats after it (set to NaN, so reading
/// past the end shows up as NaN in results; writes past the end are checked by `assertGuardIntact`).
final class GuardedBuffer {
    let count: Int
    private let padding = 64
    let pointer: UnsafeMutablePointer<Float>

    init(_ values: [Float]) {
        count = values.count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: (values.count + padding) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: values.count + padding)
        pointer.initialize(repeating: .nan, count: values.count + padding)
        for (index, value) in values.enumerated() { pointer[index] = value }
    }

    convenience init(count: Int, filledWith value: Float = .nan) {
        self.init([Float](repeating: value, count: count))
    }

    deinit { pointer.deallocate() }

    var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    func assertGuardIntact(file: StaticString = #filePath, line: UInt = #line) {
        for index in count..<(count + padding) where !pointer[index].isNaN {
            XCTFail("write past the end of the buffer at +\(index - count)", file: file, line: line)
            return
        }
    }
}

/// Asserts |actual - expected| <= tolerance * (1 + scale) elementwise, naming the first mismatch.
func assertClose(_ actual: [Float], _ expected: [Double], scale: [Double]? = nil, tolerance: Double = 1e-5,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "element count \(message())", file: file, line: line)
    for index in 0..<min(actual.count, expected.count) {
        let allowed = tolerance * (1 + (scale?[index] ?? abs(expected[index])))
        if !(abs(Double(actual[index]) - expected[index]) <= allowed) {
            XCTFail("element \(index): got \(actual[index]), expected \(expected[index]) \(message())",
                    file: file, line: line)
            return
        }
    }
}

/// The ONNX Conv definition, NCHW: Y[n][m][y][x] = B[m] + sum over the group's channels c and taps (i, j) of
/// X[n][g*Cg + c][y*sh - pt + i*dh][x*sw - pl + j*dw] * W[m][c][i][j] (outside the input: 0).
/// Returns the result and the sum of |terms| per element (for the tolerance).
func referenceConvolutionNCHW(input: [Float], weights: [Float], bias: [Float]?, shape: ConvolutionShape)
    -> (values: [Double], magnitudes: [Double])
{
    let groupInputs = shape.inputChannels / shape.groups, groupOutputs = shape.outputChannels / shape.groups
    var values = [Double](repeating: 0, count: shape.outputElementCount)
    var magnitudes = values
    for n in 0..<shape.batch {
        for m in 0..<shape.outputChannels {
            let group = m / groupOutputs
            for y in 0..<shape.outputHeight {
                for x in 0..<shape.outputWidth {
                    var sum = Double(bias?[m] ?? 0), magnitude = abs(sum)
                    for c in 0..<groupInputs {
                        let channel = group * groupInputs + c
                        for i in 0..<shape.kernelHeight {
                            let inputY = y * shape.strideHeight - shape.padTop + i * shape.dilationHeight
                            guard inputY >= 0 && inputY < shape.inputHeight else { continue }
                            for j in 0..<shape.kernelWidth {
                                let inputX = x * shape.strideWidth - shape.padLeft + j * shape.dilationWidth
                                guard inputX >= 0 && inputX < shape.inputWidth else { continue }
                                let xValue = input[((n * shape.inputChannels + channel) * shape.inputHeight + inputY)
                                    * shape.inputWidth + inputX]
                                let wValue = weights[((m * groupInputs + c) * shape.kernelHeight + i)
                                    * shape.kernelWidth + j]
                                sum += Double(xValue) * Double(wValue)
                                magnitude += abs(Double(xValue) * Double(wValue))
                            }
                        }
                    }
                    let index = ((n * shape.outputChannels + m) * shape.outputHeight + y) * shape.outputWidth + x
                    values[index] = sum
                    magnitudes[index] = magnitude
                }
            }
        }
    }
    return (values, magnitudes)
}

/// [N, C, H, W] -> [N, H, W, C], written out in the test (independent of the kernels' transposes).
func channelsLast<T>(_ values: [T], batch: Int, channels: Int, height: Int, width: Int) -> [T] {
    var result = values
    for n in 0..<batch {
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    result[((n * height + y) * width + x) * channels + c] =
                        values[((n * channels + c) * height + y) * width + x]
                }
            }
        }
    }
    return result
}

/// The fused epilogue applied to a reference: activation(value + residual).
func referenceEpilogue(_ values: [Double], residual: [Float]?, activation: Activation) -> [Double] {
    values.enumerated().map { index, value in referenceActivation(activation, value + Double(residual?[index] ?? 0)) }
}

/// The activations in double precision with libm: the oracle of the kernels' polynomial approximations.
func referenceActivation(_ activation: Activation, _ x: Double) -> Double {
    switch activation {
    case .clamp(let bounds): min(max(x, Double(bounds.minimum)), Double(bounds.maximum))
    case .sigmoid: 1 / (1 + Foundation.exp(-x))
    case .hardSigmoid(let alpha, let beta): min(1, max(0, Double(alpha) * x + Double(beta)))
    case .hardSwish: x * min(1, max(0, x / 6 + 0.5))
    case .swish(let alpha): x / (1 + Foundation.exp(-Double(alpha) * x))
    case .leakyRelu(let alpha): x >= 0 ? x : Double(alpha) * x
    case .gelu: 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
    case .geluTanh: 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    case .tanh: Foundation.tanh(x)
    case .exp: Foundation.exp(x)
    case .erf: Foundation.erf(x)
    case .negate: -x
    case .absolute: abs(x)
    case .squareRoot: x.squareRoot()
    case .reciprocal: 1 / x
    case .square: x * x
    }
}

/// Activations with a bounded slope (errors in the input grow at most ~1.2x), for testing kernel epilogues.
let testedActivations: [Activation] = [
    .sigmoid, .hardSigmoid(alpha: 0.2, beta: 0.5), .hardSwish, .swish(alpha: 1), .leakyRelu(alpha: 0.1), .gelu,
    .geluTanh, .tanh, .clamp(ClampBounds(minimum: -0.25, maximum: 0.5)),
]

/// A kernel's output written as a channel window of wider pixel rows (a Concat's buffer, `outputPixelStride`):
/// columns `offset ..< offset + channels` of rows `rowStride` floats long; the columns around it hold a sentinel the
/// kernel must leave alone.
struct WindowedOutput {
    static let offset = 3
    let buffer: GuardedBuffer
    let pixels: Int
    let channels: Int
    /// Three columns before the window, two after.
    var rowStride: Int { channels + 5 }
    private static let sentinel: Float = -1234.5

    init(pixels: Int, channels: Int) {
        self.pixels = pixels
        self.channels = channels
        buffer = GuardedBuffer(count: pixels * (channels + 5), filledWith: Self.sentinel)
    }

    var pointer: UnsafeMutablePointer<Float> { buffer.pointer + Self.offset }

    /// The window's values, dense; fails when a column outside the window or past the buffer changed.
    func values(file: StaticString = #filePath, line: UInt = #line) -> [Float] {
        buffer.assertGuardIntact(file: file, line: line)
        let all = buffer.values
        var window: [Float] = []
        for pixel in 0..<pixels {
            let row = all[(pixel * rowStride)..<((pixel + 1) * rowStride)]
            let inside = (row.startIndex + Self.offset)..<(row.startIndex + Self.offset + channels)
            if row.indices.contains(where: { !inside.contains($0) && row[$0] != Self.sentinel }) {
                XCTFail("a write outside the window in pixel \(pixel)", file: file, line: line)
                return []
            }
            window += row[inside]
        }
        return window
    }
}
