// The option values `classify` parses (its per-image JSON is `FileClassification.jsonObject`, in ONNXRunVision).

import ArgumentParser
import Foundation
import ONNXRunVision

enum ClassifyOptionValues {
    /// `R,G,B` or one value for all channels, as floats; a ValidationError otherwise.
    static func numbers(_ text: String, option: String) throws -> [Float] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { Float($0) }
        guard values.count == parts.count, [1, 3].contains(values.count), values.allSatisfy(\.isFinite) else {
            throw ValidationError("\(option) expects 1 or 3 comma-separated numbers (0...1 scale), got '\(text)'")
        }
        return values
    }
}
