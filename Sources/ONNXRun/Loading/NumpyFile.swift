// NumPy `.npy` files (format versions 1, 2 and 3): little-endian, C-order tensors in and out.

#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes `.npy` files: the format numpy's `save`/`load` use, which `onnxrun run` and the tests use to
/// exchange tensors with Python. Supports little-endian float32/float64/float16/int64/int32/int16/int8/uint8/
/// uint16/uint32/uint64/bool in C order; Fortran order and big-endian data throw `.unsupported`.
public enum NumpyFile {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    // MARK: Reading

    public static func read(contentsOf path: String, limits: LoadLimits = .default) throws -> Tensor {
        let file = try MappedFile(path: path)
        defer { file.close() }
        return try read(bytes: file.bytes, source: path, limits: limits)
    }

    /// Parses `.npy` bytes; `source` names them in errors.
    public static func read(bytes: [UInt8], source: String = "<memory>", limits: LoadLimits = .default) throws
        -> Tensor {
        try bytes.withUnsafeBytes { try read(bytes: $0, source: source, limits: limits) }
    }

    static func read(bytes: UnsafeRawBufferPointer, source: String, limits: LoadLimits) throws -> Tensor {
        func malformed(_ message: String) -> ONNXRunError {
            ONNXRunError(.malformedModel, "not a valid .npy file: \(message)", file: source)
        }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw malformed("no \\x93NUMPY magic") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw malformed("truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw ONNXRunError(.unsupported, ".npy format version \(major) is not supported (1, 2 or 3 are)",
                               file: source)
        }
        guard headerLength <= bytes.count - headerStart else { throw malformed("truncated header") }
        // numpy itself refuses headers above 10,000 bytes unless told otherwise; 1 MiB is generous.
        guard headerLength <= 1 << 20 else { throw malformed("header of \(headerLength) bytes") }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        let description = try NumpyHeader(parsing: header, source: source)

        guard !description.isFortranOrder else {
            throw ONNXRunError(.unsupported, "the array is in Fortran order; only C order is supported",
                               file: source)
        }
        guard let count = checkedElementCount(description.shape, limit: limits.maxElementCount) else {
            throw ONNXRunError(.invalidModel, "shape \(describeShape(description.shape)) is negative or has more "
                               + "than \(limits.maxElementCount) elements", file: source)
        }
        let byteCount = count * description.elementType.byteSize
        guard byteCount <= limits.maxTensorBytes else {
            throw ONNXRunError(.invalidModel, "the array has \(byteCount) bytes, above the limit of "
                               + "\(limits.maxTensorBytes)", file: source)
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == byteCount else {
            throw malformed("the data has \(bytes.count - dataStart) bytes, but \(description.elementType)"
                            + "\(describeShape(description.shape)) needs \(byteCount) (truncated file?)")
        }
        let storage = TensorStorage(copying: UnsafeRawBufferPointer(rebasing: bytes[dataStart...]))
        if description.elementType == .bool {
            let values = storage.bytes.assumingMemoryBound(to: UInt8.self)
            for index in 0..<byteCount where values[index] > 1 { values[index] = 1 }
        }
        return Tensor(elementType: description.elementType, shape: description.shape, storage: storage)
    }

    // MARK: Writing

    /// Writes `tensor` as a version 1 `.npy` file (version 2 when the header needs more than 64 KiB).
    public static func write(_ tensor: Tensor, to path: String) throws {
        let bytes = try encode(tensor)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ONNXRunError(.io, "cannot create: \(String(cString: strerror(errno)))", file: path)
        }
        defer { _ = close(descriptor) }
        try bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < buffer.count {
                let written = Glibc.write(descriptor, base + done, buffer.count - done)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    throw ONNXRunError(.io, "write failed: \(String(cString: strerror(errno)))", file: path)
                }
                done += written
            }
        }
    }

    /// The `.npy` bytes of `tensor`.
    public static func encode(_ tensor: Tensor) throws -> [UInt8] {
        guard let descriptor = NumpyHeader.descriptor(for: tensor.elementType) else {
            throw ONNXRunError(.unsupported, "\(tensor.elementType) tensors cannot be written as .npy")
        }
        let shapeText: String
        switch tensor.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(tensor.shape[0]),)"
        default: shapeText = "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
        // numpy pads the header with spaces and a newline so that the data starts on a 64-byte boundary.
        let version: UInt8 = header.utf8.count + 11 < 65_536 ? 1 : 2
        let prefixLength = version == 1 ? 10 : 12
        let padding = (64 - (prefixLength + header.utf8.count + 1) % 64) % 64
        header += String(repeating: " ", count: padding) + "\n"
        let length = header.utf8.count
        var bytes = magic + [version, 0]
        bytes += version == 1 ? [UInt8(length & 0xff), UInt8(length >> 8)]
                              : (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
        bytes += Array(header.utf8)
        bytes += UnsafeRawBufferPointer(start: tensor.storage.bytes, count: tensor.byteCount)
        return bytes
    }
}

// MARK: - Header

/// The dictionary literal of a `.npy` header: `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }`.
struct NumpyHeader {
    var elementType: ElementType
    var isFortranOrder: Bool
    var shape: [Int]

    private static let descriptors: [(String, ElementType)] = [
        ("f4", .float), ("f8", .double), ("f2", .float16), ("i8", .int64), ("i4", .int32), ("i2", .int16),
        ("i1", .int8), ("u1", .uint8), ("u2", .uint16), ("u4", .uint32), ("u8", .uint64), ("b1", .bool),
    ]

    static func descriptor(for elementType: ElementType) -> String? {
        guard let code = descriptors.first(where: { $0.1 == elementType })?.0 else { return nil }
        return (elementType.byteSize == 1 ? "|" : "<") + code
    }

    init(parsing header: String, source: String) throws {
        func malformed(_ message: String) -> ONNXRunError {
            ONNXRunError(.malformedModel, "not a valid .npy header (\(message)): \(header.prefix(200))", file: source)
        }
        guard let descr = Self.value(of: "descr", in: header),
              let fortran = Self.value(of: "fortran_order", in: header),
              let shapeText = Self.value(of: "shape", in: header) else {
            throw malformed("missing descr, fortran_order or shape")
        }
        let code = descr.trimming("'\"")
        guard let byteOrder = code.first, code.count >= 2 else { throw malformed("bad descr") }
        if byteOrder == ">" {
            throw ONNXRunError(.unsupported, "the array is big-endian ('\(code)'); only little-endian is supported",
                               file: source)
        }
        guard "<|=".contains(byteOrder),
              let type = Self.descriptors.first(where: { $0.0 == String(code.dropFirst()) })?.1 else {
            throw ONNXRunError(.unsupported, "the .npy element type '\(code)' is not supported", file: source)
        }
        elementType = type
        switch fortran {
        case "False": isFortranOrder = false
        case "True": isFortranOrder = true
        default: throw malformed("bad fortran_order")
        }
        guard shapeText.first == "(", shapeText.last == ")" else { throw malformed("bad shape") }
        var dimensions: [Int] = []
        for part in shapeText.dropFirst().dropLast().split(separator: ",") {
            let trimmed = String(part).trimming(" L")
            if trimmed.isEmpty { continue }
            guard let dimension = Int(trimmed), dimension >= 0 else { throw malformed("bad dimension '\(part)'") }
            dimensions.append(dimension)
        }
        shape = dimensions
    }

    /// The text of the value of `key` up to the next top-level comma or closing brace.
    private static func value(of key: String, in header: String) -> String? {
        let characters = Array(header)
        let pattern = Array("'\(key)'")
        guard characters.count >= pattern.count else { return nil }
        for start in 0...(characters.count - pattern.count)
        where characters[start..<start + pattern.count].elementsEqual(pattern) {
            var index = start + pattern.count
            while index < characters.count, characters[index] == " " { index += 1 }
            guard index < characters.count, characters[index] == ":" else { continue }
            index += 1
            while index < characters.count, characters[index] == " " { index += 1 }
            var depth = 0
            var end = index
            while end < characters.count {
                let character = characters[end]
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1; if depth == 0 { end += 1; break } }
                if depth == 0, character == "," || character == "}" { break }
                end += 1
            }
            return String(characters[index..<min(end, characters.count)]).trimming(" ")
        }
        return nil
    }
}

private extension String {
    func trimming(_ set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
