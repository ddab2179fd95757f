// The Open Inference Protocol (KServe v2) REST messages: JSON tensors and the binary tensor data extension.
//
// Spec: https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/ and Triton's
// binary_tensor_data extension: the body is a JSON header of `Inference-Header-Content-Length` bytes followed by
// the raw tensors, in order, for every input whose `parameters.binary_data_size` is set.

import Foundation
import ONNXRun

/// An error that becomes an HTTP response `{"error": message}` with its status.
struct ServerError: Error, CustomStringConvertible {
    var status: Int
    var message: String

    static func badRequest(_ message: String) -> ServerError { ServerError(status: 400, message: message) }
    static func notFound(_ message: String) -> ServerError { ServerError(status: 404, message: message) }

    var description: String { message }
}

/// The protocol's datatype names for ONNX element types.
enum ProtocolDatatype {
    static func name(of type: ElementType) -> String? {
        switch type {
        case .float: "FP32"
        case .double: "FP64"
        case .float16: "FP16"
        case .bfloat16: "BF16"
        case .int8: "INT8"
        case .int16: "INT16"
        case .int32: "INT32"
        case .int64: "INT64"
        case .uint8: "UINT8"
        case .uint16: "UINT16"
        case .uint32: "UINT32"
        case .uint64: "UINT64"
        case .bool: "BOOL"
        case .string: nil
        }
    }

    static func elementType(named name: String) -> ElementType? {
        ElementType.allCases.first { self.name(of: $0) == name }
    }
}

/// One decoded infer request.
struct InferRequest {
    var id: String?
    var inputs: [String: Tensor]
    /// Output names the caller asked for (empty: all), and whether each wants binary data.
    var requestedOutputs: [(name: String, binary: Bool)]
    /// `parameters.binary_data_output`: every output as binary unless it says otherwise.
    var binaryOutputsByDefault: Bool
}

enum InferRequestDecoder {
    /// Decodes `body`. `headerLength` is `Inference-Header-Content-Length` when the binary extension is used.
    /// `expected` gives each model input's element type; every shape x datatype x count is checked before any
    /// tensor is allocated.
    static func decode(_ body: [UInt8], headerLength: Int?, expected: [String: ElementType],
                       maxElements: Int) throws -> InferRequest {
        let jsonLength = headerLength ?? body.count
        guard jsonLength >= 0, jsonLength <= body.count else {
            throw ServerError.badRequest("Inference-Header-Content-Length is \(jsonLength), the body has \(body.count) bytes")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body[0..<jsonLength]))
        } catch {
            throw ServerError.badRequest("the request is not valid JSON: \(error.localizedDescription)")
        }
        guard let request = object as? [String: Any] else {
            throw ServerError.badRequest("the request must be a JSON object")
        }
        guard let inputList = request["inputs"] as? [[String: Any]], !inputList.isEmpty else {
            throw ServerError.badRequest("'inputs' must be a non-empty array of tensors")
        }
        var binaryOffset = jsonLength
        var inputs: [String: Tensor] = [:]
        for input in inputList {
            guard let name = input["name"] as? String else { throw ServerError.badRequest("an input has no 'name'") }
            guard let elementType = expected[name] else {
                throw ServerError.badRequest("the model has no input '\(name)'; its inputs are "
                    + expected.keys.sorted().map { "'\($0)'" }.joined(separator: ", "))
            }
            guard inputs[name] == nil else { throw ServerError.badRequest("input '\(name)' is given twice") }
            guard let datatype = input["datatype"] as? String else {
                throw ServerError.badRequest("input '\(name)' has no 'datatype'")
            }
            guard ProtocolDatatype.elementType(named: datatype) == elementType else {
                throw ServerError.badRequest("input '\(name)' is \(ProtocolDatatype.name(of: elementType) ?? "\(elementType)"), "
                    + "the request says \(datatype)")
            }
            let shape = try decodeShape(input["shape"], name: name, maxElements: maxElements)
            let count = shape.reduce(1, *)
            let byteCount = count * elementType.byteSize
            let parameters = input["parameters"] as? [String: Any]
            if let binarySize = parameters?["binary_data_size"] {
                guard let size = integer(binarySize), size == byteCount else {
                    throw ServerError.badRequest("input '\(name)': binary_data_size \(binarySize) does not match "
                        + "\(datatype) \(shape) (\(byteCount) bytes)")
                }
                guard binaryOffset + size <= body.count else {
                    throw ServerError.badRequest("input '\(name)': the body ends \(binaryOffset + size - body.count) "
                        + "bytes before its binary data does")
                }
                inputs[name] = try body.withUnsafeBytes { raw in
                    try Tensor(elementType: elementType, shape: shape,
                               copying: UnsafeRawBufferPointer(rebasing: raw[binaryOffset..<binaryOffset + size]))
                }
                binaryOffset += size
            } else {
                guard let data = input["data"] else {
                    throw ServerError.badRequest("input '\(name)' has neither 'data' nor binary_data_size")
                }
                var values: [Any] = []
                values.reserveCapacity(count)
                try flatten(data, into: &values, limit: count, name: name)
                guard values.count == count else {
                    throw ServerError.badRequest("input '\(name)' has \(values.count) values, shape \(shape) needs \(count)")
                }
                inputs[name] = try tensor(from: values, elementType: elementType, shape: shape, name: name)
            }
        }
        guard binaryOffset == body.count else {
            throw ServerError.badRequest("the body has \(body.count - binaryOffset) bytes after the last tensor")
        }
        let parameters = request["parameters"] as? [String: Any]
        let binaryByDefault = parameters?["binary_data_output"] as? Bool ?? false
        var requested: [(String, Bool)] = []
        if let outputs = request["outputs"] as? [[String: Any]] {
            for output in outputs {
                guard let name = output["name"] as? String else {
                    throw ServerError.badRequest("a requested output has no 'name'")
                }
                let binary = (output["parameters"] as? [String: Any])?["binary_data"] as? Bool ?? binaryByDefault
                requested.append((name, binary))
            }
        }
        return InferRequest(id: request["id"] as? String, inputs: inputs, requestedOutputs: requested,
                            binaryOutputsByDefault: binaryByDefault)
    }

    private static func integer(_ value: Any) -> Int? {
        if let number = value as? Int { return number }
        if let number = value as? NSNumber, !isFloatingPoint(number) { return number.intValue }
        return nil
    }

    /// Whether JSON wrote the number with a fraction or exponent (JSONSerialization gives a double for those).
    private static func isFloatingPoint(_ number: NSNumber) -> Bool {
        let type = String(cString: number.objCType)
        return type == "d" || type == "f"
    }

    private static func decodeShape(_ value: Any?, name: String, maxElements: Int) throws -> [Int] {
        guard let list = value as? [Any] else { throw ServerError.badRequest("input '\(name)' has no 'shape' array") }
        var shape: [Int] = []
        var count = 1
        for dimension in list {
            guard let size = integer(dimension), size >= 0 else {
                throw ServerError.badRequest("input '\(name)' has shape \(list): dimensions must be non-negative integers")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, product <= maxElements else {
                throw ServerError(status: 413, message: "input '\(name)' with shape \(list) exceeds the server's limit "
                    + "of \(maxElements) elements")
            }
            count = product
            shape.append(size)
        }
        return shape
    }

    /// Row-major flattening of nested arrays, stopping past `limit` values.
    private static func flatten(_ value: Any, into values: inout [Any], limit: Int, name: String) throws {
        if let list = value as? [Any] {
            for element in list {
                try flatten(element, into: &values, limit: limit, name: name)
                if values.count > limit { return }
            }
        } else {
            values.append(value)
        }
    }

    private static func tensor(from values: [Any], elementType: ElementType, shape: [Int], name: String) throws -> Tensor {
        func numbers() throws -> [NSNumber] {
            try values.map { value in
                guard let number = value as? NSNumber else {
                    throw ServerError.badRequest("input '\(name)' has a non-numeric value: \(value)")
                }
                return number
            }
        }
        func integers<Value: FixedWidthInteger & TensorElement>(_ type: Value.Type) throws -> Tensor {
            let converted: [Value] = try numbers().map { number -> Value in
                guard !isFloatingPoint(number), let value = Value(exactly: number.int64Value) else {
                    throw ServerError.badRequest("input '\(name)' has \(number), not a \(Value.self)")
                }
                return value
            }
            return try Tensor(shape: shape, scalars: converted)
        }
        switch elementType {
        case .float: return try Tensor(shape: shape, scalars: try numbers().map(\.floatValue))
        case .double: return try Tensor(shape: shape, scalars: try numbers().map(\.doubleValue))
        case .int64: return try integers(Int64.self)
        case .int32: return try integers(Int32.self)
        case .int16: return try integers(Int16.self)
        case .int8: return try integers(Int8.self)
        case .uint8: return try integers(UInt8.self)
        case .uint16: return try integers(UInt16.self)
        case .uint32: return try integers(UInt32.self)
        case .uint64: return try integers(UInt64.self)
        case .bool:
            let flags: [Bool] = try values.map { value -> Bool in
                guard let flag = value as? Bool else { throw ServerError.badRequest("input '\(name)' has \(value), not a bool") }
                return flag
            }
            return try Tensor(shape: shape, scalars: flags)
        case .float16, .bfloat16, .string:
            throw ServerError.badRequest("input '\(name)': \(elementType) data must be sent as binary data")
        }
    }
}

/// Encodes an infer response: JSON only, or JSON header + binary outputs.
enum InferResponseEncoder {
    static func encode(modelName: String, id: String?, outputs: [(name: String, tensor: Tensor, binary: Bool)])
        throws -> (body: [UInt8], headerLength: Int?)
    {
        var entries: [[String: Any]] = []
        var binary: [UInt8] = []
        for output in outputs {
            guard let datatype = ProtocolDatatype.name(of: output.tensor.elementType) else {
                throw ServerError(status: 500, message: "output '\(output.name)' has type \(output.tensor.elementType)")
            }
            var entry: [String: Any] = ["name": output.name, "datatype": datatype, "shape": output.tensor.shape]
            if output.binary || [.float16, .bfloat16].contains(output.tensor.elementType) {
                entry["parameters"] = ["binary_data_size": output.tensor.byteCount]
                output.tensor.withUnsafeBytes { binary.append(contentsOf: $0) }
            } else {
                entry["data"] = jsonValues(output.tensor)
            }
            entries.append(entry)
        }
        var response: [String: Any] = ["model_name": modelName, "model_version": "1", "outputs": entries]
        if let id { response["id"] = id }
        let json = try JSONSerialization.data(withJSONObject: response)
        if binary.isEmpty { return (Array(json), nil) }
        return (Array(json) + binary, json.count)
    }

    private static func jsonValues(_ tensor: Tensor) -> [Any] {
        switch tensor.elementType {
        case .float: tensor.floats.map { $0.isFinite ? Double($0) as Any : NSNull() }
        case .double: tensor.scalars(as: Double.self).map { $0.isFinite ? $0 as Any : NSNull() }
        case .bool: tensor.scalars(as: Bool.self)
        case .uint64: tensor.scalars(as: UInt64.self)
        default: tensor.integers ?? []
        }
    }
}
