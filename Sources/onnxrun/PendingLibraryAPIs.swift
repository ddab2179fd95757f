// TEMPORARY stand-ins for library APIs other helpers are landing on main (apis.md); this file is deleted when they land.

import ONNXRun

enum OptimizationLevel: Sendable { case none, all }

struct SessionOptions: Sendable {
    var threadCount: Int?
    var optimizationLevel: OptimizationLevel = .all
    init(threadCount: Int? = nil, optimizationLevel: OptimizationLevel = .all) {
        self.threadCount = threadCount
        self.optimizationLevel = optimizationLevel
    }
}

struct NodeTiming: Sendable {
    var name: String
    var opType: String
    var seconds: Double
    var flops: Double
}

struct NodeAnalysis: Sendable {
    var name: String
    var opType: String
    var outputTypes: [TensorType]
    var macs: Int?
}

final class InferenceSession: Sendable {
    let model: Model
    var inputs: [ValueInfo] { model.graph.inputs }
    var outputs: [ValueInfo] { model.graph.outputs }
    var nodeAnalysis: [NodeAnalysis] { [] }

    init(model: Model, options: SessionOptions = .init()) throws {
        self.model = model
        throw ONNXRunError(.unsupported, "InferenceSession has not landed yet", file: model.source)
    }

    convenience init(contentsOf path: String, options: SessionOptions = .init()) throws {
        try self.init(model: ModelLoader.load(contentsOf: path), options: options)
    }

    func run(_ feeds: [String: Tensor]) throws -> [String: Tensor] { [:] }
    func run(_ feeds: [String: Tensor], timings: inout [NodeTiming]) throws -> [String: Tensor] { [:] }
    func inferredTypes() -> [String: TensorType] { [:] }
}
