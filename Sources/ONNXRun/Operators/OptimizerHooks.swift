// What an operator tells the optimizer and the planner about itself. Passes ask for these capabilities; none
// looks an operator up by its op-type string or concrete type.
//
// An operator adopts only the hooks that apply to it. Adding a fast or fused operator means: its file, the hooks
// it answers, and (for a new rewrite) one entry in `GraphOptimizer.rewrites`.

// MARK: - Cost

/// Knows its multiply-accumulate count: `inspect` shows it and the profiler turns it into GFLOP/s (or GOP/s).
protocol CostReporting {
    /// MACs of one run for these input and output types; nil when the shapes needed are not known.
    func multiplyAccumulates(inputs: [TensorType?], outputs: [TensorType]) -> Int?
    /// Whether the MACs are integer ones (the int8 kernels): the profiler reports GOP/s for them.
    var isIntegerArithmetic: Bool { get }
}

extension CostReporting {
    var isIntegerArithmetic: Bool { false }
}

// MARK: - Activations

/// The one clamp of the project: `min(max(x, minimum), maximum)`. Relu is `0...inf`, Relu6 / Clip(0, 6) is `0...6`.
/// The reference Clip keeps exact integer bounds of its own; every optimized kernel takes this.
struct ClampBounds: Sendable, Hashable {
    var minimum: Float
    var maximum: Float

    init(minimum: Float = -.infinity, maximum: Float = .infinity) {
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Clamps nothing.
    static let none = ClampBounds()
    var isNone: Bool { minimum == -.infinity && maximum == .infinity }
}

/// An elementwise function a producing kernel can apply in its store, instead of a separate pass over memory
/// (the C kernels' `ork_activation`); also what the standalone vectorized unary kernel computes.
enum Activation: Sendable, Hashable {
    case clamp(ClampBounds)
    case sigmoid
    /// `max(0, min(1, alpha * x + beta))`
    case hardSigmoid(alpha: Float, beta: Float)
    /// `x * max(0, min(1, x / 6 + 1 / 2))`
    case hardSwish
    /// `x * sigmoid(alpha * x)`; SiLU is alpha 1.
    case swish(alpha: Float)
    case leakyRelu(alpha: Float)
    /// `x / 2 * (1 + erf(x / sqrt(2)))`
    case gelu
    /// GELU's tanh approximation.
    case geluTanh
    case tanh, exp, erf, negate, absolute, squareRoot, reciprocal, square

    /// Changes nothing.
    static let none = Activation.clamp(.none)
    var isNone: Bool { self == .none }
}

/// An operator that is an activation of its first input (Relu, Clip, ...), fusable into that input's producer.
protocol ActivationOperator: Operator {
    /// The activation when its parameters are known at load (attributes or constant inputs); nil otherwise.
    func activation(_ inputs: [InferenceValue?]) -> Activation?
}

/// Broadcasting binary arithmetic (Add, Sub, Mul, Div, ...): residual adds and per-channel affines are found by it.
protocol BinaryArithmeticOperator: Operator {
    var operation: ArithmeticOperation { get }
}

// MARK: - Recognizing decomposed operators

/// A reduction over axes known at load (ReduceMean...): LayerNormalization's decomposition is found by it.
protocol ReductionOperator: Operator {
    var reduction: Reduction { get }
    var keepDimensions: Bool { get }
    /// The reduced axes (normalized, ascending) for an input of `rank`, when known at load; nil otherwise.
    func reducedAxes(_ inputs: [InferenceValue?], rank: Int) -> [Int]?
}

/// Elementwise math a pattern rewrite recognizes inside a decomposed operator.
enum ElementwiseFunction: Sendable, Hashable {
    case squareRoot
    case errorFunction
}

/// A unary elementwise operator, telling which function it computes when a rewrite may need to know.
protocol ElementwiseFunctionOperator: Operator {
    var elementwiseFunction: ElementwiseFunction? { get }
}

/// Keeps its input's elements in order and changes only the shape (Reshape, Flatten, Squeeze, Unsqueeze): the
/// output type says which shape.
protocol ElementOrderPreservingOperator: Operator {}

/// Permutes the axes of its input (Transpose).
protocol AxisPermutingOperator: Operator {
    /// The permutation for an input of `rank`, when valid for it.
    func axisPermutation(rank: Int) -> [Int]?
}

/// A matrix product that can read an operand whose last two axes a Transpose swapped from the Transpose's input
/// instead (packing it the other way round): attention's `Q @ K.transpose(-2, -1)`.
protocol MatrixTransposeAbsorbing: Operator {
    /// The operator reading input `position` untransposed; nil when it cannot.
    func absorbingMatrixTranspose(ofInput position: Int) -> (any Operator)?
}

// MARK: - Folding into a convolution

/// An inference-time per-channel affine `y[c] = x[c] * scale[c] + shift[c]` over axis 1 of its first input
/// (BatchNormalization with constant statistics, Mul/Add by a per-channel constant), which folds into the weights
/// and bias of a convolution producing that input.
protocol ChannelAffineOperator: Operator {
    /// `(scale, shift)` per channel of an input with `channels` channels and rank `rank`, when the operands are
    /// constants that broadcast per channel without growing the result; `scale` nil means 1. nil otherwise.
    func channelAffine(_ inputs: [InferenceValue?], producedInput: Int, channels: Int, rank: Int)
        -> (scale: [Float]?, shift: [Float])?
}

/// A convolution whose output channels can absorb a following per-channel affine by rewriting its constant
/// weights and bias (`conv(x, W) * s + t = conv(x, W * s) + (b * s + t)`).
protocol ChannelAffineAbsorbing: Operator {
    /// The new weights and bias, or nil when the weights (and bias, if any) are not float constants that fit.
    func absorbing(scale: [Float]?, shift: [Float], inputs: [InferenceValue?]) throws -> (weights: Tensor, bias: Tensor)?
}

/// Padding with zeros in constant mode by constant amounts: a convolution reading it can pad instead.
protocol ZeroPaddingOperator: Operator {
    /// The pads in ONNX order (`[begin_0..., end_0...]` over all axes) when this node pads with zeros in
    /// constant mode by constant, non-negative amounts; nil otherwise.
    func constantZeroPads(_ inputs: [InferenceValue?]) -> [Int]?
}

/// A windowed operator that can take extra zero padding of its spatial axes into its own `pads` attribute.
protocol PadAbsorbing: Operator {
    /// The node with `pads` (ONNX order over all axes of the input) added to its spatial pads; nil when the batch
    /// or channel axes are padded or the operator's padding cannot be combined (auto_pad other than NOTSET).
    func absorbingPads(_ pads: [Int], into node: Node) -> Node?
}

// MARK: - Packing constant inputs

/// The fast operator that replaces a node once some of its inputs are known constants (weights packed into a
/// kernel's layout, once, at load).
struct PackedOperator {
    var op: any Operator
    /// The op type the node gets (in the `ai.onnxrun` domain), shown by the profiler.
    var opType: String
    /// Positions of the node's inputs the packed operator still reads, in order.
    var remainingInputs: [Int]
}

protocol ConstantInputPacking: Operator {
    /// nil when the inputs are not constants of a form the fast kernel handles (the node then runs as it is).
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator?
}

// MARK: - Dynamic quantization

/// DynamicQuantizeLinear: quantizes its input with a scale and zero point computed from the input's range at run time
/// (outputs: the uint8 values, the scale, the zero point).
protocol DynamicQuantizingOperator: Operator {}

/// Converts its input to one element type known at load (Cast): the conversion of an integer product back to float.
protocol ElementTypeConverting: Operator {
    var targetElementType: ElementType? { get }
}

/// An integer product of a uint8 input and constant 8-bit weights (ConvInteger, MatMulInteger) that has a float
/// operator for onnxruntime's dynamic quantization chain around it: `y = Float(self(q, w)) * (x_scale * w_scale) +
/// bias` where `(q, x_scale, zero point) = DynamicQuantizeLinear(x)`.
protocol DynamicallyQuantizable: Operator {
    /// The operator computing y from float x alone (its one input), given this node's inputs (q, w, zero points),
    /// the weight scale (constant; per tensor or per output channel, shaped to broadcast against this node's
    /// output) and the bias (likewise), or nil when they do not fit its kernels.
    func dynamicallyQuantized(_ inputs: [InferenceValue?], weightScale: Tensor, bias: Tensor?) throws -> FusedOperator?
}

// MARK: - Reduced precision

/// Has a variant that multiplies in bfloat16 (weights rounded once, activations as the kernel reads them, float32
/// sums): what `Precision.bf16` runs.
protocol BFloat16Convertible: Operator {
    /// The bfloat16 variant, or nil when this instance has no bfloat16 kernel (it then stays float32).
    func bfloat16Variant() -> (any Operator)?
}

// MARK: - Fusing with a consumer

/// The node that reads a producer's output, offered to the producer for fusion. The optimizer offers it only when
/// that output has this single use and is no graph output.
struct FusionCandidate {
    let node: Node
    let op: any Operator
    let inputs: [InferenceValue?]
    /// The consumer's input position that the producer's output feeds.
    let producedInput: Int
    /// The producer's own inputs (a consumer may read one of them as well: `x * sigmoid(x)`).
    let producerInputs: [String]
    /// What is known of the producer's own inputs (their types, constants), in the same order.
    let producerInputValues: [InferenceValue?]
    /// Whether a value is computed before the producer runs (a graph input, a constant, or an earlier node's
    /// output): only then can the fused operator read it.
    let isAvailableBeforeProducer: (String) -> Bool

    /// The consumer's other input of a binary consumer, with its name.
    var otherInput: (name: String, value: InferenceValue)? {
        guard node.inputs.count == 2, inputs.count == 2 else { return nil }
        let position = 1 - producedInput
        guard !node.inputs[position].isEmpty, let value = inputs[position] else { return nil }
        return (node.inputs[position], value)
    }
}

/// The result of a fusion: the fused operator, computing the consumer's output.
struct FusedOperator {
    var op: any Operator
    var opType: String
    /// Values the fused operator reads after the producer's own inputs (e.g. a residual operand).
    var extraInputs: [String] = []
}

protocol ConsumerFusing: Operator {
    /// The operator computing `consumer(self(...))` in one step, or nil when this consumer doesn't fuse.
    func fusing(_ consumer: FusionCandidate) throws -> FusedOperator?
}

// MARK: - Layout

/// Reads and writes channels-last (NHWC) 4-D tensors natively: its listed inputs must be NHWC, its outputs are.
protocol ChannelsLastOperator: Operator {
    /// Input positions that must be NHWC (the others are taken as they are).
    var channelsLastInputs: [Int] { get }
}

/// How an operator runs when some of its inputs are already NHWC.
struct ChannelsLastVariant {
    var op: any Operator
    var opType: String
    /// Input positions the variant reads as NHWC (converted to NHWC if they are not).
    var channelsLastInputs: [Int]
    /// Whether its outputs are NHWC (false: ordinary ONNX-layout tensors).
    var outputIsChannelsLast: Bool
}

/// Has a variant for NHWC inputs, so a channels-last chain need not convert back to NCHW for it.
protocol ChannelsLastAdaptable: Operator {
    /// The variant for when the inputs whose flag is set are NHWC; nil when it has none for them.
    func channelsLastVariant(_ inputs: [InferenceValue?], channelsLast: [Bool]) -> ChannelsLastVariant?
}

// MARK: - Folding

/// Reads only its input's shape (Shape, Size): its result is a constant whenever that shape is fixed, which folds
/// the Shape -> Gather -> Concat -> Reshape chains exporters write around Flatten.
protocol ShapeReadingOperator: Operator {}

// MARK: - Placement (the planner)

/// Where a value lives when the planner placed it inside a wider buffer (a Concat's output): the value's last axis
/// (NHWC's channels) is columns `offset ..< offset + count` of rows `rowStride` elements long; the rows are the
/// value's other axes, in order. Its tensor's storage is the wider buffer's, its shape its own.
struct ChannelWindow: Sendable, Hashable {
    var offset: Int
    var rowStride: Int
}

/// A kernel that can read some inputs, or write its one output, as channel windows (`ChannelWindow`): the planner
/// places the inputs of a Concat along the last axis straight into slices of its output, so that the Concat copies
/// nothing (DenseNet's, GoogLeNet's, SqueezeNet's channel concats), as far as every producer and reader of the
/// placed values answers here.
protocol ChannelWindowOperator: KernelOperator {
    /// Whether input `position` (of rank `rank`) may be given as a window.
    func readsChannelWindow(input position: Int, rank: Int) -> Bool
    /// Whether the output (of rank `rank`) may be written into a window.
    func writesChannelWindow(rank: Int) -> Bool
    /// `execute` with windows: `inputWindows[i]` non-nil only where `readsChannelWindow(input: i, ...)`,
    /// `outputWindow` only when `writesChannelWindow` (both may be empty / nil: dense).
    func execute(_ inputs: [Tensor?], inputWindows: [ChannelWindow?], into outputs: [Tensor],
                 outputWindow: ChannelWindow?, pool: ThreadPool) throws
}

extension ChannelWindowOperator {
    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        try execute(inputs, inputWindows: [], into: outputs, outputWindow: nil, pool: pool)
    }
}

/// Concatenates its inputs along one axis into its output: when that is the last axis, the planner may place the
/// inputs in the output's buffer. Reads its inputs as windows (inputs already in place are not copied).
protocol AxisConcatenating: ChannelWindowOperator {
    /// The (non-negative) axis it joins along.
    var concatenationAxis: Int { get }
}
