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
        return try context.loadModel(file.bytes, afterParsing: { file.close() })
    }

    /// Loads a model from bytes. `source` names it in errors; `baseDirectory` is where external data is looked
    /// up (a model with external data and no base directory is refused).
    public static func load(bytes: [UInt8], source: String = "<memory>", baseDirectory: String? = nil,
                            limits: LoadLimits = .default) throws -> Model {
        guard !bytes.isEmpty else {
            throw ONNXRunError(.malformedModel, "the model is empty (0 bytes)", file: source)
        }
        let context = LoadContext(source: source, baseDirectory: baseDirectory, limits: limits)
        return try bytes.withUnsafeBytes { try context.loadModel($0, afterParsing: {}) }
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

    /// Checks the framing, unpacks, converts, then frees the protobuf-c message.
    /// `afterParsing` runs once protobuf-c no longer needs the input bytes (the caller unmaps the file).
    func loadModel(_ bytes: UnsafeRawBufferPointer, afterParsing: () -> Void) throws -> Model {
        let message = try withUnsafePointer(to: onnx__model_proto__descriptor) { descriptor in
            try WireFormatCheck.check(bytes, descriptor: descriptor, maxDepth: limits.maxMessageDepth,
                                      source: source)
            return onnx__model_proto__unpack(nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        afterParsing()
        guard let message else {
            throw malformed("not an ONNX model: protobuf-c could not parse it (corrupted or truncated file?)")
        }
        defer { onnx__model_proto__free_unpacked(message, nil) }
        return try makeModel(message)
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
