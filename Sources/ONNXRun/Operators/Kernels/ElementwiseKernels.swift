// Activations as the C kernels take them, and the vectorized elementwise kernels: unary functions, binary arithmetic
// with broadcasting (C kernels).

import CKernels

// MARK: - Activations in the C kernels

extension Activation {
    /// The clamp the kernels apply first (their `min`/`max`); everything else is the `kernelFunction` after it.
    var kernelClamp: ClampBounds {
        if case .clamp(let bounds) = self { return bounds }
        return .none
    }

    /// The function the kernels apply after the clamp (the identity for a clamp).
    var kernelFunction: ork_activation {
        func function(_ kind: ork_activation_kind, _ alpha: Float = 0, _ beta: Float = 0) -> ork_activation {
            ork_activation(kind: Int32(kind.rawValue), alpha: alpha, beta: beta)
        }
        switch self {
        case .clamp: return function(ORK_ACTIVATION_IDENTITY)
        case .sigmoid: return function(ORK_ACTIVATION_SIGMOID)
        case .hardSigmoid(let alpha, let beta): return function(ORK_ACTIVATION_HARD_SIGMOID, alpha, beta)
        case .hardSwish: return function(ORK_ACTIVATION_HARD_SWISH)
        case .swish(let alpha): return function(ORK_ACTIVATION_SWISH, alpha)
        case .leakyRelu(let alpha): return function(ORK_ACTIVATION_LEAKY_RELU, alpha)
        case .gelu: return function(ORK_ACTIVATION_GELU)
        case .geluTanh: return function(ORK_ACTIVATION_GELU_TANH)
        case .tanh: return function(ORK_ACTIVATION_TANH)
        case .exp: return function(ORK_ACTIVATION_EXP)
        case .erf: return function(ORK_ACTIVATION_ERF)
        case .negate: return function(ORK_ACTIVATION_NEGATE)
        case .absolute: return function(ORK_ACTIVATION_ABSOLUTE)
        case .squareRoot: return function(ORK_ACTIVATION_SQUARE_ROOT)
        case .reciprocal: return function(ORK_ACTIVATION_RECIPROCAL)
        case .square: return function(ORK_ACTIVATION_SQUARE)
        }
    }

    /// The op type of the optimizer's node computing this activation alone (what the profiler shows).
    var operatorName: String {
        switch self {
        case .clamp: "Clip"
        case .sigmoid: "Sigmoid"
        case .hardSigmoid: "HardSigmoid"
        case .hardSwish: "HardSwish"
        case .swish: "Swish"
        case .leakyRelu: "LeakyRelu"
        case .gelu: "Gelu"
        case .geluTanh: "GeluTanh"
        case .tanh: "Tanh"
        case .exp: "Exp"
        case .erf: "Erf"
        case .negate: "Neg"
        case .absolute: "Abs"
        case .squareRoot: "Sqrt"
        case .reciprocal: "Reciprocal"
        case .square: "Square"
        }
    }

    /// The whole activation as one kernel function (a clamp included), for the standalone elementwise kernel.
    var standaloneFunction: ork_activation {
        guard case .clamp(let bounds) = self else { return kernelFunction }
        return ork_activation(kind: Int32(ORK_ACTIVATION_CLAMP.rawValue), alpha: bounds.minimum, beta: bounds.maximum)
    }
}

// MARK: - Kernels

enum ElementwiseKernels {
    /// `output[i] = activation(input[i])` for `i` in `range`; output may equal input.
    static func apply(_ activation: Activation, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                      range: Range<Int>) {
        precondition(range.lowerBound >= 0)
        var function = activation.standaloneFunction
        ork_activation_apply(&function, input + range.lowerBound, output + range.lowerBound, range.count)
    }

    /// The C operation of a broadcasting arithmetic operation, if the kernel has it.
    static func binaryOperation(_ operation: ArithmeticOperation) -> ork_binary_operation? {
        switch operation {
        case .add: ORK_BINARY_ADD
        case .subtract: ORK_BINARY_SUBTRACT
        case .multiply: ORK_BINARY_MULTIPLY
        case .divide: ORK_BINARY_DIVIDE
        case .maximum: ORK_BINARY_MAXIMUM
        case .minimum: ORK_BINARY_MINIMUM
        case .power, .modulo, .floatModulo: nil
        }
    }

    /// The broadcast of `a` and `b` to `output` (numpy rules, all shapes valid and broadcast-compatible), collapsed
    /// for the C kernel: size-1 output axes dropped, adjacent axes merged where both operands are contiguous or
    /// broadcast across them. nil when more than `ORK_BROADCAST_MAX_RANK` axes remain.
    static func broadcastGeometry(a: [Int], b: [Int], output: [Int]) -> ork_broadcast? {
        let rank = output.count
        func strides(_ shape: [Int]) -> [Int] {
            let padded = [Int](repeating: 1, count: rank - shape.count) + shape
            var strides = [Int](repeating: 0, count: rank)
            var stride = 1
            for axis in (0..<rank).reversed() {
                strides[axis] = padded[axis] == 1 ? 0 : stride
                stride *= padded[axis]
            }
            return strides
        }
        let aStrides = strides(a), bStrides = strides(b)
        var shape: [Int] = [], aCollapsed: [Int] = [], bCollapsed: [Int] = []
        for axis in 0..<rank where output[axis] != 1 {
            if let last = shape.indices.last, aCollapsed[last] == aStrides[axis] * output[axis],
               bCollapsed[last] == bStrides[axis] * output[axis] {
                shape[last] *= output[axis]
                aCollapsed[last] = aStrides[axis]
                bCollapsed[last] = bStrides[axis]
            } else {
                shape.append(output[axis])
                aCollapsed.append(aStrides[axis])
                bCollapsed.append(bStrides[axis])
            }
        }
        if shape.isEmpty { (shape, aCollapsed, bCollapsed) = ([1], [0], [0]) }
        guard shape.count <= Int(ORK_BROADCAST_MAX_RANK) else { return nil }
        var geometry = ork_broadcast()
        geometry.rank = shape.count
        withUnsafeMutableBytes(of: &geometry.shape) { fill($0, shape) }
        withUnsafeMutableBytes(of: &geometry.a_strides) { fill($0, aCollapsed) }
        withUnsafeMutableBytes(of: &geometry.b_strides) { fill($0, bCollapsed) }
        return geometry
    }

    private static func fill(_ buffer: UnsafeMutableRawBufferPointer, _ values: [Int]) {
        let sizes = buffer.bindMemory(to: Int.self)
        for (index, value) in values.enumerated() { sizes[index] = value }
    }

    /// Output elements `range` of `a operation b` broadcast as `geometry` says.
    static func binary(_ operation: ork_binary_operation, geometry: ork_broadcast, a: UnsafePointer<Float>,
                       b: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, range: Range<Int>) {
        precondition(range.lowerBound >= 0)
        var geometry = geometry
        ork_binary(Int32(operation.rawValue), &geometry, a, b, output, range.lowerBound, range.upperBound)
    }
}
