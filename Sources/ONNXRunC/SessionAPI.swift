// The C API's sessions (onnxrun.h): create/destroy, input and output names and types, and running on tensors.

import CONNXRunHeader
import Foundation
import ONNXRun

/// What an `onnxrun_session *` points to.
final class SessionHandle: Sendable {
    let session: InferenceSession
    let inputNames: CStrings
    let outputNames: CStrings

    init(session: InferenceSession) {
        self.session = session
        inputNames = CStrings(session.inputs.map(\.name))
        outputNames = CStrings(session.outputs.map(\.name))
    }

    static func from(_ handle: OpaquePointer?) throws -> SessionHandle {
        try HandleRegistry.object(handle, as: SessionHandle.self, name: "session")
    }

    var source: String { session.model.source }
}

// MARK: - Lifetime and names

@_cdecl("onnxrun_session_create")
public func onnxrunSessionCreate(_ modelPath: UnsafePointer<CChar>?, _ threadCount: Int32,
                                 _ error: ErrorOut) -> OpaquePointer? {
    reportingErrors(error, failure: nil) {
        let path = try string(modelPath, "model_path")
        let session = try InferenceSession(contentsOf: path, options: sessionOptions(threadCount: threadCount))
        return HandleRegistry.register(SessionHandle(session: session))
    }
}

@_cdecl("onnxrun_session_destroy")
public func onnxrunSessionDestroy(_ session: OpaquePointer?) {
    HandleRegistry.remove(session, as: SessionHandle.self)
}

@_cdecl("onnxrun_session_input_count")
public func onnxrunSessionInputCount(_ session: OpaquePointer?) -> Int {
    (try? SessionHandle.from(session))?.inputNames.count ?? 0
}

@_cdecl("onnxrun_session_input_name")
public func onnxrunSessionInputName(_ session: OpaquePointer?, _ index: Int) -> UnsafePointer<CChar>? {
    (try? SessionHandle.from(session))?.inputNames[index]
}

@_cdecl("onnxrun_session_output_count")
public func onnxrunSessionOutputCount(_ session: OpaquePointer?) -> Int {
    (try? SessionHandle.from(session))?.outputNames.count ?? 0
}

@_cdecl("onnxrun_session_output_name")
public func onnxrunSessionOutputName(_ session: OpaquePointer?, _ index: Int) -> UnsafePointer<CChar>? {
    (try? SessionHandle.from(session))?.outputNames[index]
}

// MARK: - Declared types

@_cdecl("onnxrun_session_input_type")
public func onnxrunSessionInputType(_ session: OpaquePointer?, _ index: Int, _ elementType: UnsafeMutablePointer<Int32>?,
                                    _ shape: UnsafeMutablePointer<Int64>?, _ rank: UnsafeMutablePointer<Int>?,
                                    _ error: ErrorOut) -> Int32 {
    reportingErrors(error, failure: 1) {
        let handle = try SessionHandle.from(session)
        try writeDeclaredType(of: handle.session.inputs, index: index, kind: "input", elementType: elementType,
                              shape: shape, rank: rank)
        return 0
    }
}

@_cdecl("onnxrun_session_output_type")
public func onnxrunSessionOutputType(_ session: OpaquePointer?, _ index: Int, _ elementType: UnsafeMutablePointer<Int32>?,
                                     _ shape: UnsafeMutablePointer<Int64>?, _ rank: UnsafeMutablePointer<Int>?,
                                     _ error: ErrorOut) -> Int32 {
    reportingErrors(error, failure: 1) {
        let handle = try SessionHandle.from(session)
        try writeDeclaredType(of: handle.session.outputs, index: index, kind: "output", elementType: elementType,
                              shape: shape, rank: rank)
        return 0
    }
}

private func writeDeclaredType(of values: [ValueInfo], index: Int, kind: String,
                               elementType: UnsafeMutablePointer<Int32>?, shape: UnsafeMutablePointer<Int64>?,
                               rank: UnsafeMutablePointer<Int>?) throws {
    let elementType = try required(elementType, "element_type")
    let shape = try required(shape, "shape")
    let rank = try required(rank, "rank")
    guard values.indices.contains(index) else {
        throw ONNXRunError(.invalidArgument, "\(kind) index \(index) is out of range: the model has \(values.count)")
    }
    let value = values[index]
    guard let type = value.type, let dimensions = type.shape else {
        throw ONNXRunError(.unsupported, "\(kind) '\(value.name)' declares no rank")
    }
    guard dimensions.count <= maximumRank else {
        throw ONNXRunError(.unsupported, "\(kind) '\(value.name)' is \(type): rank above \(maximumRank)")
    }
    elementType.pointee = type.elementType.rawValue
    for (axis, dimension) in dimensions.enumerated() { shape[axis] = Int64(dimension.value ?? -1) }
    rank.pointee = dimensions.count
}

// MARK: - Running

@_cdecl("onnxrun_session_run_f32")
public func onnxrunSessionRunF32(_ session: OpaquePointer?, _ input: UnsafePointer<Float>?,
                                 _ shape: UnsafePointer<Int64>?, _ rank: Int, _ outputIndex: Int,
                                 _ output: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
                                 _ outShape: UnsafeMutablePointer<Int64>?, _ outRank: UnsafeMutablePointer<Int>?,
                                 _ error: ErrorOut) -> Int32 {
    output?.pointee = nil
    return reportingErrors(error, failure: 1) {
        let handle = try SessionHandle.from(session)
        let output = try required(output, "output")
        let outShape = try required(outShape, "out_shape")
        let outRank = try required(outRank, "out_rank")
        let inputs = handle.session.inputs, outputs = handle.session.outputs
        guard inputs.count == 1 else {
            throw ONNXRunError(.invalidArgument, "onnxrun_session_run_f32 runs models with one input; this one has "
                                   + "\(inputs.count): use onnxrun_session_run", file: handle.source)
        }
        guard outputs.indices.contains(outputIndex) else {
            throw ONNXRunError(.invalidArgument, "output_index \(outputIndex) is out of range: the model has "
                                   + "\(outputs.count) outputs", file: handle.source)
        }
        let dimensions = try ONNXRunC.shape(shape, rank: rank, name: "input")
        try checkFits(.float, dimensions, input: inputs[0], source: handle.source)
        let feed = try tensor(copying: input, type: .float, shape: dimensions, name: "input")
        let name = outputs[outputIndex].name
        let results = try handle.session.run([inputs[0].name: feed])
        guard let result = results[name] else {
            throw ONNXRunError(.invalidModel, "the session returned no output '\(name)'", file: handle.source)
        }
        guard result.elementType == .float else {
            throw ONNXRunError(.invalidArgument, "output '\(name)' is \(result), not float: use onnxrun_session_run",
                               file: handle.source)
        }
        let exported = try ExportedTensor(result, name: name)
        exported.writeShape(to: outShape, rank: outRank)
        output.pointee = exported.data.assumingMemoryBound(to: Float.self)
        return 0
    }
}

@_cdecl("onnxrun_session_run")
public func onnxrunSessionRun(_ session: OpaquePointer?, _ inputs: UnsafePointer<onnxrun_tensor>?, _ inputCount: Int,
                              _ outputs: UnsafeMutablePointer<onnxrun_tensor>?, _ outputCount: Int,
                              _ error: ErrorOut) -> Int32 {
    if let outputs, outputCount > 0 {
        for index in 0..<outputCount { outputs[index].data = nil }
    }
    return reportingErrors(error, failure: 1) {
        let handle = try SessionHandle.from(session)
        let declaredInputs = handle.session.inputs, declaredOutputs = handle.session.outputs
        guard (0...declaredInputs.count).contains(inputCount) else {
            throw ONNXRunError(.invalidArgument, "input_count \(inputCount): the model has \(declaredInputs.count) inputs",
                               file: handle.source)
        }
        guard outputCount >= 0 else {
            throw ONNXRunError(.invalidArgument, "output_count \(outputCount) is negative", file: handle.source)
        }
        guard inputCount == 0 || inputs != nil else { throw ONNXRunError(.invalidArgument, "inputs is NULL") }
        guard outputCount == 0 || outputs != nil else { throw ONNXRunError(.invalidArgument, "outputs is NULL") }

        var feeds: [String: Tensor] = [:]
        for index in 0..<inputCount {
            guard let entry = inputs?[index] else { break }
            let label = "inputs[\(index)]"
            let name = try string(entry.name, "\(label).name")
            guard let declared = declaredInputs.first(where: { $0.name == name }) else {
                throw ONNXRunError(.invalidInput, "the model has no input '\(name)'; its inputs are "
                                       + declaredInputs.map { "'\($0.name)'" }.joined(separator: ", "),
                                   file: handle.source)
            }
            guard feeds[name] == nil else {
                throw ONNXRunError(.invalidInput, "input '\(name)' is given twice", file: handle.source)
            }
            let type = try elementType(entry.element_type, name: label)
            let dimensions = try withUnsafePointer(to: entry.shape) { tuple in
                try tuple.withMemoryRebound(to: Int64.self, capacity: maximumRank) {
                    try shape($0, rank: entry.rank, name: label)
                }
            }
            try checkFits(type, dimensions, input: declared, source: handle.source)
            feeds[name] = try tensor(copying: entry.data, type: type, shape: dimensions, name: label)
        }

        // The wanted outputs, by name or position, checked before running.
        var wanted: [(name: String, namePointer: UnsafePointer<CChar>?)] = []
        for index in 0..<outputCount {
            guard let entry = outputs?[index] else { break }
            if let requested = entry.name {
                let name = String(cString: requested)
                guard declaredOutputs.contains(where: { $0.name == name }) else {
                    throw ONNXRunError(.invalidArgument, "the model has no output '\(name)'; its outputs are "
                                           + declaredOutputs.map { "'\($0.name)'" }.joined(separator: ", "),
                                       file: handle.source)
                }
                wanted.append((name, requested))
            } else {
                guard declaredOutputs.indices.contains(index) else {
                    throw ONNXRunError(.invalidArgument, "outputs[\(index)] has no name and the model has only "
                                           + "\(declaredOutputs.count) outputs", file: handle.source)
                }
                wanted.append((declaredOutputs[index].name, handle.outputNames[index]))
            }
        }

        let results = try handle.session.run(feeds)
        var exported: [ExportedTensor] = []
        do {
            for (name, _) in wanted {
                guard let result = results[name] else {
                    throw ONNXRunError(.invalidModel, "the session returned no output '\(name)'", file: handle.source)
                }
                exported.append(try ExportedTensor(result, name: name))
            }
        } catch {
            for tensor in exported { free(tensor.data) }
            throw error
        }
        for (index, (tensor, output)) in zip(exported, wanted).enumerated() {
            guard let outputs else { break }
            outputs[index].name = output.namePointer
            outputs[index].element_type = tensor.type.rawValue
            outputs[index].data = tensor.data
            withUnsafeMutablePointer(to: &outputs[index].shape) { tuple in
                tuple.withMemoryRebound(to: Int64.self, capacity: maximumRank) { dimensions in
                    withUnsafeMutablePointer(to: &outputs[index].rank) { rank in
                        tensor.writeShape(to: dimensions, rank: rank)
                    }
                }
            }
        }
        return 0
    }
}
