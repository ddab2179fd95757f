// Load stage 4: a plan for concrete input shapes — steps, value slots, and buffers reused across value lifetimes.

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
    /// Per input, where it lies in a wider buffer when the planner placed it in a Concat's output (nil: dense);
    /// only a `ChannelWindowOperator` gets any.
    let inputWindows: [ChannelWindow?]
    /// Where output 0 goes in its buffer when it is placed in a Concat's output (nil: dense).
    let outputWindow: ChannelWindow?
    /// A Concat whose inputs are all in its output buffer already: the step only names that buffer its output.
    let isInPlace: Bool
    /// Slots no later step reads; dropped after this step.
    let slotsToRelease: [Int]
    let flops: Double
    /// The operations are integer ones (`CostReporting.isIntegerArithmetic`).
    let isIntegerArithmetic: Bool
}

/// What a run needs: the steps in order, where each graph input and output lives, the constants' slots, and the
/// sizes of the reusable buffers. Immutable once planned; `run` (Execution/) is safe from several threads.
final class ExecutionPlan: Sendable {
    let source: String
    let steps: [ExecutionStep]
    let slotOfInput: [(name: String, slot: Int)]
    let slotOfOutput: [(name: String, slot: Int)]
    /// Per slot: the constant it holds, or nil for values computed during a run.
    let initialValues: [Tensor?]
    let bufferSizes: [Int]
    let idleContexts = Mutex<[ExecutionContext]>([])

    /// Plans `nodes` for inputs of the given concrete types (see `Planner`).
    convenience init(source: String, nodes: [TypedNode], constants: [String: Tensor], inputs: [String: TensorType],
                     outputs: [String]) throws {
        let planner = try Planner(source: source, nodes: nodes, constants: constants, inputs: inputs, outputs: outputs)
        self.init(source: source, steps: planner.steps(), slotOfInput: planner.slotOfInput,
                  slotOfOutput: planner.slotOfOutput, initialValues: planner.initialValues,
                  bufferSizes: planner.bufferSizes)
    }

    private init(source: String, steps: [ExecutionStep], slotOfInput: [(name: String, slot: Int)],
                 slotOfOutput: [(name: String, slot: Int)], initialValues: [Tensor?], bufferSizes: [Int]) {
        self.source = source
        self.steps = steps
        self.slotOfInput = slotOfInput
        self.slotOfOutput = slotOfOutput
        self.initialValues = initialValues
        self.bufferSizes = bufferSizes
    }
}
