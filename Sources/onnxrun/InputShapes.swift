// Concrete input shapes from declared ones: a symbolic batch from --batch, other symbols from --dim NAME=SIZE.

import ArgumentParser
import ONNXRun

struct InputShapes {
    /// The size of a symbolic (or unknown) first dimension.
    var batch: Int
    /// Sizes of named dimensions, from `--dim NAME=SIZE`.
    var namedSizes: [String: Int]

    /// Parses `NAME=SIZE` arguments.
    init(batch: Int, dimensionArguments: [String]) throws {
        self.batch = batch
        var sizes: [String: Int] = [:]
        for argument in dimensionArguments {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let size = Int(parts[1]), size > 0 else {
                throw ValidationError("--dim expects NAME=SIZE with a positive size, got '\(argument)'")
            }
            sizes[parts[0]] = size
        }
        namedSizes = sizes
    }

    /// The shape to feed `input`: fixed dimensions as declared, the first symbolic one is the batch.
    func shape(of input: ValueInfo) throws -> [Int] {
        guard let type = input.type else {
            throw ONNXRunError(.unsupported, "input '\(input.name)' is not a tensor")
        }
        guard let declared = type.shape else {
            throw CommandLineError("input '\(input.name)' has no declared rank; cannot make an input for it")
        }
        return try declared.enumerated().map { axis, dimension in
            switch dimension {
            case .fixed(let value): return value
            case .symbolic(let name):
                if let size = namedSizes[name] { return size }
                if axis == 0 { return batch }
                throw CommandLineError("input '\(input.name)' has the symbolic dimension '\(name)' at axis \(axis); "
                                           + "give its size with --dim \(name)=SIZE")
            case .unknown:
                if axis == 0 { return batch }
                throw CommandLineError("input '\(input.name)' has an unknown dimension at axis \(axis) "
                                           + "(\(type)); cannot make an input for it")
            }
        }
    }
}

// MARK: - Seeded random inputs

/// SplitMix64: a tiny, seedable generator so benchmark inputs are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

extension Tensor {
    /// Uniform values in [-1, 1) for float tensors; zeros (valid indices and shapes) for the other element types.
    static func random(_ elementType: ElementType, shape: [Int], generator: inout SeededGenerator) throws -> Tensor {
        // 2^28 elements (1 GiB of floats) is far beyond any image batch; larger is a typo in --batch or --dim.
        guard let count = checkedElementCount(shape, limit: 1 << 28) else {
            throw CommandLineError("input shape \(describeShape(shape)) is too large to generate")
        }
        switch elementType {
        case .float:
            var values = [Float](repeating: 0, count: count)
            for index in values.indices { values[index] = Float.random(in: -1..<1, using: &generator) }
            return try Tensor(shape: shape, floats: values)
        case .double:
            var values = [Double](repeating: 0, count: count)
            for index in values.indices { values[index] = Double.random(in: -1..<1, using: &generator) }
            return try Tensor(shape: shape, scalars: values)
        case .string:
            throw ONNXRunError(.unsupported, "string inputs are not supported")
        default:
            return Tensor(zeros: elementType, shape: shape)
        }
    }
}
