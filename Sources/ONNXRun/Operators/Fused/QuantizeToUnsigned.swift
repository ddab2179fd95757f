// QuantizeLinear of float32 to uint8 with a constant per-tensor scale and zero point, vectorized in C (MLAS's
// arithmetic: divide, clamp, round half to even, add the zero point).

import CKernels

struct QuantizeToUnsigned: KernelOperator {
    let scale: Float
    let zeroPoint: Int32

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        let x = try requiredInput(inputs, 0, "x").type
        try requireFloat(x, "x")
        return [TensorType(elementType: .uint8, shape: x.shape)]
    }

    func execute(_ inputs: [Tensor?], into outputs: [Tensor], pool: ThreadPool) throws {
        let x = try requiredInput(inputs, 0, "x")
        try requireFloat(x, "x")
        let source = UnsafePointer(x.storage.bytes.assumingMemoryBound(to: Float.self))
        let destination = outputs[0].storage.bytes.assumingMemoryBound(to: UInt8.self)
        let count = x.elementCount
        // A few cycles per element: split only large tensors.
        let tasks = Parallelism.taskCount(work: count, granularity: .depthwise, threads: pool.threadCount,
                                          units: max(count / 4096, 1))
        let (scale, zeroPoint) = (scale, zeroPoint)
        pool.parallelFor(tasks) { task in
            let part = Parallelism.split(count, task, tasks)
            ork_quantize_linear_u8(source, scale, zeroPoint, destination, part.lowerBound, part.upperBound)
        }
    }
}

extension QuantizeLinearOperator: ConstantInputPacking {
    /// QuantizeLinear to uint8 per tensor with constant parameters -> `QuantizeToUnsigned`.
    func packingConstantInputs(_ inputs: [InferenceValue?]) throws -> PackedOperator? {
        guard isQuantize, blockSize == 0, inputs.count >= 3, inputs[0]?.type.elementType == .float,
              inputs[2]?.type.elementType == .uint8, let scale = perTensorFloat(inputs, 1), scale > 0, scale.isFinite,
              let zeroPoint = perTensorZeroPoint(inputs, 2) else { return nil }
        return PackedOperator(op: QuantizeToUnsigned(scale: scale, zeroPoint: zeroPoint), opType: "QuantizeToUint8",
                              remainingInputs: [0])
    }
}
