// A pre-pass over protobuf wire bytes that bounds message nesting before protobuf-c (which recurses) sees them.

import COnnxProto
import CProtobufC

/// protobuf-c unpacks nested messages recursively with no depth limit, so a few megabytes of nested
/// `AttributeProto.g` -> `GraphProto.node` -> ... headers would overflow the stack. This walk follows only the
/// fields the schema declares as messages, skips everything else by length, and throws on nesting deeper than
/// the limit or on framing errors (truncated varints, lengths past the end, group wire types).
enum WireFormatCheck {
    /// One field of a message: its number, wire type, its bytes including the tag (`range`) and, for
    /// length-delimited fields, the payload (`payload`).
    struct Field {
        var number: UInt32
        var wireType: UInt64
        var range: Range<Int>
        var payload: Range<Int>
    }

    static func check(_ bytes: UnsafeRawBufferPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
                      maxDepth: Int, source: String) throws {
        try checkMessage(bytes, descriptor: descriptor, depth: 1, maxDepth: maxDepth, source: source,
                         offset: 0)
    }

    private static func checkMessage(_ bytes: UnsafeRawBufferPointer,
                                     descriptor: UnsafePointer<ProtobufCMessageDescriptor>, depth: Int,
                                     maxDepth: Int, source: String, offset base: Int) throws {
        guard depth <= maxDepth else {
            throw ONNXRunError(.malformedModel,
                               "protobuf messages nest deeper than \(maxDepth) levels (at byte \(base))",
                               file: source)
        }
        try forEachField(of: bytes, source: source, offset: base) { field in
            if field.wireType == 2,
               let fieldDescriptor = protobuf_c_message_descriptor_get_field(descriptor, field.number),
               fieldDescriptor.pointee.type == PROTOBUF_C_TYPE_MESSAGE,
               let subDescriptor = fieldDescriptor.pointee.descriptor?.assumingMemoryBound(
                   to: ProtobufCMessageDescriptor.self) {
                try checkMessage(UnsafeRawBufferPointer(rebasing: bytes[field.payload]),
                                 descriptor: subDescriptor, depth: depth + 1, maxDepth: maxDepth,
                                 source: source, offset: base + field.payload.lowerBound)
            }
        }
    }

    /// The top-level fields of one message's bytes, in file order. `offset` places `bytes` in the file, for errors.
    static func fields(of bytes: UnsafeRawBufferPointer, source: String, offset base: Int = 0) throws -> [Field] {
        var result: [Field] = []
        try forEachField(of: bytes, source: source, offset: base) { result.append($0) }
        return result
    }

    /// Calls `body` with each top-level field of one message's bytes, in file order.
    static func forEachField(of bytes: UnsafeRawBufferPointer, source: String, offset base: Int = 0,
                             _ body: (Field) throws -> Void) throws {
        var position = 0
        func corrupt(_ what: String) -> ONNXRunError {
            ONNXRunError(.malformedModel, "not a valid ONNX protobuf: \(what) at byte \(base + position) "
                         + "(truncated or corrupted file?)", file: source)
        }
        func readVarint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < bytes.count else { throw corrupt("truncated varint") }
                guard shift < 64 else { throw corrupt("varint longer than 10 bytes") }
                let byte = bytes[position]
                position += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        func skip(_ count: UInt64) throws {
            guard count <= UInt64(bytes.count - position) else { throw corrupt("field runs past the end") }
            position += Int(count)
        }
        while position < bytes.count {
            let start = position
            let tag = try readVarint()
            let fieldNumber = tag >> 3
            guard fieldNumber > 0, fieldNumber <= UInt64(UInt32.max >> 3) else {
                throw corrupt("invalid field number \(fieldNumber)")
            }
            var payloadStart = position
            switch tag & 7 {
            case 0: _ = try readVarint()
            case 1: try skip(8)
            case 5: try skip(4)
            case 2:
                let length = try readVarint()
                payloadStart = position
                try skip(length)
            default:
                throw corrupt("unsupported wire type \(tag & 7)")
            }
            try body(Field(number: UInt32(fieldNumber), wireType: tag & 7, range: start..<position,
                           payload: payloadStart..<position))
        }
    }
}
