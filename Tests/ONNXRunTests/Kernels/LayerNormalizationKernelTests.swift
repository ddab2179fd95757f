// The layer normalization C kernel, every ISA level called by name, against the reference LayerNormalization.

import CKernels
import XCTest

@testable import ONNXRun

final class LayerNormalizationKernelTests: XCTestCase {
    private typealias Kernel = (UnsafePointer<ork_layer_norm_args>?, Int, Int) -> Void

    /// The variants this CPU can run, by name; the others are skipped with a message.
    private var variants: [(String, Kernel)] {
        var result: [(String, Kernel)] = [("portable", ork_layer_norm_portable)]
        let detected = KernelInstructionSet.detected
        if detected >= .avx2 { result.append(("avx2", ork_layer_norm_avx2)) } else { print("skipped: no AVX2") }
        if detected >= .avx512 { result.append(("avx512", ork_layer_norm_avx512)) } else { print("skipped: no AVX-512") }
        return result
    }

    func testEveryLevelMatchesTheReference() throws {
        let reference = try LayerNormalizationOperator(OperatorContext(
            node: Node(name: "ln", opType: "LayerNormalization", inputs: ["x", "s", "b"], outputs: ["y"],
                       attributes: ["epsilon": .float(1e-3)]), opset: 17))
        for size in [1, 3, 7, 8, 15, 16, 17, 31, 96, 100] {
            for rows in [1, 5] {
                var seeded = SeededValues(seed: UInt64(size * 10 + rows))
                // An offset so the mean matters, and one row of equal values (variance 0: epsilon alone).
                var input = seeded.array(rows * size).map { $0 * 3 + 2 }
                if rows > 1 { for index in 0..<size { input[size + index] = 0.5 } }
                let scale = seeded.array(size), bias = seeded.array(size)
                for withBias in [true, false] {
                    let expected = try XCTUnwrap(reference.run([
                        try Tensor(shape: [rows, size], floats: input), try Tensor(shape: [size], floats: scale),
                        withBias ? try Tensor(shape: [size], floats: bias) : nil,
                    ]).first).floats
                    for (name, kernel) in variants {
                        let source = GuardedBuffer(input), output = GuardedBuffer(count: rows * size)
                        scale.withUnsafeBufferPointer { scaleValues in
                            bias.withUnsafeBufferPointer { biasValues in
                                var arguments = ork_layer_norm_args(
                                    size: size, input: source.pointer, scale: scaleValues.baseAddress,
                                    bias: withBias ? biasValues.baseAddress : nil, output: output.pointer,
                                    epsilon: 1e-3)
                                kernel(&arguments, 0, rows)
                            }
                        }
                        assertClose(output.values, expected.map(Double.init), tolerance: 1e-5,
                                    "\(name) size \(size) rows \(rows) bias \(withBias)")
                        output.assertGuardIntact()
                    }
                }
            }
        }
    }
}
