// Tensors across the C boundary: shapes checked before any caller memory is read, elements copied in and out.

import Foundation
import ONNXRun

/// `ONNXRUN_MAX_RANK`.
let maximumRank = 8

/// The element types the C API passes, with their Swift element types (float16, bfloat16 and strings: no).
private let elementTypes: [ElementType: any TensorElement.Type] = [
    .float: Float.self, .uint8: UInt8.self, .int8: Int8.self, .uint16: UInt16.self, .int16: Int16.self,
    .int32: Int32.self, .int64: Int64.self, .bool: Bool.self, .double: Double.self, .uint32: UInt32.self,
    .uint64: UInt64.self,
]

/// An `onnxrun_element_type` value from C.
func elementType(_ value: Int32, name: String) throws -> ElementType {
    guard let type = ElementType(rawValue: value), elementTypes[type] != nil else {
        throw ONNXRunError(.invalidArgument, "\(name): element type \(value) is not one the C API passes "
                               + "(float 1, uint8 2, int8 3, uint16 4, int16 5, int32 6, int64 7, bool 9, double 11, "
                               + "uint32 12, uint64 13)")
    }
    return type
}

/// A shape from C: rank 0...8, every dimension >= 0, and an element count (times 8 bytes) that fits in memory.
func shape(_ dimensions: UnsafePointer<Int64>?, rank: Int, name: String) throws -> [Int] {
    guard (0...maximumRank).contains(rank) else {
        throw ONNXRunError(.invalidArgument, "\(name): rank \(rank) is outside 0...\(maximumRank)")
    }
    guard rank == 0 || dimensions != nil else { throw ONNXRunError(.invalidArgument, "\(name): shape is NULL") }
    let shape = (0..<rank).map { Int(dimensions?[$0] ?? 0) }
    guard shape.allSatisfy({ $0 >= 0 }) else {
        throw ONNXRunError(.invalidArgument, "\(name): negative dimension in \(describeShape(shape))")
    }
    var bytes = 8
    for dimension in shape {
        let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
        guard !overflow, product <= Int(Int32.max) * 1024 else {
            throw ONNXRunError(.invalidArgument, "\(name): shape \(describeShape(shape)) is too large")
        }
        bytes = product
    }
    return shape
}

/// Throws unless a tensor of `type` and `shape` fits the model input `input` (element type, rank, fixed
/// dimensions), before the caller's data is read.
func checkFits(_ type: ElementType, _ shape: [Int], input: ValueInfo, source: String) throws {
    guard let declared = input.type else { return }
    var fits = declared.elementType == type
    if let dimensions = declared.shape {
        fits = fits && dimensions.count == shape.count
            && zip(dimensions, shape).allSatisfy { dimension, actual in dimension.value.map { $0 == actual } ?? true }
    }
    guard fits else {
        throw ONNXRunError(.invalidInput, "input '\(input.name)' expects \(declared), got \(type)\(describeShape(shape))",
                           file: source)
    }
}

/// A tensor holding a copy of the caller's elements at `data`.
func tensor(copying data: UnsafeRawPointer?, type: ElementType, shape: [Int], name: String) throws -> Tensor {
    let count = shape.reduce(1, *)
    guard count == 0 || data != nil else { throw ONNXRunError(.invalidArgument, "\(name): data is NULL") }
    guard let swiftType = elementTypes[type] else { throw ONNXRunError(.invalidArgument, "\(name): type \(type)") }
    if type == .bool {
        // A C byte other than 0 or 1 is not a valid Swift Bool: normalize.
        let bytes = copy(count, of: UInt8.self, from: data)
        return try Tensor(shape: shape, scalars: bytes.map { $0 != 0 })
    }
    return try makeTensor(swiftType, shape: shape, data: data)
}

private func copy<Element: TensorElement>(_ count: Int, of type: Element.Type, from data: UnsafeRawPointer?) -> [Element] {
    [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
        if let data, let base = buffer.baseAddress {
            UnsafeMutableRawPointer(base).copyMemory(from: data, byteCount: count * MemoryLayout<Element>.stride)
        }
        initialized = count
    }
}

private func makeTensor<Element: TensorElement>(_ type: Element.Type, shape: [Int],
                                                 data: UnsafeRawPointer?) throws -> Tensor {
    try Tensor(shape: shape, scalars: copy(shape.reduce(1, *), of: type, from: data))
}

/// A tensor handed to C: its elements in a malloc'd buffer, its type and shape.
struct ExportedTensor {
    var data: UnsafeMutableRawPointer
    var type: ElementType
    var shape: [Int64]

    /// Copies `tensor` (named `name` in errors) out; the caller owns `data`.
    init(_ tensor: Tensor, name: String) throws {
        guard let swiftType = elementTypes[tensor.elementType] else {
            throw ONNXRunError(.unsupported, "output '\(name)' is \(tensor), an element type the C API does not pass")
        }
        guard tensor.rank <= maximumRank else {
            throw ONNXRunError(.unsupported, "output '\(name)' is \(tensor): rank above \(maximumRank)")
        }
        guard let buffer = malloc(max(tensor.byteCount, 1)) else {
            throw ONNXRunError(.invalidArgument, "output '\(name)' \(tensor): out of memory")
        }
        Self.copy(tensor, as: swiftType, to: buffer)
        data = buffer
        type = tensor.elementType
        shape = tensor.shape.map { Int64($0) }
    }

    private static func copy<Element: TensorElement>(_ tensor: Tensor, as type: Element.Type,
                                                     to destination: UnsafeMutableRawPointer) {
        tensor.withUnsafeBufferPointer(as: type) { source in
            if let base = source.baseAddress {
                destination.copyMemory(from: base, byteCount: source.count * MemoryLayout<Element>.stride)
            }
        }
    }

    /// Writes the shape into a C array of `ONNXRUN_MAX_RANK` dims and a rank.
    func writeShape(to dimensions: UnsafeMutablePointer<Int64>, rank: UnsafeMutablePointer<Int>) {
        for (axis, dimension) in shape.enumerated() { dimensions[axis] = dimension }
        rank.pointee = shape.count
    }
}
