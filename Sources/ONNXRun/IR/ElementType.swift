// The element types of ONNX tensors (TensorProto.DataType), with their sizes.

/// An ONNX tensor element type. Raw values are `TensorProto.DataType` numbers.
public enum ElementType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case float = 1
    case uint8 = 2
    case int8 = 3
    case uint16 = 4
    case int16 = 5
    case int32 = 6
    case int64 = 7
    case string = 8
    case bool = 9
    case float16 = 10
    case double = 11
    case uint32 = 12
    case uint64 = 13
    case bfloat16 = 16

    /// Bytes per element in `raw_data` and in memory; strings have no fixed size (0).
    public var byteSize: Int {
        switch self {
        case .bool, .int8, .uint8: 1
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float, .int32, .uint32: 4
        case .double, .int64, .uint64: 8
        case .string: 0
        }
    }

    /// The name ONNX uses in its type constraints (`tensor(float)` is written `float`).
    public var description: String {
        switch self {
        case .float: "float"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .string: "string"
        case .bool: "bool"
        case .float16: "float16"
        case .double: "double"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .bfloat16: "bfloat16"
        }
    }
}

/// A Swift type that can be the element of a `Tensor`.
public protocol TensorElement: Sendable {
    static var elementType: ElementType { get }
}

extension Float: TensorElement { public static var elementType: ElementType { .float } }
extension Double: TensorElement { public static var elementType: ElementType { .double } }
extension Int64: TensorElement { public static var elementType: ElementType { .int64 } }
extension Int32: TensorElement { public static var elementType: ElementType { .int32 } }
extension Int16: TensorElement { public static var elementType: ElementType { .int16 } }
extension Int8: TensorElement { public static var elementType: ElementType { .int8 } }
extension UInt64: TensorElement { public static var elementType: ElementType { .uint64 } }
extension UInt32: TensorElement { public static var elementType: ElementType { .uint32 } }
extension UInt16: TensorElement { public static var elementType: ElementType { .uint16 } }
extension UInt8: TensorElement { public static var elementType: ElementType { .uint8 } }
// Bool is one byte (0 or 1) in memory, as in ONNX raw_data.
extension Bool: TensorElement { public static var elementType: ElementType { .bool } }
