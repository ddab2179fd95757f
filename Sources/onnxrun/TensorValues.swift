// Reading any numeric tensor's elements as Double, and formatting short value lists, for summaries and comparisons.

import Foundation
import ONNXRun

enum TensorValues {
    // MARK: - Elements as Double

    /// Every element widened to Double; nil for string tensors.
    static func doubles(_ tensor: Tensor) -> [Double]? {
        switch tensor.elementType {
        case .float: return tensor.scalars(as: Float.self).map(Double.init)
        case .double: return tensor.scalars(as: Double.self)
        case .float16: return halfWords(tensor).map { Double(floatFromHalf($0)) }
        // bfloat16 is the upper half of a float32.
        case .bfloat16: return halfWords(tensor).map { Double(Float(bitPattern: UInt32($0) << 16)) }
        case .uint64: return tensor.scalars(as: UInt64.self).map(Double.init)
        case .string: return nil
        default: return tensor.integers?.map(Double.init)
        }
    }

    private static func halfWords(_ tensor: Tensor) -> [UInt16] {
        tensor.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
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

    // MARK: - Formatting

    /// A number the way people read it: integers without a fraction, others with up to 6 significant digits.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        if abs(value) >= 3.0e38 { return value < 0 ? "-FLT_MAX" : "FLT_MAX" }
        return String(format: "%.6g", value)
    }

    /// `6`, `[1,-1]`, or `[1,2,3,4,…] (100 values)` for long tensors; strings are quoted.
    static func describeValues(_ tensor: Tensor, limit: Int = 8) -> String {
        let values: [String]
        if tensor.elementType == .string {
            return "\(tensor)"
        } else if let integers = tensor.integers {
            // Exact: int64 sentinels like INT64_MIN (Slice's "to the start") must not go through Double.
            values = integers.prefix(limit).map(String.init)
        } else if tensor.elementType == .uint64 {
            values = tensor.scalars(as: UInt64.self).prefix(limit).map(String.init)
        } else if let doubles = doubles(tensor) {
            values = doubles.prefix(limit).map(format)
        } else {
            return "\(tensor)"
        }
        let list = values.joined(separator: ",")
        if tensor.rank == 0 { return list }
        if tensor.elementCount > limit { return "[\(list),…] (\(tensor.elementCount) values)" }
        return "[\(list)]"
    }

    /// An attribute value with long lists shortened.
    static func describe(_ value: AttributeValue, limit: Int = 16) -> String {
        func list(_ items: [String]) -> String {
            let shown = items.prefix(limit).joined(separator: ",")
            return items.count > limit ? "[\(shown),…] (\(items.count) values)" : "[\(shown)]"
        }
        switch value {
        case .float(let value): return format(Double(value))
        case .int(let value): return String(value)
        case .string(let value): return quoted(value)
        case .tensor(let tensor):
            return tensor.elementCount <= limit ? "\(tensor) \(describeValues(tensor, limit: limit))" : "\(tensor)"
        case .floats(let values): return list(values.map { format(Double($0)) })
        case .ints(let values): return list(values.map(String.init))
        case .strings(let values): return list(values.map(quoted))
        case .unsupported(let kind): return "<\(kind)>"
        }
    }

    /// A string in double quotes with control characters escaped, so one attribute stays on one line.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
