// RoundToHalfPrecision (internal, written by the half-precision widening stage): a Cast to float16 or bfloat16 whose
// result stays in float32.

/// What a Cast to float16 or bfloat16 computes, kept in float32: every value rounded to the half-precision type
/// (round to nearest even), so the model's precision loss is the same as with real half-precision storage.
struct HalfPrecisionRoundingOperator: Operator {
    let precision: ElementType

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        guard let code = try context.int("to"), let type = ElementType(rawValue: Int32(truncatingIfNeeded: code)),
              type.isHalfPrecision else {
            throw context.invalid("attribute 'to' must be float16 or bfloat16")
        }
        precision = type
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let input = try requiredInput(inputs, 0, "input").type
        guard input.elementType != .string else { throw unsupportedType(.string) }
        return [TensorType(elementType: .float, shape: input.shape)]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        [try castTensor(castTensor(try requiredInput(inputs, 0, "input"), to: precision), to: .float)]
    }
}

extension HalfPrecisionRoundingOperator: KernelOperator {
    /// float32 to float16's values in one vectorized pass (the graph-input Cast of every `keep_io_types` model:
    /// through `castTensor` it cost as much as a quarter of MobileNetV2); other types and bfloat16 as `run`.
    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let input = try requiredInput(inputs, 0, "input")
        let output = outputs[0]
        guard precision == .float16, input.elementType == .float, output.elementType == .float,
              output.elementCount == input.elementCount else {
            let result = try run(inputs)[0]
            output.storage.bytes.copyMemory(from: result.storage.bytes, byteCount: result.elementCount * 4)
            return
        }
        let source = UnsafePointer(input.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = output.storage.bytes.assumingMemoryBound(to: Float.self)
        let count = input.elementCount
        let tasks = Parallelism.taskCount(work: count, granularity: .elementwise, threads: pool.threadCount,
                                          units: max(count / 4096, 1))
        pool.parallelFor(tasks) { task in
            let part = Parallelism.split(count, task, tasks)
            ReducedPrecisionKernels.roundToFloat16(source + part.lowerBound, destination + part.lowerBound,
                                                   count: part.count)
        }
    }
}
