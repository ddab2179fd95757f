// Tensor: an element type, a concrete shape and shared, 64-byte-aligned storage (copy-on-write).

import Foundation

/// Owned, aligned bytes behind one or more tensors. Reshaping a tensor shares its storage.
final class TensorStorage: @unchecked Sendable {
    /// 64 bytes: one cache line, and the widest vector load (AVX-512) the kernels use.
    static let alignment = 64

    let bytes: UnsafeMutableRawPointer
    let byteCount: Int

    /// Zero-filled storage of `byteCount` bytes.
    init(byteCount: Int) {
        self.byteCount = byteCount
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    /// Storage holding a copy of `source`.
    init(copying source: UnsafeRawBufferPointer) {
        byteCount = source.count
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        if let base = source.baseAddress, byteCount > 0 {
            bytes.copyMemory(from: base, byteCount: byteCount)
        }
    }

    deinit {
        bytes.deallocate()
    }
}

/// A dense, row-major tensor. Value semantics: mutation copies the storage when it is shared.
public struct Tensor: Sendable, CustomStringConvertible {
    public let elementType: ElementType
    public let shape: [Int]
    /// Shared, 64-byte-aligned bytes. Internal: writable access to storage other tensors share would break copy-on-write;
    /// kernels write only into storage the plan gave them alone.
    private(set) var storage: TensorStorage

    public var elementCount: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
    public var byteCount: Int { elementCount * elementType.byteSize }

    /// A tensor over existing storage. The caller guarantees the storage holds at least
    /// `product(shape) * elementType.byteSize` bytes (the loader checks this against the file).
    init(elementType: ElementType, shape: [Int], storage: TensorStorage) {
        precondition(storage.byteCount >= (checkedElementCount(shape) ?? .max) * elementType.byteSize,
                     "tensor storage too small for \(describeShape(shape))")
        self.elementType = elementType
        self.shape = shape
        self.storage = storage
    }

    /// A zero-filled tensor.
    public init(zeros elementType: ElementType, shape: [Int]) {
        let count = checkedElementCount(shape) ?? 0
        self.init(elementType: elementType, shape: shape,
                  storage: TensorStorage(byteCount: count * elementType.byteSize))
    }

    /// A tensor holding a copy of `scalars`; throws when the count does not match the shape.
    public init<Element: TensorElement>(shape: [Int], scalars: [Element]) throws {
        guard let count = checkedElementCount(shape), count == scalars.count else {
            throw ONNXRunError(.invalidArgument,
                               "\(scalars.count) values do not fill a tensor of shape \(describeShape(shape))")
        }
        let storage = scalars.withUnsafeBytes { TensorStorage(copying: $0) }
        self.init(elementType: Element.elementType, shape: shape, storage: storage)
    }

    /// A tensor of any element type holding a copy of `bytes` (little-endian elements, row-major); throws when the
    /// byte count does not match the shape.
    public init(elementType: ElementType, shape: [Int], copying bytes: UnsafeRawBufferPointer) throws {
        guard let count = checkedElementCount(shape), count * elementType.byteSize == bytes.count else {
            throw ONNXRunError(.invalidArgument, "\(bytes.count) bytes do not fill a \(elementType) tensor of shape "
                                   + describeShape(shape))
        }
        self.init(elementType: elementType, shape: shape, storage: TensorStorage(copying: bytes))
    }

    /// A float32 tensor holding a copy of `floats`; throws when the count does not match the shape.
    public init(shape: [Int], floats: [Float]) throws {
        try self.init(shape: shape, scalars: floats)
    }

    /// A 0-d tensor.
    public init<Element: TensorElement>(scalar: Element) {
        // A 0-d tensor has one element, so this cannot fail.
        self = try! Tensor(shape: [], scalars: [scalar])
    }

    /// The same storage viewed with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard checkedElementCount(newShape) == elementCount else {
            throw ONNXRunError(.invalidArgument,
                               "cannot reshape \(describeShape(shape)) to \(describeShape(newShape))")
        }
        return Tensor(elementType: elementType, shape: newShape, storage: storage)
    }

    /// Read access to the elements. Traps if `Element` is not the tensor's element type (a programming error).
    public func withUnsafeBufferPointer<Element: TensorElement, Result>(
        as type: Element.Type, _ body: (UnsafeBufferPointer<Element>) throws -> Result
    ) rethrows -> Result {
        precondition(Element.elementType == elementType, "tensor is \(elementType), not \(Element.elementType)")
        let pointer = storage.bytes.assumingMemoryBound(to: Element.self)
        return try body(UnsafeBufferPointer(start: pointer, count: elementCount))
    }

    /// Write access to the elements; copies the storage first when another tensor shares it.
    public mutating func withUnsafeMutableBufferPointer<Element: TensorElement, Result>(
        as type: Element.Type, _ body: (UnsafeMutableBufferPointer<Element>) throws -> Result
    ) rethrows -> Result {
        precondition(Element.elementType == elementType, "tensor is \(elementType), not \(Element.elementType)")
        if !isKnownUniquelyReferenced(&storage) {
            storage = TensorStorage(copying: UnsafeRawBufferPointer(start: storage.bytes, count: byteCount))
        }
        let pointer = storage.bytes.assumingMemoryBound(to: Element.self)
        return try body(UnsafeMutableBufferPointer(start: pointer, count: elementCount))
    }

    /// Read access to the raw bytes of any element type (float16, bfloat16...).
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: storage.bytes, count: byteCount))
    }

    /// A copy of the elements as an array.
    public func scalars<Element: TensorElement>(as type: Element.Type) -> [Element] {
        withUnsafeBufferPointer(as: type) { Array($0) }
    }

    /// A copy of the elements of a float32 tensor.
    public var floats: [Float] { scalars(as: Float.self) }

    /// Integer elements (int64, int32, int16, int8, uint8, uint16, uint32, bool) widened to Int, for shape
    /// arithmetic; nil for floating-point and string tensors.
    public var integers: [Int]? {
        switch elementType {
        case .int64: scalars(as: Int64.self).map { Int($0) }
        case .int32: scalars(as: Int32.self).map { Int($0) }
        case .int16: scalars(as: Int16.self).map { Int($0) }
        case .int8: scalars(as: Int8.self).map { Int($0) }
        case .uint8: scalars(as: UInt8.self).map { Int($0) }
        case .uint16: scalars(as: UInt16.self).map { Int($0) }
        case .uint32: scalars(as: UInt32.self).map { Int($0) }
        case .bool: scalars(as: Bool.self).map { $0 ? 1 : 0 }
        default: nil
        }
    }

    public var description: String { "\(elementType)\(describeShape(shape))" }
}
