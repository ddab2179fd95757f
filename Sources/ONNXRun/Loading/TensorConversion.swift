// TensorProto -> Tensor: element type, shape and limits checks, raw_data or typed fields, external data.

import COnnxProto
import CProtobufC
#if canImport(Glibc)
import Glibc
#endif

extension LoadContext {
    // MARK: TensorProto

    /// Converts one TensorProto (an initializer, a tensor attribute or a `.pb` file), checking that its bytes
    /// match its declared type and shape. `what` names it in errors ("initializer 'conv.weight'").
    /// Consumes `raw_data`: the bytes are freed once copied, so a model is never resident twice. `rawData`, when
    /// given, stands for the raw_data field (left out of `proto` and read straight from the file's bytes).
    func makeTensor(_ proto: UnsafeMutablePointer<Onnx__TensorProto>, describedAs what: String,
                    rawData: UnsafeRawBufferPointer? = nil) throws -> Tensor {
        let elementType = try tensorElementType(proto.pointee, describedAs: what)
        let shape = try tensorShape(proto.pointee, describedAs: what)
        // Cannot fail: tensorShape checked the element count against the limits.
        let count = checkedElementCount(shape) ?? 0
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: elementType.byteSize)
        guard !overflow, byteCount <= limits.maxTensorBytes else {
            throw invalid("\(what) (\(elementType)\(describeShape(shape))) is larger than the limit of "
                          + "\(limits.maxTensorBytes) bytes per tensor")
        }
        try countTotalBytes(byteCount, for: what)
        guard proto.pointee.segment == nil else {
            throw unsupported("\(what) is a segmented tensor; onnxrun does not support segments")
        }

        let storage: TensorStorage
        if proto.pointee.has_data_location != 0,
           proto.pointee.data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT {
            guard proto.pointee.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL else {
                throw malformed("\(what) has an unknown data_location \(proto.pointee.data_location.rawValue)")
            }
            storage = try readExternalData(proto.pointee, byteCount: byteCount, describedAs: what)
        } else if let rawData {
            storage = try copyRawData(rawData, of: proto.pointee, byteCount: byteCount, describedAs: what)
        } else if proto.pointee.has_raw_data != 0 || proto.pointee.raw_data.len > 0 {
            let raw = proto.pointee.raw_data
            storage = try copyRawData(UnsafeRawBufferPointer(start: raw.data, count: Int(raw.len)),
                                      of: proto.pointee, byteCount: byteCount, describedAs: what)
            // protobuf-c allocated these bytes with malloc (default allocator); free them now rather than at
            // free_unpacked so that peak memory stays near one copy of the weights.
            free(raw.data)
            proto.pointee.raw_data.data = nil
            proto.pointee.raw_data.len = 0
        } else {
            storage = try copyTypedData(proto.pointee, elementType: elementType, count: count,
                                        byteCount: byteCount, describedAs: what)
        }
        if elementType == .bool { normalizeBooleans(storage) }
        return Tensor(elementType: elementType, shape: shape, storage: storage)
    }

    private func tensorElementType(_ proto: Onnx__TensorProto, describedAs what: String) throws -> ElementType {
        guard proto.has_data_type != 0, proto.data_type != 0 else {
            throw malformed("\(what) has no element type (data_type)")
        }
        guard let elementType = ElementType(rawValue: proto.data_type) else {
            throw unsupported("\(what) has element type \(describeElementTypeNumber(proto.data_type)), "
                              + "which onnxrun does not support")
        }
        guard elementType != .string else {
            throw unsupported("\(what) is a string tensor; onnxrun does not support string tensors")
        }
        return elementType
    }

    private func tensorShape(_ proto: Onnx__TensorProto, describedAs what: String) throws -> [Int] {
        let rank = Int(proto.n_dims)
        guard rank <= limits.maxRank else {
            throw invalid("\(what) has rank \(rank), above the limit of \(limits.maxRank)")
        }
        var shape: [Int] = []
        shape.reserveCapacity(rank)
        for index in 0..<rank {
            // Int64 and Int have the same width on the 64-bit platforms onnxrun supports.
            shape.append(Int(proto.dims[index]))
        }
        if let negative = shape.first(where: { $0 < 0 }) {
            throw invalid("\(what) has a negative dimension \(negative) in its shape \(describeShape(shape))")
        }
        guard checkedElementCount(shape, limit: limits.maxElementCount) != nil else {
            throw invalid("\(what) has shape \(describeShape(shape)), more than the limit of "
                          + "\(limits.maxElementCount) elements")
        }
        return shape
    }

    // MARK: Data fields

    private func copyRawData(_ raw: UnsafeRawBufferPointer, of proto: Onnx__TensorProto, byteCount: Int,
                             describedAs what: String) throws -> TensorStorage {
        let typedFields = typedFieldCounts(proto).filter { $0.count > 0 }.map(\.name)
        guard typedFields.isEmpty else {
            throw malformed("\(what) has both raw_data and \(typedFields.joined(separator: ", "))")
        }
        guard raw.count == byteCount else {
            throw malformed("\(what): raw_data has \(raw.count) bytes but the declared type needs \(byteCount) "
                            + "(truncated or corrupted?)")
        }
        // raw_data is little-endian, as is every platform onnxrun runs on (x86_64, arm64).
        return TensorStorage(copying: raw)
    }

    private func typedFieldCounts(_ proto: Onnx__TensorProto) -> [(name: String, count: Int)] {
        [("float_data", Int(proto.n_float_data)), ("int32_data", Int(proto.n_int32_data)),
         ("int64_data", Int(proto.n_int64_data)), ("double_data", Int(proto.n_double_data)),
         ("uint64_data", Int(proto.n_uint64_data)), ("string_data", Int(proto.n_string_data))]
    }

    /// The typed field that holds `elementType`'s values when there is no raw_data. Small integer, bool and
    /// 16-bit float types are widened to one int32 each (float16/bfloat16 as their bit pattern).
    private func typedFieldName(for elementType: ElementType) -> String {
        switch elementType {
        case .float: "float_data"
        case .double: "double_data"
        case .int64: "int64_data"
        case .uint32, .uint64: "uint64_data"
        case .int32, .int16, .int8, .uint16, .uint8, .bool, .float16, .bfloat16: "int32_data"
        case .string: "string_data"
        }
    }

    private func copyTypedData(_ proto: Onnx__TensorProto, elementType: ElementType, count: Int, byteCount: Int,
                               describedAs what: String) throws -> TensorStorage {
        let expectedField = typedFieldName(for: elementType)
        let fields = typedFieldCounts(proto)
        if let stray = fields.first(where: { $0.name != expectedField && $0.count > 0 }) {
            throw malformed("\(what) is \(elementType) but stores \(stray.count) values in \(stray.name) "
                            + "(expected \(expectedField) or raw_data)")
        }
        let found = fields.first { $0.name == expectedField }?.count ?? 0
        guard found == count else {
            throw malformed("\(what): \(expectedField) has \(found) values but the shape needs \(count) "
                            + "(truncated or corrupted?)")
        }
        let storage = TensorStorage(byteCount: byteCount)
        guard count > 0 else { return storage }
        let destination = storage.bytes
        switch elementType {
        case .float: destination.copyMemory(from: proto.float_data, byteCount: byteCount)
        case .double: destination.copyMemory(from: proto.double_data, byteCount: byteCount)
        case .int64: destination.copyMemory(from: proto.int64_data, byteCount: byteCount)
        case .uint64: destination.copyMemory(from: proto.uint64_data, byteCount: byteCount)
        case .int32: destination.copyMemory(from: proto.int32_data, byteCount: byteCount)
        case .uint32:
            narrow(proto.uint64_data, count: count, into: destination, as: UInt32.self)
        case .int16, .uint16, .float16, .bfloat16:
            narrow(proto.int32_data, count: count, into: destination, as: UInt16.self)
        case .int8, .uint8, .bool:
            narrow(proto.int32_data, count: count, into: destination, as: UInt8.self)
        case .string: break  // rejected by tensorElementType
        }
        return storage
    }

    /// Keeps the low bits of each wide value (the ONNX packing of narrow types into int32_data/uint64_data).
    private func narrow<Wide: BinaryInteger, Narrow: FixedWidthInteger>(
        _ source: UnsafePointer<Wide>, count: Int, into destination: UnsafeMutableRawPointer, as: Narrow.Type
    ) {
        let target = destination.bindMemory(to: Narrow.self, capacity: count)
        for index in 0..<count {
            target[index] = Narrow(truncatingIfNeeded: source[index])
        }
    }

    /// Swift's Bool must be exactly 0 or 1; files may hold any non-zero byte for true.
    private func normalizeBooleans(_ storage: TensorStorage) {
        let bytes = storage.bytes.assumingMemoryBound(to: UInt8.self)
        for index in 0..<storage.byteCount where bytes[index] > 1 {
            bytes[index] = 1
        }
    }

    // MARK: External data

    /// Reads `byteCount` bytes from the file named by the `location` entry, relative to the model's folder.
    /// Absolute locations and locations that leave the folder (`..`, symlinks) are refused.
    private func readExternalData(_ proto: Onnx__TensorProto, byteCount: Int,
                                  describedAs what: String) throws -> TensorStorage {
        var entries: [String: String] = [:]
        for index in 0..<Int(proto.n_external_data) {
            guard let entry = proto.external_data[index] else { continue }
            entries[string(entry.pointee.key)] = string(entry.pointee.value)
        }
        guard let location = entries["location"], !location.isEmpty else {
            throw malformed("\(what) has external data without a location")
        }
        let offset = try externalNumber(entries["offset"], key: "offset", describedAs: what) ?? 0
        if let length = try externalNumber(entries["length"], key: "length", describedAs: what),
           length != byteCount {
            throw malformed("\(what): external data length \(length) does not match the \(byteCount) bytes its "
                            + "type and shape need")
        }
        let path = try resolveExternalLocation(location, describedAs: what)

        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ONNXRunError(.io, "\(what): cannot open external data '\(location)': "
                               + String(cString: strerror(errno)), file: source)
        }
        defer { _ = close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw ONNXRunError(.io, "\(what): external data '\(location)' is not a regular file", file: source)
        }
        let fileSize = Int(status.st_size)
        let (end, overflow) = offset.addingReportingOverflow(byteCount)
        guard !overflow, end <= fileSize else {
            throw malformed("\(what): external data '\(location)' has \(fileSize) bytes, but the tensor needs "
                            + "bytes \(offset)..<\(offset &+ byteCount) (truncated file?)")
        }
        let storage = TensorStorage(byteCount: byteCount)
        var done = 0
        while done < byteCount {
            let got = pread(descriptor, storage.bytes + done, byteCount - done, off_t(offset + done))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                throw ONNXRunError(.io, "\(what): reading external data '\(location)' failed: "
                                   + String(cString: strerror(errno)), file: source)
            }
            done += got
        }
        return storage
    }

    private func externalNumber(_ text: String?, key: String, describedAs what: String) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw malformed("\(what): external data \(key) '\(text)' is not a non-negative integer")
        }
        return value
    }

    /// The real path of `location` inside `baseDirectory`, or an error saying why it is refused.
    func resolveExternalLocation(_ location: String, describedAs what: String) throws -> String {
        guard let baseDirectory else {
            throw ONNXRunError(.invalidArgument, "\(what) has external data ('\(location)') but the model was "
                               + "loaded from memory without a base directory", file: source)
        }
        guard !location.hasPrefix("/") else {
            throw invalid("\(what): external data location '\(location)' is an absolute path; "
                          + "it must be relative to the model's folder")
        }
        guard !location.split(separator: "/").contains("..") else {
            throw invalid("\(what): external data location '\(location)' leaves the model's folder ('..')")
        }
        guard let realBase = realPath(baseDirectory) else {
            throw ONNXRunError(.io, "\(what): the model folder '\(baseDirectory)' does not exist", file: source)
        }
        guard let realFile = realPath(baseDirectory + "/" + location) else {
            throw ONNXRunError(.io, "\(what): external data file '\(location)' not found in '\(baseDirectory)'",
                               file: source)
        }
        let prefix = realBase.hasSuffix("/") ? realBase : realBase + "/"
        guard realFile.hasPrefix(prefix) else {
            throw invalid("\(what): external data location '\(location)' resolves to '\(realFile)', outside the "
                          + "model's folder (symbolic link?)")
        }
        return realFile
    }

    private func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// "17 (float8e4m3fn)" for the TensorProto.DataType numbers onnxrun has no ElementType for.
func describeElementTypeNumber(_ number: Int32) -> String {
    let names: [Int32: String] = [
        14: "complex64", 15: "complex128", 17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2",
        20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2",
    ]
    if let type = ElementType(rawValue: number) { return "\(number) (\(type))" }
    return names[number].map { "\(number) (\($0))" } ?? "\(number) (unknown)"
}
