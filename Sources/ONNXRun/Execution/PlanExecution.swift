// Stage 5: running a plan — one context of buffers and values per run in progress, steps in order.

import Foundation

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
    /// The step's node name (a fused step carries the names of the nodes it was built from, joined by "+").
    public var name: String
    public var opType: String
    public var seconds: Double
    /// Arithmetic operations of the step (2 x MACs for convolutions and matrix products; 0 when unknown).
    public var flops: Double
    /// Whether those operations are integer (int8 kernels: GOP/s) rather than floating-point ones.
    public var isIntegerArithmetic = false
}

extension ExecutionPlan {
    /// Allocates (and touches) one run's buffers ahead of the first run.
    func prepareContext() {
        let context = ExecutionContext(bufferSizes: bufferSizes, slotCount: initialValues.count)
        context.values = initialValues
        idleContexts.withLock { $0.append(context) }
    }

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
                                                  seconds: seconds, flops: step.flops,
                                                  isIntegerArithmetic: step.isIntegerArithmetic))
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
            if step.isInPlace {
                guard let slot = step.outputSlots.first ?? nil, let buffer = step.outputBuffers.first ?? nil,
                      let shape = step.outputTypes.first?.fixedShape else {
                    throw ONNXRunError(.invalidModel, "a concatenation planned in place has no output buffer")
                }
                context.values[slot] = Tensor(elementType: step.outputTypes[0].elementType, shape: shape,
                                              storage: context.buffers[buffer])
            } else if let kernel = step.node.op as? KernelOperator {
                // Shapes that depend on values computed in this run (a Range of a fed size) are known only now:
                // infer them from the actual inputs; such outputs get fresh storage.
                var outputTypes = step.outputTypes
                if outputTypes.contains(where: { $0.fixedShape == nil }) {
                    outputTypes = try kernel.inferOutputs(inputs.map { tensor in
                        tensor.map { InferenceValue(type: TensorType(elementType: $0.elementType, fixedShape: $0.shape)) }
                    })
                }
                var outputs: [Tensor] = []
                outputs.reserveCapacity(outputTypes.count)
                for (position, type) in outputTypes.enumerated() {
                    guard let shape = type.fixedShape else {
                        throw ONNXRunError(.invalidModel, "output \(position) has no concrete shape (\(type))")
                    }
                    let planned = step.outputTypes[position].fixedShape == shape
                    let buffer = planned && position < step.outputBuffers.count ? step.outputBuffers[position] : nil
                    let storage = buffer.map { context.buffers[$0] }
                        ?? TensorStorage(byteCount: (checkedElementCount(shape) ?? 0) * type.elementType.byteSize)
                    outputs.append(Tensor(elementType: type.elementType, shape: shape, storage: storage))
                }
                if step.outputWindow != nil || step.inputWindows.contains(where: { $0 != nil }) {
                    guard let windowed = kernel as? ChannelWindowOperator else {
                        throw ONNXRunError(.invalidModel, "a value placed in a concatenation reaches a kernel "
                                               + "that cannot take it in place")
                    }
                    try windowed.execute(inputs, inputWindows: step.inputWindows, into: outputs,
                                         outputWindow: step.outputWindow, pool: pool)
                } else {
                    try kernel.execute(inputs, into: outputs, pool: pool)
                }
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
