// Every registered operator, fed random shapes, types and values (including negative and huge integers), must
// return or throw ONNXRunError — never trap. Deterministic: seed 20261129, or ONNXRUN_FUZZ_SEED to explore others.

import XCTest
@testable import ONNXRun

final class OperatorRobustnessTests: XCTestCase {
    /// A small deterministic generator (SplitMix64).
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func randomTensor(_ generator: inout Generator) -> Tensor {
        let rank = Int.random(in: 0...4, using: &generator)
        let shape = (0..<rank).map { _ in Int.random(in: 0...3, using: &generator) }
        let count = shape.reduce(1, *)
        switch Int.random(in: 0..<5, using: &generator) {
        case 0, 1:
            return Tensor(shape: shape, computed: (0..<count).map { _ in Float.random(in: -4...4, using: &generator) })
        case 2:
            let specials: [Int64] = [0, 1, -1, 2, 3, Int64.max, Int64.min, 1 << 40, -(1 << 40)]
            return Tensor(shape: shape, computed: (0..<count).map { _ in
                Int.random(in: 0..<4, using: &generator) > 0 ? Int64.random(in: -3...3, using: &generator)
                    : specials.randomElement(using: &generator)!
            })
        case 3:
            return Tensor(shape: shape, computed: (0..<count).map { _ in Bool.random(using: &generator) })
        default:
            return Tensor(shape: shape, computed: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
    }

    private func randomAttributes(_ generator: inout Generator) -> [String: AttributeValue] {
        let names = ["axis", "axes", "perm", "kernel_shape", "strides", "pads", "dilations", "group", "keepdims",
                     "to", "value", "shape", "starts", "ends", "split", "blocksize", "k", "alpha", "mode", "auto_pad",
                     "num_outputs", "block_size", "p", "direction", "reduction", "ceil_mode", "output_shape"]
        var attributes: [String: AttributeValue] = [:]
        for _ in 0..<[0, 0, 1, 2, 3].randomElement(using: &generator)! {
            let name = names.randomElement(using: &generator)!
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: attributes[name] = .int([0, 1, -1, 2, 3, Int.max, Int.min, 1 << 40].randomElement(using: &generator)!)
            case 1: attributes[name] = .ints((0..<Int.random(in: 0...4, using: &generator)).map { _ in Int.random(in: -3...3, using: &generator) })
            case 2: attributes[name] = .float([0, 1, -1, .nan, .infinity].randomElement(using: &generator)!)
            case 3: attributes[name] = .string(["LEFT", "constant", "SAME_UPPER", "reflect", "sum", "x"].randomElement(using: &generator)!)
            default: attributes[name] = .tensor(randomTensor(&generator))
            }
        }
        return attributes
    }

    func testRandomInputsNeverTrap() {
        let seed = ProcessInfo.processInfo.environment["ONNXRUN_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_129
        var generator = Generator(state: seed)
        var outcomes = (ran: 0, threw: 0)
        for definition in OperatorRegistry.standard.all {
            for _ in 0..<400 {
                let inputCount = [1, 1, 2, 2, 2, 3, 3, 4, 5, 0, 8, 9].randomElement(using: &generator)!
                let inputs: [Tensor?] = (0..<inputCount).map { _ in
                    Int.random(in: 0..<8, using: &generator) == 0 ? nil : randomTensor(&generator)
                }
                let opset = Int.random(in: definition.opsets, using: &generator)
                let node = Node(name: "fuzz", opType: definition.opType,
                                inputs: inputs.enumerated().map { $0.element == nil ? "" : "input_\($0.offset)" },
                                outputs: (0..<Int.random(in: 1...3, using: &generator)).map { "output_\($0)" },
                                attributes: randomAttributes(&generator))
                do {
                    let operation = try definition.build(OperatorContext(node: node, opset: opset))
                    _ = try? operation.inferOutputs(inputs.map { $0.map { InferenceValue(constant: $0) } })
                    _ = try operation.run(inputs)
                    outcomes.ran += 1
                } catch is ONNXRunError {
                    outcomes.threw += 1
                } catch {
                    XCTFail("\(definition.opType): a non-ONNXRunError \(error)")
                }
            }
        }
        print("fuzz: \(outcomes.ran) runs completed, \(outcomes.threw) threw ONNXRunError")
        XCTAssertGreaterThan(outcomes.ran, 0)
    }
}
