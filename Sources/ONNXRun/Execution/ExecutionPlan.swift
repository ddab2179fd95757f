// Load stage 4: a plan for concrete input shapes — steps, value slots, and buffers reused across value lifetimes.

import Foundation
import Synchronization

/// An operator whose kernel writes into buffers the plan provides, so a run allocates nothing.
protocol KernelOperator: Operator {
    /// Computes the outputs of `inputs` into `outputs`, which the plan allocated with the inferred shapes.
    /// An output's storage is shared with no live value, so the kernel writes it through `storage.bytes`.
    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws
}

extension KernelOperator {
    /// Outside a plan (constant folding, tests): outputs allocated from the inferred shapes, one thread.
    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        let types = try inferOutputs(inputs.map { tensor in
            tensor.map { InferenceValue(type: TensorType(elementType: $0.elementType, fixedShape: $0.shape)) }
        })
        let outputs = try types.map { type -> Tensor in
            guard let shape = type.fixedShape else {
                throw ONNXRunError(.invalidModel, "output shape \(type) is not known from the inputs")
            }
            return Tensor(zeros: type.elementType, shape: shape)
        }
        try execute(inputs, into: outputs, pool: ThreadPool(threadCount: 1))
        return outputs
    }
}

/// One executed node of the (possibly optimized) graph.
struct ExecutionStep: Sendable {
    let node: TypedNode
    /// Value slots of the inputs; nil for absent optional inputs.
    let inputSlots: [Int?]
    /// Value slots of the outputs; nil for outputs nobody uses.
    let outputSlots: [Int?]
    /// Output types with concrete shapes when inference could fix them.
    let outputTypes: [TensorType]
    /// Arena buffer per output (nil: the kernel's output gets fresh storage, or the operator allocates it).
    let outputBuffers: [Int?]
    /// Slots no later step reads; dropped after this step.
    let slotsToRelease: [Int]
    let flops: Double
    var usesKernel: Bool { node.op is KernelOperator }
}

/// The buffers and value table of one run in progress. Runs on several threads at once use separate contexts.
final class ExecutionContext: @unchecked Sendable {
    let buffers: [TensorStorage]
    var values: [Tensor?]

    init(bufferSizes: [Int], slotCount: Int) {
        buffers = bufferSizes.map { TensorStorage(byteCount: $0) }
        values = Array(repeating: nil, count: slotCount)
    }
}

/// Per-step time of one profiled run.
public struct NodeTiming: Sendable {
    /// The step's node name (a fused step carries the name of the node it was built from).
    public var name: String
    public var opType: String
    public var seconds: Double
    /// Floating-point operations of the step (2 x MACs for convolutions and matrix products; 0 when unknown).
    public var flops: Double
}

final class ExecutionPlan: Sendable {
    private let source: String
    private let steps: [ExecutionStep]
    private let slotOfInput: [(name: String, slot: Int)]
    private let slotOfOutput: [(name: String, slot: Int)]
    private let initialValues: [Tensor?]
    private let bufferSizes: [Int]
    private let idleContexts = Mutex<[ExecutionContext]>([])

    /// Plans `nodes` for inputs of the given concrete types.
    init(source: String, nodes givenNodes: [TypedNode], constants givenConstants: [String: Tensor],
         inputs: [String: TensorType], outputs: [String]) throws {
        self.source = source
        var nodes: [TypedNode] = []

        // Concrete types flow from the inputs through every node; with the batch size known, more folds
        // (e.g. the Shape of an activation feeding a Reshape).
        var known = KnownValues(types: inputs, constants: givenConstants)
        for (name, tensor) in givenConstants {
            known.types[name] = TensorType(elementType: tensor.elementType, fixedShape: tensor.shape)
        }
        var outputTypesPerStep: [[TensorType]] = []
        for typedNode in givenNodes {
            let step = try known.propagate(through: typedNode, source: source)
            guard !step.folded else { continue }
            nodes.append(typedNode)
            outputTypesPerStep.append(step.outputTypes)
        }
        let constants = known.constants
        let types = known.types

        var slots: [String: Int] = [:]
        var initial: [Tensor?] = []
        func slot(for name: String) -> Int {
            if let existing = slots[name] { return existing }
            slots[name] = initial.count
            initial.append(constants[name])
            return initial.count - 1
        }

        for name in inputs.keys.sorted() { _ = slot(for: name) }
        for node in nodes {
            for name in node.node.inputs where !name.isEmpty { _ = slot(for: name) }
            for name in node.node.outputs where !name.isEmpty { _ = slot(for: name) }
        }
        for name in outputs { _ = slot(for: name) }

        // Lifetimes: the last step reading each slot. Graph outputs and constants live forever.
        let forever = Int.max
        var lastUse = Array(repeating: -1, count: initial.count)
        for (index, node) in nodes.enumerated() {
            for name in node.node.inputs where !name.isEmpty { lastUse[slots[name]!] = index }
        }
        for name in outputs { lastUse[slots[name]!] = forever }
        for (index, value) in initial.enumerated() where value != nil { lastUse[index] = forever }

        // A value a reference kernel returns may share storage with its inputs (Reshape, Flatten, Identity...):
        // such values form one group whose storage lives until the last member's last use.
        var group = Array(0..<initial.count)
        func root(_ slot: Int) -> Int {
            var current = slot
            while group[current] != current {
                group[current] = group[group[current]]
                current = group[current]
            }
            return current
        }
        for node in nodes where !(node.op is KernelOperator) {
            for output in node.node.outputs where !output.isEmpty {
                for input in node.node.inputs where !input.isEmpty {
                    group[root(slots[output]!)] = root(slots[input]!)
                }
            }
        }
        var groupLastUse: [Int: Int] = [:]
        for slot in 0..<initial.count {
            groupLastUse[root(slot), default: -1] = max(groupLastUse[root(slot), default: -1], lastUse[slot])
        }

        // Buffers: best fit from the free list at each kernel output; freed after the group's last use.
        var bufferSizes: [Int] = []
        var freeBuffers: [Int] = []
        var releaseAtStep: [Int: [Int]] = [:]
        var builtSteps: [ExecutionStep] = []
        // A graph output is handed to the caller, so neither it nor anything sharing its storage may live in a
        // buffer the next run overwrites.
        let returnedGroups = Set(outputs.map { root(slots[$0]!) })
        for (index, typedNode) in nodes.enumerated() {
            let node = typedNode.node
            let outputTypes = outputTypesPerStep[index]
            var outputBuffers: [Int?] = []
            for (position, name) in node.outputs.enumerated() {
                guard typedNode.op is KernelOperator, !name.isEmpty, !returnedGroups.contains(root(slots[name]!)),
                      position < outputTypes.count, let shape = outputTypes[position].fixedShape,
                      let count = checkedElementCount(shape) else {
                    outputBuffers.append(nil)
                    continue
                }
                let bytes = max(count * outputTypes[position].elementType.byteSize, 1)
                let buffer: Int
                if let best = freeBuffers.filter({ bufferSizes[$0] >= bytes }).min(by: { bufferSizes[$0] < bufferSizes[$1] }) {
                    buffer = best
                } else if let largest = freeBuffers.max(by: { bufferSizes[$0] < bufferSizes[$1] }) {
                    buffer = largest
                    bufferSizes[largest] = bytes
                } else {
                    buffer = bufferSizes.count
                    bufferSizes.append(bytes)
                }
                freeBuffers.removeAll { $0 == buffer }
                outputBuffers.append(buffer)
                let end = groupLastUse[root(slots[name]!)] ?? index
                if end != forever { releaseAtStep[max(end, index), default: []].append(buffer) }
            }
            let releasedSlots = node.inputs.filter { !$0.isEmpty }.map { slots[$0]! }
                .filter { lastUse[$0] == index }
            builtSteps.append(ExecutionStep(
                node: typedNode,
                inputSlots: node.inputs.map { $0.isEmpty ? nil : slots[$0] },
                outputSlots: node.outputs.map { $0.isEmpty ? nil : slots[$0] },
                outputTypes: outputTypes,
                outputBuffers: outputBuffers,
                slotsToRelease: Array(Set(releasedSlots)),
                flops: Double(2 * ((typedNode.op as? CostReporting)?.multiplyAccumulates(
                    outputShapes: outputTypes.compactMap(\.fixedShape))
                    ?? estimatedMultiplyAccumulates(
                        opType: node.opType, inputs: node.inputs.map { $0.isEmpty ? nil : types[$0] },
                        outputs: outputTypes, attributes: node.attributes) ?? 0))))
            freeBuffers.append(contentsOf: releaseAtStep[index] ?? [])
        }

        steps = builtSteps
        slotOfInput = inputs.keys.sorted().map { ($0, slots[$0]!) }
        slotOfOutput = outputs.map { ($0, slots[$0]!) }
        initialValues = initial
        self.bufferSizes = bufferSizes
    }

    /// Allocates (and touches) one run's buffers ahead of the first run.
    func prepareContext() {
        let context = ExecutionContext(bufferSizes: bufferSizes, slotCount: initialValues.count)
        context.values = initialValues
        idleContexts.withLock { $0.append(context) }
    }

    /// Bytes of intermediate buffers one run uses.
    var arenaBytes: Int { bufferSizes.reduce(0, +) }

    func run(_ feeds: [String: Tensor], pool: ThreadPool, timings: UnsafeMutablePointer<[NodeTiming]>?) throws
        -> [String: Tensor]
    {
        let context = idleContexts.withLock { $0.popLast() }
            ?? ExecutionContext(bufferSizes: bufferSizes, slotCount: initialValues.count)
        defer {
            context.values = initialValues
            idleContexts.withLock { $0.append(context) }
        }
        context.values = initialValues
        for (name, slot) in slotOfInput {
            context.values[slot] = feeds[name]
        }
        for step in steps {
            let start = timings == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            try execute(step, in: context, pool: pool)
            if let timings {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                timings.pointee.append(NodeTiming(name: step.node.node.name, opType: step.node.node.opType,
                                                  seconds: seconds, flops: step.flops))
            }
        }
        var results: [String: Tensor] = [:]
        for (name, slot) in slotOfOutput {
            guard let value = context.values[slot] else {
                throw ONNXRunError(.invalidModel, "graph output '\(name)' was not computed", file: source)
            }
            results[name] = value
        }
        return results
    }

    private func execute(_ step: ExecutionStep, in context: ExecutionContext, pool: ThreadPool) throws {
        let inputs: [Tensor?] = step.inputSlots.map { $0.flatMap { context.values[$0] } }
        do {
            if let kernel = step.node.op as? KernelOperator {
                var outputs: [Tensor] = []
                outputs.reserveCapacity(step.outputTypes.count)
                for (position, type) in step.outputTypes.enumerated() {
                    guard let shape = type.fixedShape else {
                        throw ONNXRunError(.invalidModel, "output \(position) has no concrete shape (\(type))")
                    }
                    let buffer = position < step.outputBuffers.count ? step.outputBuffers[position] : nil
                    let storage = buffer.map { context.buffers[$0] }
                        ?? TensorStorage(byteCount: (checkedElementCount(shape) ?? 0) * type.elementType.byteSize)
                    outputs.append(Tensor(elementType: type.elementType, shape: shape, storage: storage))
                }
                try kernel.execute(inputs, into: outputs, pool: pool)
                for (slot, tensor) in zip(step.outputSlots, outputs) {
                    if let slot { context.values[slot] = tensor }
                }
            } else {
                let outputs = try step.node.op.run(inputs)
                for (position, slot) in step.outputSlots.enumerated() {
                    guard let slot else { continue }
                    guard position < outputs.count else {
                        throw ONNXRunError(.invalidModel, "produced \(outputs.count) outputs, output \(position) is used")
                    }
                    let expected = step.outputTypes[position]
                    if let shape = expected.fixedShape, shape != outputs[position].shape {
                        throw ONNXRunError(.invalidModel, "output \(position) has shape "
                            + "\(describeShape(outputs[position].shape)), inference said \(describeShape(shape))")
                    }
                    context.values[slot] = outputs[position]
                }
            }
        } catch {
            throw step.node.contextualize(error, source: source,
                                          shapes: inputs.map { $0.map { describeShape($0.shape) } ?? "absent" })
        }
        for slot in step.slotsToRelease { context.values[slot] = nil }
    }
}
