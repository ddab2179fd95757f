// Concrete input shapes from declared ones: a symbolic batch from --batch, other symbols from --dim NAME=SIZE,
// whole shapes from --shape NAME=d0,d1,...

import ArgumentParser
import ONNXRun

struct InputShapes {
    /// The size of a symbolic (or unknown) first dimension.
    var batch: Int
    /// Sizes of named dimensions, from `--dim NAME=SIZE`.
    var namedSizes: [String: Int]
    /// Whole shapes of inputs, by input name, from `--shape NAME=d0,d1,...`.
    var inputShapes: [String: [Int]]

    /// Parses `NAME=SIZE` and `NAME=d0,d1,...` arguments.
    init(batch: Int, dimensionArguments: [String], shapeArguments: [String] = []) throws {
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
        var shapes: [String: [Int]] = [:]
        for argument in shapeArguments {
            // The last '=' splits, so input names may contain '='.
            guard let equals = argument.lastIndex(of: "="), equals != argument.startIndex else {
                throw ValidationError("--shape expects NAME=d0,d1,... got '\(argument)'")
            }
            let dimensions = argument[argument.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
                .map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !dimensions.isEmpty, dimensions.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                throw ValidationError("--shape expects NAME=d0,d1,... with non-negative sizes, got '\(argument)'")
            }
            shapes[String(argument[..<equals])] = dimensions.compactMap { $0 }
        }
        inputShapes = shapes
    }

    /// Input names given to --shape that are not among `names`.
    func unknownShapeNames(among names: [String]) -> [String] {
        inputShapes.keys.filter { !names.contains($0) }.sorted()
    }

    /// The shape to feed `input`: --shape's when given (checked against the declared rank and fixed dimensions),
    /// else fixed dimensions as declared, the first symbolic one is the batch.
    func shape(of input: ValueInfo) throws -> [Int] {
        guard let type = input.type else {
            throw ONNXRunError(.unsupported, "input '\(input.name)' is not a tensor")
        }
        if let given = inputShapes[input.name] {
            if let declared = type.shape {
                let fits = declared.count == given.count
                    && zip(declared, given).allSatisfy { dimension, size in dimension.value.map { $0 == size } ?? true }
                guard fits else {
                    throw CommandLineError("--shape \(input.name)=\(given.map(String.init).joined(separator: ",")) does "
                                               + "not fit the declared \(type)")
                }
            }
            return given
        }
        guard let declared = type.shape else {
            throw CommandLineError("input '\(input.name)' has no declared rank; give its shape with "
                                       + "--shape \(input.name)=d0,d1,...")
        }
        return try declared.enumerated().map { axis, dimension in
            switch dimension {
            case .fixed(let value): return value
            case .symbolic(let name):
                if let size = namedSizes[name] { return size }
                if axis == 0 { return batch }
                throw CommandLineError("input '\(input.name)' has the symbolic dimension '\(name)' at axis \(axis); "
                                           + "give its size with --dim \(name)=SIZE or the input's shape with "
                                           + "--shape \(input.name)=d0,d1,...")
            case .unknown:
                if axis == 0 { return batch }
                throw CommandLineError("input '\(input.name)' has an unknown dimension at axis \(axis) "
                                           + "(\(type)); give its shape with --shape \(input.name)=d0,d1,...")
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
