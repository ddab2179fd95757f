// The block-copy Concat/Split/Slice kernels against the reference operators, on every axis and awkward shapes.

import XCTest

@testable import ONNXRun

final class AxisCopyTests: XCTestCase {
    private func tensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var values = SeededValues(seed: seed)
        return try Tensor(shape: shape, floats: values.array(shape.reduce(1, *)))
    }

    private func execute(_ op: any KernelOperator, _ inputs: [Tensor], threads: Int) throws -> [Tensor] {
        let types = try op.inferOutputs(inputs.map { InferenceValue(type: TensorType(elementType: $0.elementType,
                                                                                       fixedShape: $0.shape)) })
        let outputs = try types.map { Tensor(zeros: $0.elementType, shape: try XCTUnwrap($0.fixedShape)) }
        try op.execute(inputs, into: outputs, pool: ThreadPool(threadCount: threads))
        return outputs
    }

    private func context(_ opType: String, inputs: [String], outputs: Int = 1,
                         _ attributes: [String: AttributeValue]) -> OperatorContext {
        OperatorContext(node: Node(name: "n", opType: opType, inputs: inputs,
                                   outputs: (0..<outputs).map { "y\($0)" }, attributes: attributes), opset: 11)
    }

    func testConcatSplitAndSliceMatchTheReferenceOnEveryAxis() throws {
        let shape = [2, 5, 3, 7]
        for axis in 0..<4 {
            var other = shape
            other[axis] = 1
            var third = shape
            third[axis] = 4
            let inputs = [try tensor(shape, seed: 1), try tensor(other, seed: 2), try tensor(third, seed: 3)]
            let concatenated = try ConcatOperator(context("Concat", inputs: ["a", "b", "c"], ["axis": .int(axis)]))
                .run(inputs)
            let length = concatenated[0].shape[axis]
            let sizes = [1, length - 3, 2]
            let pieces = try SplitOperator(context("Split", inputs: ["x"], outputs: 3,
                                                   ["axis": .int(axis), "split": .ints(sizes)])).run(concatenated)
            let sliced = try SliceOperator(context("Slice", inputs: ["x", "s", "e", "a"], [:])).run([
                concatenated[0], try Tensor(shape: [1], scalars: [Int64(2)]), try Tensor(shape: [1], scalars: [Int64(5)]),
                try Tensor(shape: [1], scalars: [Int64(axis)]),
            ])
            for threads in [1, 3] {
                let message = "axis \(axis), \(threads) threads"
                let concat = try execute(AxisConcat(axis: axis), inputs, threads: threads)
                XCTAssertEqual(concat.map(\.shape), concatenated.map(\.shape), message)
                XCTAssertEqual(concat.map(\.floats), concatenated.map(\.floats), message)
                let split = try execute(AxisSplit(axis: axis, sizes: sizes), concatenated, threads: threads)
                XCTAssertEqual(split.map(\.shape), pieces.map(\.shape), message)
                XCTAssertEqual(split.map(\.floats), pieces.map(\.floats), message)
                let slice = try execute(AxisSlice(axis: axis, start: 2, count: 3), concatenated, threads: threads)
                XCTAssertEqual(slice.map(\.shape), sliced.map(\.shape), message)
                XCTAssertEqual(slice.map(\.floats), sliced.map(\.floats), message)
            }
        }
    }
}
