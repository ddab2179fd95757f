// A minimal protobuf encoder and ONNX message builders, so the tests can write exactly the malformed models
// they need (field numbers from onnx.proto).

/// Protobuf wire-format bytes of one message, built field by field.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ field: Int, wireType: UInt64) { appendVarint(UInt64(field) << 3 | wireType) }

    mutating func int(_ field: Int, _ value: Int64) {
        tag(field, wireType: 0)
        appendVarint(UInt64(bitPattern: value))
    }

    mutating func float(_ field: Int, _ value: Float) {
        tag(field, wireType: 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    mutating func data(_ field: Int, _ data: [UInt8]) {
        tag(field, wireType: 2)
        appendVarint(UInt64(data.count))
        bytes += data
    }

    mutating func string(_ field: Int, _ text: String) { data(field, Array(text.utf8)) }

    mutating func message(_ field: Int, _ message: ProtobufWriter) { data(field, message.bytes) }
}

/// Builders for the ONNX messages the tests use. Every argument maps to one protobuf field.
enum ONNXProto {
    static func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    static func tensor(name: String, dims: [Int64], dataType: Int64 = 1, raw: [UInt8]? = nil,
                       floats: [Float] = [], int64s: [Int64] = [], int32s: [Int64] = [],
                       external: [(String, String)] = []) -> ProtobufWriter {
        var tensor = ProtobufWriter()
        for dim in dims { tensor.int(1, dim) }
        tensor.int(2, dataType)
        for value in floats { tensor.float(4, value) }
        for value in int32s { tensor.int(5, value) }
        for value in int64s { tensor.int(7, value) }
        tensor.string(8, name)
        if let raw { tensor.data(9, raw) }
        for (key, value) in external {
            var entry = ProtobufWriter()
            entry.string(1, key)
            entry.string(2, value)
            tensor.message(13, entry)
        }
        if !external.isEmpty { tensor.int(14, 1) }
        return tensor
    }

    /// A float tensor value (dims: numbers, or strings for symbolic dimensions).
    static func value(_ name: String, elementType: Int64 = 1, dims: [Any]? = nil) -> ProtobufWriter {
        var tensorType = ProtobufWriter()
        tensorType.int(1, elementType)
        if let dims {
            var shape = ProtobufWriter()
            for dim in dims {
                var dimension = ProtobufWriter()
                if let number = dim as? Int { dimension.int(1, Int64(number)) }
                if let symbol = dim as? String { dimension.string(2, symbol) }
                shape.message(1, dimension)
            }
            tensorType.message(2, shape)
        }
        var type = ProtobufWriter()
        type.message(1, tensorType)
        var info = ProtobufWriter()
        info.string(1, name)
        info.message(2, type)
        return info
    }

    static func node(_ opType: String, _ inputs: [String], _ outputs: [String], name: String? = nil,
                     attributes: [ProtobufWriter] = []) -> ProtobufWriter {
        var node = ProtobufWriter()
        for input in inputs { node.string(1, input) }
        for output in outputs { node.string(2, output) }
        if let name { node.string(3, name) }
        node.string(4, opType)
        for attribute in attributes { node.message(5, attribute) }
        return node
    }

    static func attribute(_ name: String, type: Int64, build: (inout ProtobufWriter) -> Void) -> ProtobufWriter {
        var attribute = ProtobufWriter()
        attribute.string(1, name)
        build(&attribute)
        attribute.int(20, type)
        return attribute
    }

    static func graph(nodes: [ProtobufWriter], inputs: [ProtobufWriter] = [], outputs: [ProtobufWriter],
                      initializers: [ProtobufWriter] = [], name: String = "test") -> ProtobufWriter {
        var graph = ProtobufWriter()
        for node in nodes { graph.message(1, node) }
        graph.string(2, name)
        for initializer in initializers { graph.message(5, initializer) }
        for input in inputs { graph.message(11, input) }
        for output in outputs { graph.message(12, output) }
        return graph
    }

    static func model(_ graph: ProtobufWriter?, irVersion: Int64? = 8, opsets: [(String, Int64)] = [("", 13)])
        -> [UInt8] {
        var model = ProtobufWriter()
        if let irVersion { model.int(1, irVersion) }
        if let graph { model.message(7, graph) }
        for (domain, version) in opsets {
            var opset = ProtobufWriter()
            opset.string(1, domain)
            opset.int(2, version)
            model.message(8, opset)
        }
        return model.bytes
    }

    /// X -> Relu -> Y: the smallest valid model, varied by the tests.
    static func reluModel(nodes: [ProtobufWriter]? = nil, initializers: [ProtobufWriter] = [],
                          outputs: [ProtobufWriter] = [value("Y", dims: [2])]) -> [UInt8] {
        model(graph(nodes: nodes ?? [node("Relu", ["X"], ["Y"], name: "relu")], inputs: [value("X", dims: [2])],
                    outputs: outputs, initializers: initializers))
    }
}
