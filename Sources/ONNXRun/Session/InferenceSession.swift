// The public entry point: load a model once, then run it on named tensors, from any number of threads.

import Foundation
import Synchronization

/// How much of the graph optimizer runs.
public enum OptimizationLevel: Sendable {
    /// Reference kernels only, node by node as in the file (after constant folding): the oracle.
    case none
    /// Folding (BatchNorm, Pad), fusion (Conv + bias + residual Add + Clip/Relu), NHWC layout, fast kernels.
    case all
}

public struct SessionOptions: Sendable {
    /// Threads per run, the caller included; nil means the available cores.
    public var threadCount: Int?
    public var optimizationLevel: OptimizationLevel
    /// `.bf16` takes effect only with `optimizationLevel: .all` on a CPU with bfloat16 instructions
    /// (`Precision.bfloat16Instructions`); otherwise the session runs `.fp32` (`InferenceSession.precision` says).
    public var precision: Precision

    public init(threadCount: Int? = nil, optimizationLevel: OptimizationLevel = .all, precision: Precision = .fp32) {
        self.threadCount = threadCount
        self.optimizationLevel = optimizationLevel
        self.precision = precision
    }
}

/// A loaded, validated and optimized model, ready to run.
///
/// Thread safety: one session may be run from several threads at once. Each run takes its own buffers (a second
/// concurrent run allocates a second set), and parallel regions of concurrent runs don't wait for each other
/// (a region that finds the pool busy runs on its own thread).
public final class InferenceSession: Sendable {
    /// The model as loaded — graph, opsets, metadata — except initializer data: the session keeps the weights only
    /// in the folded, packed form it runs, so they are not resident twice. (`ModelLoader` gives the whole model.)
    public let model: Model
    public let options: SessionOptions
    /// The precision the session computes in: `options.precision` where this CPU and the optimization level
    /// allow it, `.fp32` otherwise.
    public let precision: Precision
    /// Per node of the original graph: output types as inferred at load (symbolic dims kept) and MACs.
    public let nodeAnalysis: [NodeAnalysis]

    private let nodes: [TypedNode]
    private let constants: [String: Tensor]
    private let pool: ThreadPool
    private let plans = Mutex<[[[Int]]: ExecutionPlan]>([:])

    /// Loads the model file at `path` and prepares it.
    public convenience init(contentsOf path: String, options: SessionOptions = .init()) throws {
        try self.init(model: ModelLoader.load(contentsOf: path), options: options)
    }

    /// Prepares `model`: builds its operators (every unsupported one is reported in one error), infers types,
    /// folds constants and optimizes the graph.
    public init(model: Model, options: SessionOptions = .init(), registry: OperatorRegistry = .standard) throws {
        try KernelInstructionSet.checkEnvironmentCap()
        var description = model
        description.graph.initializers = [:]
        self.model = description
        self.options = options
        let typed = try TypedGraph(model: model, registry: registry)
        nodeAnalysis = typed.analysis
        switch options.optimizationLevel {
        case .none:
            precision = .fp32
            nodes = typed.nodes
            constants = typed.constants
        case .all:
            precision = options.precision == .bf16 && Precision.bfloat16Instructions != nil ? .bf16 : .fp32
            let optimized = try GraphOptimizer.optimize(typed, registry: registry, precision: precision)
            nodes = optimized.nodes
            constants = optimized.constants
        }
        let threads = options.threadCount ?? ProcessInfo.processInfo.activeProcessorCount
        pool = ThreadPool(threadCount: max(1, threads))
        try prepareForDeclaredShapes()
    }

    /// When every input's shape is fixed, plans and allocates the first run's buffers now, so the first `run`
    /// costs what later ones do (a classifier run once per photo would otherwise pay the planning every time).
    private func prepareForDeclaredShapes() throws {
        var types: [String: TensorType] = [:]
        for input in inputs {
            guard let type = input.type, type.fixedShape != nil else { return }
            types[input.name] = type
        }
        let key = inputs.map { types[$0.name]?.fixedShape ?? [] }
        let plan = try ExecutionPlan(source: model.source, nodes: nodes, constants: constants, inputs: types,
                                     outputs: outputs.map(\.name))
        plan.prepareContext()
        plans.withLock { $0[key] = plan }
    }

    /// The inputs the caller feeds, with declared types (symbolic dimensions by name).
    public var inputs: [ValueInfo] { model.graph.inputs }
    public var outputs: [ValueInfo] { model.graph.outputs }

    /// Runs the model. `feeds` must hold every input by name; returns every graph output by name.
    public func run(_ feeds: [String: Tensor]) throws -> [String: Tensor] {
        try plan(for: feeds).run(feeds, pool: pool, timings: nil)
    }

    /// Runs the model and appends each executed step's time to `timings`.
    public func run(_ feeds: [String: Tensor], timings: inout [NodeTiming]) throws -> [String: Tensor] {
        let plan = try plan(for: feeds)
        return try withUnsafeMutablePointer(to: &timings) { try plan.run(feeds, pool: pool, timings: $0) }
    }

    // MARK: Input validation and plans

    /// The plan for these feeds' shapes, made on first use (tests inspect it).
    func plan(for feeds: [String: Tensor]) throws -> ExecutionPlan {
        let inputTypes = try validate(feeds)
        let key = inputs.map { inputTypes[$0.name]?.fixedShape ?? [] }
        if let plan = plans.withLock({ $0[key] }) { return plan }
        let plan = try ExecutionPlan(source: model.source, nodes: nodes, constants: constants, inputs: inputTypes,
                                     outputs: outputs.map(\.name))
        plans.withLock { $0[key] = plan }
        return plan
    }

    /// Checks names, element types and shapes of `feeds` against the declared inputs, binding symbolic dims.
    private func validate(_ feeds: [String: Tensor]) throws -> [String: TensorType] {
        let declared = Set(inputs.map(\.name))
        if let unknown = feeds.keys.sorted().first(where: { !declared.contains($0) }) {
            throw ONNXRunError(.invalidInput, "the model has no input '\(unknown)'; its inputs are "
                + inputs.map { "'\($0.name)'" }.joined(separator: ", "), file: model.source)
        }
        var bindings: [String: Int] = [:]
        var types: [String: TensorType] = [:]
        for input in inputs {
            guard let tensor = feeds[input.name] else {
                throw ONNXRunError(.invalidInput, "input '\(input.name)' is missing", file: model.source)
            }
            guard let type = input.type else { continue }
            let expected = type.shape.map { "[" + $0.map(\.description).joined(separator: ",") + "]" } ?? "any"
            let mismatch = ONNXRunError(.invalidInput, "input '\(input.name)' expects \(type.elementType)\(expected), "
                + "got \(tensor.elementType)\(describeShape(tensor.shape))", file: model.source)
            guard tensor.elementType == type.elementType else { throw mismatch }
            if let shape = type.shape {
                guard shape.count == tensor.rank else { throw mismatch }
                for (dimension, actual) in zip(shape, tensor.shape) {
                    switch dimension {
                    case .fixed(let value):
                        guard value == actual else { throw mismatch }
                    case .symbolic(let symbol):
                        if let bound = bindings[symbol], bound != actual {
                            throw ONNXRunError(.invalidInput, "input '\(input.name)' gives '\(symbol)' = \(actual), "
                                + "another input gave \(bound)", file: model.source)
                        }
                        bindings[symbol] = actual
                    case .unknown:
                        break
                    }
                }
            }
            types[input.name] = TensorType(elementType: tensor.elementType, fixedShape: tensor.shape)
        }
        return types
    }
}
