// Comparing a computed tensor with a reference one within tolerances, and reading any numeric tensor as Doubles.

import Foundation
import ONNXRun

/// An element passes when `|actual - expected| <= absolute + relative * |expected|` (numpy's `isclose`).
public struct Tolerance: Sendable, Equatable, CustomStringConvertible {
    public var relative: Double
    public var absolute: Double

    public init(relative: Double, absolute: Double) {
        self.relative = relative
        self.absolute = absolute
    }

    /// What the ONNX backend tests' own runner uses by default (`onnx.backend.test.runner`).
    public static let backendTests = Tolerance(relative: 1e-3, absolute: 1e-5)

    public var description: String { "rtol \(relative), atol \(absolute)" }

    func accepts(_ actual: Double, _ expected: Double) -> Bool {
        if actual == expected || (actual.isNaN && expected.isNaN) { return true }  // equal infinities, both NaN
        return abs(actual - expected) <= absolute + relative * abs(expected)
    }
}

public enum TensorComparison {
    /// nil when `actual` has `expected`'s element type and shape and every element is within `tolerance`
    /// (floating-point types; NaN matches NaN) or equal (every other type); otherwise what differs: the shapes, or
    /// how many elements are off, the largest absolute and relative differences and where.
    public static func mismatch(_ actual: Tensor, expected: Tensor, tolerance: Tolerance) -> String? {
        guard actual.elementType == expected.elementType else {
            return "type \(actual), expected \(expected)"
        }
        guard actual.shape == expected.shape else {
            return "shape \(describeShape(actual.shape)), expected \(describeShape(expected.shape))"
        }
        guard let actualValues = actual.doubleElements, let expectedValues = expected.doubleElements else {
            return "cannot compare \(actual.elementType) tensors"
        }
        let isFloatingPoint = [.float, .double, .float16, .bfloat16].contains(actual.elementType)
        // Integers compare exactly; their Double widening is exact below 2^53, and int64 beyond that goes through
        // `integers` (uint64 is never that large in the suites, and a mismatch would still show as different).
        let exactIntegers = isFloatingPoint ? nil : actual.integers.flatMap { a in expected.integers.map { (a, $0) } }
        var offCount = 0
        var worstAbsolute = (difference: 0.0, index: 0)
        var worstRelative = 0.0
        for index in actualValues.indices {
            let a = actualValues[index], e = expectedValues[index]
            let matches = if let exactIntegers {
                exactIntegers.0[index] == exactIntegers.1[index]
            } else if isFloatingPoint {
                tolerance.accepts(a, e)
            } else {
                a == e
            }
            if matches { continue }
            offCount += 1
            let difference = a.isNaN || e.isNaN ? Double.infinity : abs(a - e)
            if offCount == 1 || difference > worstAbsolute.difference { worstAbsolute = (difference, index) }
            worstRelative = max(worstRelative, e == 0 ? .infinity : difference / abs(e))
        }
        guard offCount > 0 else { return nil }
        let index = worstAbsolute.index
        let position = describeShape(coordinates(of: index, in: actual.shape))
        var text = "\(offCount) of \(actualValues.count) elements differ (\(actual))"
        if isFloatingPoint {
            text += " beyond \(tolerance): max abs diff \(format(worstAbsolute.difference)), max rel diff "
                + "\(format(worstRelative)); worst at \(position)"
        } else {
            text += "; largest difference at \(position)"
        }
        return text + ": \(format(actualValues[index])), expected \(format(expectedValues[index]))"
    }

    private static func coordinates(of index: Int, in shape: [Int]) -> [Int] {
        var remainder = index
        var result = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            result[axis] = remainder % shape[axis]
            remainder /= shape[axis]
        }
        return result
    }

    private static func format(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.6g", value)
    }
}

// MARK: - Elements as Double

extension Tensor {
    /// Every element widened to Double (float16 and bfloat16 decoded, bool as 0/1); nil for string tensors.
    public var doubleElements: [Double]? {
        switch elementType {
        case .float: return scalars(as: Float.self).map(Double.init)
        case .double: return scalars(as: Double.self)
        case .float16: return halfWords.map { Double(Self.floatFromHalf($0)) }
        // bfloat16 is the upper half of a float32.
        case .bfloat16: return halfWords.map { Double(Float(bitPattern: UInt32($0) << 16)) }
        case .uint64: return scalars(as: UInt64.self).map(Double.init)
        case .string: return nil
        default: return integers?.map(Double.init)
        }
    }

    /// The raw 16-bit words of a float16 or bfloat16 tensor.
    private var halfWords: [UInt16] {
        withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
    }

    /// IEEE 754 binary16 to Float (subnormals, infinities and NaN included).
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign: Float = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int((bits >> 10) & 0x1F)
        let fraction = Float(bits & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * Float(sign: .plus, exponent: -24, significand: 1)
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}
