// Tensors across the C boundary: shapes checked before any caller memory is read, elements copied in and out.

import Foundation
import ONNXRun

/// `ONNXRUN_MAX_RANK`.
let maximumRank = 8

/// An `onnxrun_element_type` value from C: any ONNX element type with a fixed size (not strings).
func elementType(_ value: Int32, name: String) throws -> ElementType {
    guard let type = ElementType(rawValue: value), type.byteSize > 0 else {
        throw ONNXRunError(.invalidArgument, "\(name): element type \(value) is not one the C API passes "
                               + "(float 1, uint8 2, int8 3, uint16 4, int16 5, int32 6, int64 7, bool 9, float16 10, "
                               + "double 11, uint32 12, uint64 13, bfloat16 16)")
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
    let byteCount = shape.reduce(1, *) * type.byteSize
    guard byteCount == 0 || data != nil else { throw ONNXRunError(.invalidArgument, "\(name): data is NULL") }
    let bytes = UnsafeRawBufferPointer(start: byteCount == 0 ? nil : data, count: byteCount)
    if type == .bool {
        // A C byte other than 0 or 1 is not a valid Swift Bool: normalize.
        let normalized = bytes.map { $0 == 0 ? UInt8(0) : 1 }
        return try normalized.withUnsafeBytes { try Tensor(elementType: .bool, shape: shape, copying: $0) }
    }
    return try Tensor(elementType: type, shape: shape, copying: bytes)
}

/// A tensor handed to C: its elements in a malloc'd buffer, its type and shape.
struct ExportedTensor {
    var data: UnsafeMutableRawPointer
    var type: ElementType
    var shape: [Int64]

    /// Copies `tensor` (named `name` in errors) out; the caller owns `data`.
    init(_ tensor: Tensor, name: String) throws {
        guard tensor.elementType.byteSize > 0 else {
            throw ONNXRunError(.unsupported, "output '\(name)' is \(tensor), an element type the C API does not pass")
        }
        guard tensor.rank <= maximumRank else {
            throw ONNXRunError(.unsupported, "output '\(name)' is \(tensor): rank above \(maximumRank)")
        }
        guard let buffer = malloc(max(tensor.byteCount, 1)) else {
            throw ONNXRunError(.invalidArgument, "output '\(name)' \(tensor): out of memory")
        }
        tensor.withUnsafeBytes { source in
            if let base = source.baseAddress { buffer.copyMemory(from: base, byteCount: source.count) }
        }
        data = buffer
        type = tensor.elementType
        shape = tensor.shape.map { Int64($0) }
    }

    /// Writes the shape into a C array of `ONNXRUN_MAX_RANK` dims and a rank.
    func writeShape(to dimensions: UnsafeMutablePointer<Int64>, rank: UnsafeMutablePointer<Int>) {
        for (axis, dimension) in shape.enumerated() { dimensions[axis] = dimension }
        rank.pointee = shape.count
    }
}
