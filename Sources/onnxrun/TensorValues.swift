// Formatting numbers, short value lists and attribute values for summaries and comparisons.

import Foundation
import ONNXRun
import ONNXRunConformance

enum TensorValues {
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
        } else if let doubles = tensor.doubleElements {
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
