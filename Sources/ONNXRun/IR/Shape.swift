// Static shapes: dimensions that are numbers, named symbols (a dynamic batch), or unknown.

/// One dimension of a declared or inferred shape.
public enum Dimension: Hashable, Sendable, CustomStringConvertible {
    case fixed(Int)
    /// A named dimension (`dim_param`), e.g. "batch"; bound to a number when the model runs.
    case symbolic(String)
    /// Neither a value nor a name is known.
    case unknown

    public var value: Int? {
        if case .fixed(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .fixed(let value): String(value)
        case .symbolic(let name): name
        case .unknown: "?"
        }
    }
}

/// The element type and (possibly partial) shape of a value, as declared or inferred.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var elementType: ElementType
    /// nil when even the rank is unknown.
    public var shape: [Dimension]?

    public init(elementType: ElementType, shape: [Dimension]?) {
        self.elementType = elementType
        self.shape = shape
    }

    public init(elementType: ElementType, fixedShape: [Int]) {
        self.elementType = elementType
        self.shape = fixedShape.map { .fixed($0) }
    }

    /// The shape as numbers, when every dimension is known.
    public var fixedShape: [Int]? {
        guard let shape else { return nil }
        var result: [Int] = []
        result.reserveCapacity(shape.count)
        for dimension in shape {
            guard let value = dimension.value else { return nil }
            result.append(value)
        }
        return result
    }

    public var description: String {
        guard let shape else { return "\(elementType)[?]" }
        return "\(elementType)[\(shape.map(\.description).joined(separator: ","))]"
    }
}

/// Formats a concrete shape the way errors and `inspect` print it: `[1,3,224,224]`.
public func describeShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ",") + "]"
}

/// The number of elements of a shape, or nil when a dimension is negative or the product overflows `limit`.
public func checkedElementCount(_ shape: [Int], limit: Int = Int.max) -> Int? {
    var count = 1
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
        guard !overflow, product <= limit else { return nil }
        count = product
    }
    return count
}
