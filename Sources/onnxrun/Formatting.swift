// Number, size and name formatting shared by the commands' text output.

import Foundation
import ONNXRun
import ONNXRunConformance

enum Formatting {
    /// `3504872` -> `3,504,872`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { result += "," }
            result.append(character)
        }
        return value < 0 ? "-" + result : result
    }

    /// `300774272` -> `300.8M`: counts of operations, with k/M/G suffixes.
    static func abbreviated(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e12 { return String(format: "%.1fT", value / 1e12) }
        if magnitude >= 1e9 { return String(format: "%.2fG", value / 1e9) }
        if magnitude >= 1e6 { return String(format: "%.1fM", value / 1e6) }
        if magnitude >= 1e3 { return String(format: "%.1fk", value / 1e3) }
        return String(format: "%.0f", value)
    }

    /// `14019488` -> `13.37 MiB`.
    static func bytes(_ count: Int) -> String {
        let value = Double(count)
        if count >= 1 << 30 { return String(format: "%.2f GiB", value / Double(1 << 30)) }
        if count >= 1 << 20 { return String(format: "%.2f MiB", value / Double(1 << 20)) }
        if count >= 1 << 10 { return String(format: "%.1f KiB", value / Double(1 << 10)) }
        return "\(count) B"
    }

    /// Milliseconds with precision that fits the size.
    static func milliseconds(_ seconds: Double) -> String {
        let value = seconds * 1000
        if value >= 100 { return String(format: "%.1f", value) }
        if value >= 1 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }

    /// A name from a file made safe for one line of a terminal: control characters escaped, "" shown as `""`.
    static func printable(_ name: String) -> String {
        if name.isEmpty { return "\"\"" }
        guard name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return name }
        return TensorValues.quoted(name)
    }

    /// `float[batch,3,224,224]`, or `?` when nothing is known.
    static func type(_ type: TensorType?) -> String {
        type.map(\.description) ?? "?"
    }

    /// Left-aligns `text` in a column of `width` characters.
    static func padded(_ text: String, to width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Right-aligns `text` in a column of `width` characters.
    static func rightAligned(_ text: String, to width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}

// MARK: - JSON

enum JSONOutput {
    /// Serializes with sorted keys; non-finite numbers must already be replaced (see `number`).
    static func string(_ object: Any) throws -> String {
        guard JSONSerialization.isValidJSONObject(object) else {
            throw ONNXRunError(.invalidArgument, "internal: the JSON output is not a valid JSON object")
        }
        let data = try JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// A number for JSON: NaN and infinities (which JSON lacks) become the strings "nan", "inf", "-inf".
    static func number(_ value: Double) -> Any {
        value.isFinite ? value : TensorValues.format(value)
    }

    /// A shape for JSON: numbers for fixed dimensions, names for symbolic ones, null for unknown ones.
    static func shape(_ shape: [ONNXRun.Dimension]?) -> Any {
        guard let shape else { return NSNull() }
        return shape.map { dimension -> Any in
            switch dimension {
            case .fixed(let value): value
            case .symbolic(let name): name
            case .unknown: NSNull()
            }
        }
    }

    /// `{"type": "float", "shape": [...]}`, or null.
    static func type(_ type: TensorType?) -> Any {
        guard let type else { return NSNull() }
        return ["type": type.elementType.description, "shape": shape(type.shape)] as [String: Any]
    }

    /// A tensor's values as JSON numbers (null for string tensors); integers stay exact.
    static func values(_ tensor: Tensor) -> Any {
        if let integers = tensor.integers {
            return tensor.rank == 0 && integers.count == 1 ? integers[0] : integers
        }
        if let doubles = tensor.doubleElements {
            let numbers = doubles.map(number)
            return tensor.rank == 0 && numbers.count == 1 ? numbers[0] : numbers
        }
        return NSNull()
    }

    static func attribute(_ value: AttributeValue) -> Any {
        switch value {
        case .float(let value): number(Double(value))
        case .int(let value): value
        case .string(let value): value
        case .floats(let values): values.map { number(Double($0)) }
        case .ints(let values): values
        case .strings(let values): values
        case .tensor(let tensor):
            tensor.elementCount <= 64
                ? ["type": tensor.elementType.description, "shape": tensor.shape, "values": values(tensor)]
                    as [String: Any]
                : ["type": tensor.elementType.description, "shape": tensor.shape] as [String: Any]
        case .unsupported(let kind): ["unsupported": kind]
        }
    }
}
