// The public entry points of Loading: model and tensor files -> Swift IR, through protobuf-c, fully validated.

import COnnxProto
import CProtobufC

/// Loads ONNX models (`ModelProto`) and tensors (`TensorProto` `.pb` files) into the Swift IR.
///
/// Everything read from a file is checked: the protobuf framing, that a model has an IR version, an opset import
/// and a graph, that every tensor's bytes match its type and shape (raw_data, typed fields or external data),
/// the limits in `LoadLimits`, and the graph's structure (one producer per value, no dangling inputs or outputs,
/// no cycles; nodes are stably sorted into topological order). Failures throw `ONNXRunError` naming the file and
/// the node or tensor; no byte sequence makes the loader trap.
public enum ModelLoader {
    // MARK: Models

    /// Loads a model file. External data is looked up relative to the file's folder.
    public static func load(contentsOf path: String, limits: LoadLimits = .default) throws -> Model {
        let file = try MappedFile(path: path)
        defer { file.close() }
        let context = LoadContext(source: path, baseDirectory: directoryOf(path), limits: limits)
        return try context.loadModel(file.bytes, release: file.release)
    }

    /// Loads a model from bytes. `source` names it in errors; `baseDirectory` is where external data is looked
    /// up (a model with external data and no base directory is refused).
    public static func load(bytes: [UInt8], source: String = "<memory>", baseDirectory: String? = nil,
                            limits: LoadLimits = .default) throws -> Model {
        guard !bytes.isEmpty else {
            throw ONNXRunError(.malformedModel, "the model is empty (0 bytes)", file: source)
        }
        let context = LoadContext(source: source, baseDirectory: baseDirectory, limits: limits)
        return try bytes.withUnsafeBytes { try context.loadModel($0, release: { _ in }) }
    }

    // MARK: Tensors

    /// Loads a standalone `TensorProto` file (the ONNX test-data layout, `test_data_set_0/input_0.pb`).
    public static func loadTensor(contentsOf path: String, limits: LoadLimits = .default) throws
        -> (name: String, tensor: Tensor) {
        let file = try MappedFile(path: path)
        defer { file.close() }
        let context = LoadContext(source: path, baseDirectory: directoryOf(path), limits: limits)
        return try context.loadTensor(file.bytes)
    }

    /// Loads a `TensorProto` from bytes.
    public static func loadTensor(bytes: [UInt8], source: String = "<memory>", limits: LoadLimits = .default)
        throws -> (name: String, tensor: Tensor) {
        guard !bytes.isEmpty else {
            throw ONNXRunError(.malformedModel, "the tensor file is empty (0 bytes)", file: source)
        }
        let context = LoadContext(source: source, baseDirectory: nil, limits: limits)
        return try bytes.withUnsafeBytes { try context.loadTensor($0) }
    }
}

// MARK: - Load context

/// The state of one load: where the bytes came from (for errors and external data), the limits, and the running
/// total of tensor bytes. Used on one thread only.
final class LoadContext {
    let source: String
    let baseDirectory: String?
    let limits: LoadLimits
    private var totalBytes = 0

    init(source: String, baseDirectory: String?, limits: LoadLimits) {
        self.source = source
        self.baseDirectory = baseDirectory
        self.limits = limits
    }

    func malformed(_ message: String) -> ONNXRunError { ONNXRunError(.malformedModel, message, file: source) }
    func invalid(_ message: String) -> ONNXRunError { ONNXRunError(.invalidModel, message, file: source) }
    func unsupported(_ message: String) -> ONNXRunError { ONNXRunError(.unsupported, message, file: source) }

    func countTotalBytes(_ byteCount: Int, for what: String) throws {
        totalBytes += byteCount
        guard totalBytes <= limits.maxTotalBytes else {
            throw invalid("the model's tensors exceed the limit of \(limits.maxTotalBytes) bytes in all "
                          + "(at \(what))")
        }
    }

    /// A C string field (NULL when absent). Invalid UTF-8 is repaired, never trapped on.
    func string(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    /// A `bytes` field (attribute strings), decoded as UTF-8 with repair.
    func string(_ data: ProtobufCBinaryData) -> String {
        guard let bytes = data.data, data.len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(data.len)), as: UTF8.self)
    }

    // MARK: Parsing

    /// Checks the framing, unpacks, converts, and frees every protobuf-c message.
    ///
    /// To keep peak memory near one copy of the weights, the initializers are unpacked and converted one at a
    /// time: the model without its graph and the graph without its initializers (small) are unpacked from
    /// copies, then each initializer from its own bytes, which `release` then hands back (the mapped file's
    /// pages). A file with several `graph` fields (which protobuf merges) is unpacked whole instead.
    func loadModel(_ bytes: UnsafeRawBufferPointer, release: (Range<Int>) -> Void) throws -> Model {
        try withUnsafePointer(to: onnx__model_proto__descriptor) { descriptor in
            try WireFormatCheck.check(bytes, descriptor: descriptor, maxDepth: limits.maxMessageDepth,
                                      source: source)
        }
        // The check touched every header; let those pages go before the weights are copied.
        release(0..<bytes.count)
        let modelFields = try WireFormatCheck.fields(of: bytes, source: source)
        let graphFields = modelFields.filter { $0.number == 7 }
        guard graphFields.count == 1, let graphField = graphFields.first, graphField.wireType == 2 else {
            return try loadWholeModel(bytes)
        }
        let modelProto = try unpack(concatenating: modelFields.filter { $0.number != 7 }, of: bytes,
                                    what: "an ONNX model", onnx__model_proto__unpack)
        defer { onnx__model_proto__free_unpacked(modelProto, nil) }

        let graphBytes = UnsafeRawBufferPointer(rebasing: bytes[graphField.payload])
        let graphOffset = graphField.payload.lowerBound
        let graphFieldList = try WireFormatCheck.fields(of: graphBytes, source: source, offset: graphOffset)
        let graphProto = try unpack(concatenating: graphFieldList.filter { $0.number != 5 }, of: graphBytes,
                                    what: "an ONNX graph", onnx__graph_proto__unpack)
        defer { onnx__graph_proto__free_unpacked(graphProto, nil) }

        return try makeModel(modelProto, graph: graphProto) { _ in
            var initializers: [String: Tensor] = [:]
            for (index, field) in graphFieldList.filter({ $0.number == 5 }).enumerated() {
                let what = "initializer #\(index)"
                guard field.wireType == 2 else { throw malformed("\(what) is not a message (corrupted file?)") }
                // raw_data (field 9) is copied straight from the file into the tensor's storage; protobuf-c
                // unpacks only the rest (a small copy), so the weights are never held twice.
                let tensorBytes = UnsafeRawBufferPointer(rebasing: graphBytes[field.payload])
                let tensorFields = try WireFormatCheck.fields(of: tensorBytes, source: source,
                                                              offset: graphOffset + field.payload.lowerBound)
                let rawFields = tensorFields.filter { $0.number == 9 }
                guard rawFields.allSatisfy({ $0.wireType == 2 }) else {
                    throw malformed("\(what): raw_data is not a bytes field (corrupted file?)")
                }
                let tensorProto = try unpack(concatenating: tensorFields.filter { $0.number != 9 }, of: tensorBytes,
                                             what: "a TensorProto (\(what))", onnx__tensor_proto__unpack)
                defer { onnx__tensor_proto__free_unpacked(tensorProto, nil) }
                // protobuf keeps the last of repeated occurrences of a singular field.
                let rawData = rawFields.last.map { UnsafeRawBufferPointer(rebasing: tensorBytes[$0.payload]) }
                try addInitializer(tensorProto, index: index, to: &initializers, rawData: rawData)
                release((graphOffset + field.range.lowerBound)..<(graphOffset + field.range.upperBound))
            }
            return initializers
        }
    }

    private func loadWholeModel(_ bytes: UnsafeRawBufferPointer) throws -> Model {
        guard let message = onnx__model_proto__unpack(nil, bytes.count,
                                                      bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)) else {
            throw malformed("not an ONNX model: protobuf-c could not parse it (corrupted or truncated file?)")
        }
        defer { onnx__model_proto__free_unpacked(message, nil) }
        return try makeModel(message, initializers: makeInitializers)
    }

    /// Unpacks the message made of `fields` of `bytes` (a copy of just those fields).
    private func unpack<Message>(
        concatenating fields: [WireFormatCheck.Field], of bytes: UnsafeRawBufferPointer, what: String,
        _ unpack: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?)
            -> UnsafeMutablePointer<Message>?
    ) throws -> UnsafeMutablePointer<Message> {
        var message: [UInt8] = []
        message.reserveCapacity(fields.reduce(0) { $0 + $1.range.count })
        for field in fields { message.append(contentsOf: bytes[field.range]) }
        guard let unpacked = message.withUnsafeBufferPointer({ unpack(nil, $0.count, $0.baseAddress) }) else {
            throw malformed("not \(what): protobuf-c could not parse it (corrupted or truncated file?)")
        }
        return unpacked
    }

    func loadTensor(_ bytes: UnsafeRawBufferPointer) throws -> (name: String, tensor: Tensor) {
        let message = try withUnsafePointer(to: onnx__tensor_proto__descriptor) { descriptor in
            try WireFormatCheck.check(bytes, descriptor: descriptor, maxDepth: limits.maxMessageDepth,
                                      source: source)
            return onnx__tensor_proto__unpack(nil, bytes.count,
                                              bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        guard let message else {
            throw malformed("not an ONNX TensorProto: protobuf-c could not parse it (corrupted or truncated file?)")
        }
        defer { onnx__tensor_proto__free_unpacked(message, nil) }
        let name = string(message.pointee.name)
        let tensor = try makeTensor(message, describedAs: name.isEmpty ? "the tensor" : "tensor '\(name)'")
        return (name, tensor)
    }
}
