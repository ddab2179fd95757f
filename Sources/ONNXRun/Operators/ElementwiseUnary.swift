// Elementwise functions of one float tensor: Sigmoid, HardSigmoid, HardSwish, Sqrt, Erf, Exp, Log, Tanh, Neg, Abs, ...
//
// Specs: https://onnx.ai/onnx/operators/onnx__<Op>.html. The opset versions of these operators changed type lists
// (6: consumed_inputs removed; 13: bfloat16) but not the function, so each is registered from its first version
// (listed in `StandardOperators`). Attributes: HardSigmoid alpha = 0.2, beta = 0.5; LeakyRelu alpha = 0.01;
// Elu/Celu/ThresholdedRelu/Swish alpha = 1; Selu alpha/gamma; Gelu approximate = none|tanh.
// Arity: X -> Y. Float32; Neg, Abs and Sign also int32/int64.

import Foundation

struct ElementwiseUnaryOperator: ElementwiseFunctionOperator {
    let function: @Sendable (Float) -> Float
    /// The same function for the vectorized kernels, where they have it.
    let activation: Activation?
    /// For the operators that are also defined on integers.
    let integerFunction: (@Sendable (Int64) -> Int64)?
    let elementwiseFunction: ElementwiseFunction?

    init(_ context: OperatorContext, _ opType: String) throws {
        try context.expectInputs(1...1)
        elementwiseFunction = switch opType {
        case "Sqrt": .squareRoot
        case "Erf": .errorFunction
        default: nil
        }
        integerFunction = switch opType {
        case "Neg": { 0 &- $0 }
        case "Abs": { $0 < 0 ? 0 &- $0 : $0 }
        case "Sign": { $0.signum() }
        default: nil
        }
        activation = try Self.activation(context, opType)
        switch opType {
        case "Sigmoid": function = { 1 / (1 + expf(-$0)) }
        case "HardSigmoid":
            let alpha = try context.float("alpha", default: 0.2), beta = try context.float("beta", default: 0.5)
            function = { max(0, min(1, alpha * $0 + beta)) }
        case "HardSwish": function = { $0 * max(0, min(1, $0 / 6 + 0.5)) }
        case "Sqrt": function = { $0.squareRoot() }
        case "Erf": function = { erff($0) }
        case "Exp": function = { expf($0) }
        case "Log": function = { logf($0) }
        case "Tanh": function = { tanhf($0) }
        case "Neg": function = { -$0 }
        case "Abs": function = { abs($0) }
        case "Reciprocal": function = { 1 / $0 }
        case "Floor": function = { $0.rounded(.down) }
        case "Ceil": function = { $0.rounded(.up) }
        case "Round": function = { $0.rounded(.toNearestOrEven) }
        case "Sign": function = { $0 > 0 ? 1 : ($0 < 0 ? -1 : $0) }
        case "Sin": function = { sinf($0) }
        case "Cos": function = { cosf($0) }
        case "Tan": function = { tanf($0) }
        case "Asin": function = { asinf($0) }
        case "Acos": function = { acosf($0) }
        case "Atan": function = { atanf($0) }
        case "Sinh": function = { sinhf($0) }
        case "Cosh": function = { coshf($0) }
        case "Asinh": function = { asinhf($0) }
        case "Acosh": function = { acoshf($0) }
        case "Atanh": function = { atanhf($0) }
        case "Softplus": function = { $0 > 0 ? $0 + log1pf(expf(-$0)) : log1pf(expf($0)) }
        case "Softsign": function = { $0 / (1 + abs($0)) }
        case "Mish": function = { $0 * tanhf($0 > 0 ? $0 + log1pf(expf(-$0)) : log1pf(expf($0))) }
        case "LeakyRelu":
            let alpha = try context.float("alpha", default: 0.01)
            function = { $0 >= 0 ? $0 : alpha * $0 }
        case "Elu":
            let alpha = try context.float("alpha", default: 1)
            function = { $0 >= 0 ? $0 : alpha * (expf($0) - 1) }
        case "Celu":
            let alpha = try context.float("alpha", default: 1)
            function = { max(0, $0) + min(0, alpha * (expf($0 / alpha) - 1)) }
        case "Selu":
            let alpha = try context.float("alpha", default: 1.67326319217681884765625)
            let gamma = try context.float("gamma", default: 1.05070102214813232421875)
            function = { $0 > 0 ? gamma * $0 : gamma * (alpha * expf($0) - alpha) }
        case "Swish":
            let alpha = try context.float("alpha", default: 1)
            function = { $0 / (1 + expf(-alpha * $0)) }
        case "Shrink":
            let lambda = try context.float("lambd", default: 0.5), bias = try context.float("bias", default: 0)
            function = { $0 < -lambda ? $0 + bias : ($0 > lambda ? $0 - bias : 0) }
        case "ThresholdedRelu":
            let alpha = try context.float("alpha", default: 1)
            function = { $0 > alpha ? $0 : 0 }
        case "Gelu":
            let approximation = try context.string("approximate", default: "none")
            switch approximation {
            case "none": function = { 0.5 * $0 * (1 + erff($0 * Float(0.5.squareRoot()))) }
            case "tanh":
                let scale = Float((2 / Double.pi).squareRoot())
                function = { 0.5 * $0 * (1 + tanhf(scale * ($0 + 0.044715 * $0 * $0 * $0))) }
            default: throw context.invalid("approximate '\(approximation)' is not 'none' or 'tanh'")
            }
        default:
            throw context.unsupported("\(opType) is not an elementwise function onnxrun knows")
        }
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "X").type
        guard x.elementType == .float || (integerFunction != nil && [.int64, .int32].contains(x.elementType)) else {
            throw unsupportedType(x.elementType)
        }
        return [x]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let x = try requiredInput(inputs, 0, "X")
        switch x.elementType {
        case .float: return [Tensor(shape: x.shape, computed: x.floats.map(function))]
        case .int64 where integerFunction != nil:
            return [Tensor(shape: x.shape, computed: x.scalars(as: Int64.self).map(integerFunction!))]
        case .int32 where integerFunction != nil:
            return [Tensor(shape: x.shape, computed: x.scalars(as: Int32.self).map {
                Int32(truncatingIfNeeded: integerFunction!(Int64($0)))
            })]
        default: throw unsupportedType(x.elementType)
        }
    }

    private static func activation(_ context: OperatorContext, _ opType: String) throws -> Activation? {
        switch opType {
        case "Sigmoid": return .sigmoid
        case "HardSigmoid":
            return .hardSigmoid(alpha: try context.float("alpha", default: 0.2), beta: try context.float("beta", default: 0.5))
        case "HardSwish": return .hardSwish
        case "Swish": return .swish(alpha: try context.float("alpha", default: 1))
        case "LeakyRelu": return .leakyRelu(alpha: try context.float("alpha", default: 0.01))
        case "Gelu": return try context.string("approximate", default: "none") == "tanh" ? .geluTanh : .gelu
        case "Tanh": return .tanh
        case "Exp": return .exp
        case "Erf": return .erf
        case "Neg": return .negate
        case "Abs": return .absolute
        case "Sqrt": return .squareRoot
        case "Reciprocal": return .reciprocal
        default: return nil
        }
    }

    /// Operator types and the opset each first appeared in.
    static let firstVersions: [(String, Int)] = [
        ("Sigmoid", 1), ("HardSigmoid", 1), ("HardSwish", 14), ("Sqrt", 1), ("Erf", 9), ("Exp", 1), ("Log", 1),
        ("Tanh", 1), ("Neg", 1), ("Abs", 1), ("Reciprocal", 1), ("Floor", 1), ("Ceil", 1), ("Round", 11),
        ("Sign", 9), ("Sin", 7), ("Cos", 7), ("Tan", 7), ("Asin", 7), ("Acos", 7), ("Atan", 7), ("Sinh", 9),
        ("Cosh", 9), ("Asinh", 9), ("Acosh", 9), ("Atanh", 9), ("Softplus", 1), ("Softsign", 1), ("Mish", 18),
        ("LeakyRelu", 1), ("Elu", 1), ("Celu", 12), ("Selu", 1), ("ThresholdedRelu", 10), ("Gelu", 20),
        ("Swish", 24), ("Shrink", 9),
    ]
}

// MARK: - Optimizer hooks

extension ElementwiseUnaryOperator: ConstantInputPacking {
    /// On float tensors, the functions the vectorized kernel has run there (`ElementwiseActivation`).
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard let activation, inputs.first??.type.elementType == .float else { return nil }
        return PackedOperator(op: ElementwiseActivation(function: activation), opType: activation.operatorName,
                              remainingInputs: [0])
    }
}
