// Helpers the operators share: input access, axis normalization, strided/broadcast index walks, raw element copies.

// MARK: - Run-time errors and inputs

/// An error found while running a kernel: names the shapes involved (the executor adds node, op and opset).
func runtimeError(_ message: String, _ tensors: [Tensor?] = []) -> ONNXRunError {
    ONNXRunError(.invalidModel, message, shapes: tensors.map { $0.map { $0.description } ?? "absent" })
}

/// An error for an element type a kernel does not implement.
func unsupportedType(_ type: ElementType, _ what: String = "input") -> ONNXRunError {
    ONNXRunError(.unsupported, "\(what) of type \(type) is not supported")
}

/// Input `index`, which the operator requires.
func requiredInput(_ inputs: [Tensor?], _ index: Int, _ name: String) throws -> Tensor {
    guard index < inputs.count, let tensor = inputs[index] else {
        throw runtimeError("required input \(index) ('\(name)') is missing")
    }
    return tensor
}

/// Input `index` when present (an optional input may be absent or beyond the end).
func optionalInput(_ inputs: [Tensor?], _ index: Int) -> Tensor? {
    index < inputs.count ? inputs[index] : nil
}

/// Inference input `index`, which the operator requires.
func requiredInput(_ inputs: [InferenceValue?], _ index: Int, _ name: String) throws -> InferenceValue {
    guard index < inputs.count, let value = inputs[index] else {
        throw ONNXRunError(.invalidModel, "required input \(index) ('\(name)') is missing")
    }
    return value
}

func optionalInput(_ inputs: [InferenceValue?], _ index: Int) -> InferenceValue? {
    index < inputs.count ? inputs[index] : nil
}

extension OperatorContext {
    /// Whether input `index` is given (present and not "").
    func hasInput(_ index: Int) -> Bool {
        index < node.inputs.count && !node.inputs[index].isEmpty
    }

    /// Whether output `index` is requested (present and not "").
    func hasOutput(_ index: Int) -> Bool {
        index < node.outputs.count && !node.outputs[index].isEmpty
    }
}

/// The largest number of elements a kernel allocates for a shape computed from data (1 G elements): a model asking
/// for more is treated as malformed rather than exhausting memory.
let maximumComputedElementCount = 1 << 30

/// The element count of a shape read from a tensor's values, checked against negative dimensions and overflow.
func checkedCount(_ shape: [Int], _ tensors: [Tensor?] = []) throws -> Int {
    guard let count = checkedElementCount(shape, limit: maximumComputedElementCount) else {
        throw runtimeError("shape \(describeShape(shape)) is negative or too large", tensors)
    }
    return count
}

// MARK: - Axes

/// `axis` in `-rank..<rank` made non-negative; nil when out of range.
func normalizedAxis(_ axis: Int, rank: Int) -> Int? {
    let resolved = axis < 0 ? axis + rank : axis
    return (0..<max(rank, 0)).contains(resolved) ? resolved : nil
}

/// Normalizes every axis; throws on an out-of-range or repeated axis.
func normalizedAxes(_ axes: [Int], rank: Int) throws -> [Int] {
    var result: [Int] = []
    for axis in axes {
        guard let resolved = normalizedAxis(axis, rank: rank) else {
            throw ONNXRunError(.invalidModel, "axis \(axis) is out of range for rank \(rank)")
        }
        guard !result.contains(resolved) else {
            throw ONNXRunError(.invalidModel, "axis \(axis) is repeated in \(axes)")
        }
        result.append(resolved)
    }
    return result
}

// MARK: - Shapes and strides

/// Row-major strides of `shape`, in elements.
/// The permutation undoing `permutation` (`inverse[permutation[i]] = i`).
func inversePermutation(_ permutation: [Int]) -> [Int] {
    var inverse = [Int](repeating: 0, count: permutation.count)
    for (axis, source) in permutation.enumerated() { inverse[source] = axis }
    return inverse
}

func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var stride = 1
    for axis in shape.indices.reversed() {
        strides[axis] = stride
        stride &*= shape[axis]
    }
    return strides
}

/// The product of `shape[range]` (1 for an empty range).
func product(_ shape: some Collection<Int>) -> Int {
    shape.reduce(1, *)
}

/// The multidirectional (numpy) broadcast of concrete shapes; nil when they are incompatible.
func broadcastShape(_ shapes: [[Int]]) -> [Int]? {
    let rank = shapes.map(\.count).max() ?? 0
    var result = [Int](repeating: 1, count: rank)
    for shape in shapes {
        let offset = rank - shape.count
        for (axis, dimension) in shape.enumerated() {
            let current = result[offset + axis]
            if current == dimension || dimension == 1 { continue }
            if current == 1 { result[offset + axis] = dimension } else { return nil }
        }
    }
    return result
}

/// The broadcast of inferred shapes: symbolic dimensions pass through when the other side is 1 or the same symbol.
func broadcastDimensions(_ shapes: [[Dimension]?]) throws -> [Dimension]? {
    var known: [[Dimension]] = []
    for shape in shapes {
        guard let shape else { return nil }
        known.append(shape)
    }
    let rank = known.map(\.count).max() ?? 0
    var result = [Dimension](repeating: .fixed(1), count: rank)
    for shape in known {
        let offset = rank - shape.count
        for (axis, dimension) in shape.enumerated() {
            let current = result[offset + axis]
            switch (current, dimension) {
            case (_, .fixed(1)): continue
            case (.fixed(1), _): result[offset + axis] = dimension
            case (.fixed(let a), .fixed(let b)):
                guard a == b else {
                    throw ONNXRunError(.invalidModel, "shapes \(known.map { "[" + $0.map(\.description).joined(separator: ",") + "]" }.joined(separator: " and ")) do not broadcast")
                }
            case (.symbolic(let a), .symbolic(let b)) where a == b: continue
            // A symbol against a number other than 1: the number wins (the symbol must equal it to run).
            case (.symbolic, .fixed): result[offset + axis] = dimension
            case (.fixed, .symbolic): continue
            default: result[offset + axis] = .unknown
            }
        }
    }
    return result
}

/// For every element of `shape` in row-major order, the offset `base + sum(index[axis] * strides[axis])`.
/// Transpose, Slice, broadcasting and Pad are all this walk with different strides.
func stridedOffsets(shape: [Int], strides: [Int], base: Int = 0) -> [Int] {
    let count = product(shape)
    var offsets = [Int](repeating: 0, count: max(count, 0))
    guard count > 0 else { return offsets }
    let rank = shape.count
    var index = [Int](repeating: 0, count: rank)
    var offset = base
    for position in 0..<count {
        offsets[position] = offset
        var axis = rank - 1
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < shape[axis] { break }
            offset -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
    return offsets
}

/// Offsets into a tensor of `inputShape` for each element of `outputShape` it broadcasts to
/// (the caller has checked that it broadcasts).
func broadcastOffsets(from inputShape: [Int], to outputShape: [Int]) -> [Int] {
    let rank = outputShape.count
    let padded = [Int](repeating: 1, count: rank - inputShape.count) + inputShape
    let strides = contiguousStrides(padded)
    let broadcastStrides = (0..<rank).map { padded[$0] == 1 ? 0 : strides[$0] }
    return stridedOffsets(shape: outputShape, strides: broadcastStrides)
}

// MARK: - Raw element copies (type-agnostic data movement)

extension Tensor {
    /// A tensor of `shape` whose element `i` is this tensor's element `offsets[i]`, copied bytewise: works for every
    /// fixed-size element type. The caller guarantees every offset is in range.
    func gathering(offsets: [Int], shape: [Int]) -> Tensor {
        let size = elementType.byteSize
        let result = Tensor(zeros: elementType, shape: shape)
        let source = UnsafeRawPointer(storage.bytes)
        let destination = result.freshBytes
        switch size {
        case 1: copyElements(UInt8.self, source, destination, offsets)
        case 2: copyElements(UInt16.self, source, destination, offsets)
        case 4: copyElements(UInt32.self, source, destination, offsets)
        case 8: copyElements(UInt64.self, source, destination, offsets)
        default:
            for (position, offset) in offsets.enumerated() {
                (destination + position * size).copyMemory(from: source + offset * size, byteCount: size)
            }
        }
        return result
    }

    /// The tensor with its axes permuted as Transpose does (`result.shape[i] = shape[permutation[i]]`), its shape
    /// first padded with leading 1s to the permutation's rank (a broadcasting operand moved across a Transpose).
    /// The caller guarantees `permutation` is a permutation of at least this tensor's rank.
    func permutingAxes(_ permutation: [Int]) -> Tensor {
        let padded = [Int](repeating: 1, count: permutation.count - rank) + shape
        let strides = contiguousStrides(padded)
        let permuted = permutation.map { padded[$0] }
        return gathering(offsets: stridedOffsets(shape: permuted, strides: permutation.map { strides[$0] }),
                         shape: permuted)
    }

    /// The bytes of a tensor this kernel just created (its storage is not shared yet, so writing is safe).
    var freshBytes: UnsafeMutableRawPointer { storage.bytes }

    /// The same elements with another shape (the caller checked the element count).
    func viewed(as newShape: [Int]) -> Tensor {
        Tensor(elementType: elementType, shape: newShape, storage: storage)
    }

    /// Element `index` as Double, for any numeric element type (scalars read at run time: Clip bounds, Pad values).
    func doubleValue(at index: Int) -> Double? {
        guard index >= 0, index < elementCount else { return nil }
        let bytes = UnsafeRawPointer(storage.bytes)
        switch elementType {
        case .float: return Double(bytes.load(fromByteOffset: index * 4, as: Float.self))
        case .double: return bytes.load(fromByteOffset: index * 8, as: Double.self)
        case .float16: return Double(Float(float16Bits: bytes.load(fromByteOffset: index * 2, as: UInt16.self)))
        case .bfloat16: return Double(Float(bfloat16Bits: bytes.load(fromByteOffset: index * 2, as: UInt16.self)))
        case .int64: return Double(bytes.load(fromByteOffset: index * 8, as: Int64.self))
        case .int32: return Double(bytes.load(fromByteOffset: index * 4, as: Int32.self))
        case .int16: return Double(bytes.load(fromByteOffset: index * 2, as: Int16.self))
        case .int8: return Double(bytes.load(fromByteOffset: index, as: Int8.self))
        case .uint64: return Double(bytes.load(fromByteOffset: index * 8, as: UInt64.self))
        case .uint32: return Double(bytes.load(fromByteOffset: index * 4, as: UInt32.self))
        case .uint16: return Double(bytes.load(fromByteOffset: index * 2, as: UInt16.self))
        case .uint8: return Double(bytes.load(fromByteOffset: index, as: UInt8.self))
        case .bool: return bytes.load(fromByteOffset: index, as: UInt8.self) != 0 ? 1 : 0
        case .string: return nil
        }
    }
}

private func copyElements<Word>(_ type: Word.Type, _ source: UnsafeRawPointer, _ destination: UnsafeMutableRawPointer,
                                _ offsets: [Int]) {
    let from = source.assumingMemoryBound(to: Word.self)
    let to = destination.assumingMemoryBound(to: Word.self)
    offsets.withUnsafeBufferPointer { offsets in
        for position in offsets.indices {
            to[position] = from[offsets[position]]
        }
    }
}

// MARK: - Half-precision bits

extension Float {
    /// IEEE half-precision bits to float (exact).
    init(float16Bits bits: UInt16) {
        let sign = UInt32(bits >> 15) << 31
        let exponent = Int((bits >> 10) & 0x1f)
        let mantissa = UInt32(bits & 0x3ff)
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            self = sign != 0 ? -magnitude : magnitude
        } else if exponent == 0x1f {
            self = Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        } else {
            self = Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }

    /// bfloat16 bits are the upper half of a float's.
    init(bfloat16Bits bits: UInt16) {
        self = Float(bitPattern: UInt32(bits) << 16)
    }

    /// Round-to-nearest-even half-precision bits.
    var float16Bits: UInt16 {
        let bits = bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xff)
        let mantissa = bits & 0x7f_ffff
        if exponent == 0xff {
            return sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1f { return sign | 0x7c00 }
        if halfExponent <= 0 {
            // Subnormal half (or zero): shift the full mantissa (with its implicit 1) into place, rounding.
            if halfExponent < -10 { return sign }
            let full = mantissa | 0x80_0000
            let shift = UInt32(14 - halfExponent)
            var half = full >> shift
            let remainder = full & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1fff
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
    }

    /// Round-to-nearest-even bfloat16 bits.
    var bfloat16Bits: UInt16 {
        if isNaN { return UInt16(bitPattern >> 16) | 0x40 }
        let bits = bitPattern
        let rounding = ((bits >> 16) & 1) + 0x7fff
        return UInt16((bits &+ rounding) >> 16)
    }
}

// MARK: - Typed element access

extension Tensor {
    /// A float32 tensor from values, for kernels that computed `values` for `shape` (counts match by construction).
    init(shape: [Int], computed values: [Float]) {
        let storage = values.withUnsafeBytes { TensorStorage(copying: $0) }
        self.init(elementType: .float, shape: shape, storage: storage)
    }

    init<Element: TensorElement>(shape: [Int], computed values: [Element]) {
        let storage = values.withUnsafeBytes { TensorStorage(copying: $0) }
        self.init(elementType: Element.elementType, shape: shape, storage: storage)
    }
}

/// Requires a float32 tensor (the reference kernels' arithmetic type).
func requireFloat(_ tensor: Tensor, _ what: String = "input") throws {
    guard tensor.elementType == .float else { throw unsupportedType(tensor.elementType, what) }
}

/// Requires a float32 inferred type.
func requireFloat(_ type: TensorType, _ what: String = "input") throws {
    guard type.elementType == .float else { throw unsupportedType(type.elementType, what) }
}
