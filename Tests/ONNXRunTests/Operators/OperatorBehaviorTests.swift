// Operator tests that are not a numeric comparison: error paths, shape inference with symbolic dimensions,
// ConvolutionGeometry, ClampBounds, and the registry's claims.

import XCTest
@testable import ONNXRun

final class OperatorBehaviorTests: XCTestCase {
    private func floats(_ shape: [Int]) -> Tensor {
        Tensor(zeros: .float, shape: shape)
    }

    private func int64s(_ values: [Int64]) -> Tensor {
        Tensor(shape: [values.count], computed: values)
    }

    // MARK: Error paths

    func testConvRejectsKernelShapeThatDisagreesWithWeights() {
        assertThrows(.invalidModel, containing: "kernel_shape [5, 5] does not match W [2,3,3,3]") {
            _ = try runOperator("Conv", opset: 13, attributes: ["kernel_shape": .ints([5, 5])],
                                inputs: [floats([1, 3, 8, 8]), floats([2, 3, 3, 3])])
        }
    }

    func testConvRejectsGroupThatDoesNotDivideChannels() {
        assertThrows(.invalidModel, containing: "group 2 does not divide the 3 output channels") {
            _ = try runOperator("Conv", opset: 13, attributes: ["group": .int(2)],
                                inputs: [floats([1, 4, 8, 8]), floats([3, 2, 3, 3])])
        }
        assertThrows(.invalidModel, containing: "X has 3 channels but W [4,1,3,3] with group 2 expects 2") {
            _ = try runOperator("Conv", opset: 13, attributes: ["group": .int(2)],
                                inputs: [floats([1, 3, 8, 8]), floats([4, 1, 3, 3])])
        }
    }

    func testConvRejectsBadAttributesInTheBuilder() {
        assertThrows(.invalidModel, containing: "auto_pad 'SAME' is not") {
            _ = try buildOperator("Conv", opset: 13, attributes: ["auto_pad": .string("SAME")], inputs: [nil, nil])
        }
        assertThrows(.invalidModel, containing: "strides [0, 1] must be positive") {
            _ = try buildOperator("Conv", opset: 13, attributes: ["strides": .ints([0, 1])], inputs: [nil, nil])
        }
        assertThrows(.invalidModel, containing: "attribute 'group' should be int") {
            _ = try buildOperator("Conv", opset: 13, attributes: ["group": .string("2")], inputs: [nil, nil])
        }
    }

    func testConvRunReportsShapes() {
        let operation = try? buildOperator("Conv", opset: 13, inputs: [nil, nil])
        XCTAssertNotNil(operation)
        do {
            _ = try operation?.run([floats([1, 3, 2, 2]), floats([2, 3, 3, 3])])
            XCTFail("a 3x3 kernel does not fit a 2x2 input")
        } catch let error as ONNXRunError {
            XCTAssertEqual(error.kind, .invalidModel)
            XCTAssertEqual(error.shapes ?? [], ["float[1,3,2,2]", "float[2,3,3,3]", "absent"])
        } catch {
            XCTFail("\(error)")
        }
    }

    func testBroadcastMismatch() {
        assertThrows(.invalidModel, containing: "shapes do not broadcast (shapes: float[2,3], float[4])") {
            _ = try buildOperator("Add", opset: 14, inputs: [nil, nil]).run([floats([2, 3]), floats([4])])
        }
        assertThrows(.invalidModel, containing: "do not broadcast") {
            _ = try runOperator("Mul", opset: 14, inputs: [floats([2, 3]), floats([2])])
        }
    }

    func testGatherIndexOutOfRange() {
        assertThrows(.invalidModel, containing: "index 3 is out of range [-3, 2] on axis 0") {
            _ = try runOperator("Gather", opset: 13, inputs: [floats([3, 2]), int64s([0, 3])])
        }
        assertThrows(.invalidModel, containing: "index -4 is out of range") {
            _ = try runOperator("Gather", opset: 13, inputs: [floats([3, 2]), int64s([-4])])
        }
        assertThrows(.invalidModel, containing: "axis 2 is out of range") {
            _ = try runOperator("Gather", opset: 13, attributes: ["axis": .int(2)], inputs: [floats([3, 2]), int64s([0])])
        }
    }

    func testReshapeErrors() {
        assertThrows(.invalidModel, containing: "cannot reshape [2,3] to [4, -1]") {
            _ = try runOperator("Reshape", opset: 14, inputs: [floats([2, 3]), int64s([4, -1])])
        }
        assertThrows(.invalidModel, containing: "more than one -1") {
            _ = try runOperator("Reshape", opset: 14, inputs: [floats([2, 3]), int64s([-1, -1])])
        }
        assertThrows(.invalidModel, containing: "cannot reshape [2,3] to [5]") {
            _ = try runOperator("Reshape", opset: 14, inputs: [floats([2, 3]), int64s([5])])
        }
    }

    func testSqueezeOfNonUnitAxisAndBadAxes() {
        assertThrows(.invalidModel, containing: "cannot squeeze axis 1 of size 3") {
            _ = try runOperator("Squeeze", opset: 13, inputs: [floats([1, 3]), int64s([1])])
        }
        assertThrows(.invalidModel, containing: "axis 5 is out of range for rank 3") {
            _ = try runOperator("Unsqueeze", opset: 13, inputs: [floats([1, 3]), int64s([5])])
        }
    }

    func testSliceZeroStepAndTransposeBadPermutation() {
        assertThrows(.invalidModel, containing: "step 0 on axis 0") {
            _ = try runOperator("Slice", opset: 13, inputs: [floats([4]), int64s([0]), int64s([4]), int64s([0]), int64s([0])])
        }
        assertThrows(.invalidModel, containing: "perm [0, 0] is not a permutation") {
            _ = try buildOperator("Transpose", opset: 13, attributes: ["perm": .ints([0, 0])], inputs: [nil])
        }
    }

    func testGemmInnerDimensionMismatch() {
        assertThrows(.invalidModel, containing: "inner dimensions 3 and 4 differ") {
            _ = try runOperator("Gemm", opset: 13, inputs: [floats([2, 3]), floats([4, 5])])
        }
        assertThrows(.invalidModel, containing: "C does not broadcast to [2,5]") {
            _ = try buildOperator("Gemm", opset: 13, inputs: [nil, nil, nil]).run([floats([2, 3]), floats([3, 5]), floats([3])])
        }
        assertThrows(.invalidModel, containing: "shapes [2,5] and [3] do not broadcast") {
            _ = try runOperator("Gemm", opset: 13, inputs: [floats([2, 3]), floats([3, 5]), floats([3])])
        }
    }

    func testUnsupportedForms() {
        assertThrows(.unsupported, containing: "training_mode = 1 is not supported") {
            _ = try buildOperator("BatchNormalization", opset: 15, attributes: ["training_mode": .int(1)],
                                  inputs: [nil, nil, nil, nil, nil], outputCount: 3)
        }
        assertThrows(.unsupported, containing: "Constant with value_string is not supported") {
            _ = try buildOperator("Constant", opset: 13, attributes: ["value_string": .string("a")], inputs: [])
        }
        assertThrows(.unsupported, containing: "X of type float16 is not supported") {
            _ = try runOperator("Conv", opset: 13, inputs: [Tensor(zeros: .float16, shape: [1, 1, 3, 3]),
                                                            Tensor(zeros: .float16, shape: [1, 1, 1, 1])])
        }
        assertThrows(.invalidModel, containing: "needs exactly one value attribute, has none") {
            _ = try buildOperator("Constant", opset: 13, inputs: [])
        }
        assertThrows(.invalidModel, containing: "expects 2 to 3 inputs, has 1") {
            _ = try buildOperator("Conv", opset: 13, inputs: [nil])
        }
    }

    func testHugeValuesFromAFileAreErrorsNotTraps() {
        assertThrows(.invalidModel, containing: "pads [9223372036854775807, 0] are too large") {
            _ = try runOperator("Pad", opset: 13, inputs: [floats([2]), int64s([Int64.max, 0])])
        }
        assertThrows(.invalidModel, containing: "is too large") {
            _ = try runOperator("Reshape", opset: 14, inputs: [floats([2]), int64s([-1, 1 << 40, 1 << 40])])
        }
        assertThrows(.invalidModel, containing: "is negative or too large") {
            _ = try runOperator("ConstantOfShape", opset: 20, inputs: [int64s([1 << 40, 1 << 40])])
        }
        assertThrows(.invalidModel, containing: "has a value above 2^31") {
            _ = try buildOperator("Conv", opset: 13, attributes: ["pads": .ints([Int.max, 0, 0, 0])], inputs: [nil, nil])
        }
        assertThrows(.invalidModel, containing: "is negative or too large") {
            _ = try runOperator("Expand", opset: 13, inputs: [floats([1]), int64s([1 << 31, 1 << 31])])
        }
    }

    func testIntegerDivisionByZeroDoesNotTrap() throws {
        let result = try runOperator("Div", opset: 14, inputs: [int64s([7, Int64.min]), int64s([0, -1])])
        // Division by zero has no defined result (onnxruntime crashes); onnxrun gives 0. INT64_MIN / -1 wraps.
        XCTAssertEqual(result[0].scalars(as: Int64.self), [0, Int64.min])
    }

    // MARK: Shape inference

    func testConvInferencePassesSymbolicBatch() throws {
        let operation = try buildOperator("Conv", opset: 13, attributes: ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])],
                                          inputs: [nil, nil])
        let types = try operation.inferOutputs([
            InferenceValue(type: TensorType(elementType: .float, shape: [.symbolic("batch"), .fixed(3), .fixed(224), .fixed(224)])),
            InferenceValue(constant: floats([32, 3, 3, 3])),
        ])
        XCTAssertEqual(types, [TensorType(elementType: .float, shape: [.symbolic("batch"), .fixed(32), .fixed(112), .fixed(112)])])
    }

    func testReshapeInferenceWithConstantShape() throws {
        let operation = try buildOperator("Reshape", opset: 14, inputs: [nil, nil])
        let types = try operation.inferOutputs([
            InferenceValue(type: TensorType(elementType: .float, shape: [.symbolic("N"), .fixed(1280), .fixed(1), .fixed(1)])),
            InferenceValue(constant: int64s([0, -1])),
        ])
        XCTAssertEqual(types, [TensorType(elementType: .float, shape: [.symbolic("N"), .fixed(1280)])])
        let moved = try operation.inferOutputs([
            InferenceValue(type: TensorType(elementType: .float, shape: [.symbolic("N"), .fixed(4), .symbolic("T")])),
            InferenceValue(constant: int64s([-1, 2, 2])),
        ])
        XCTAssertEqual(moved, [TensorType(elementType: .float, shape: [.unknown, .fixed(2), .fixed(2)])])
        let fixed = try operation.inferOutputs([
            InferenceValue(type: TensorType(elementType: .float, fixedShape: [2, 1280, 1, 1])),
            InferenceValue(constant: int64s([0, -1])),
        ])
        XCTAssertEqual(fixed, [TensorType(elementType: .float, fixedShape: [2, 1280])])
    }

    func testFlattenAndGlobalPoolInferenceKeepBatchSymbol() throws {
        let batch = TensorType(elementType: .float, shape: [.symbolic("N"), .fixed(8), .fixed(7), .fixed(7)])
        let pooled = try buildOperator("GlobalAveragePool", opset: 1, inputs: [nil]).inferOutputs([InferenceValue(type: batch)])
        XCTAssertEqual(pooled, [TensorType(elementType: .float, shape: [.symbolic("N"), .fixed(8), .fixed(1), .fixed(1)])])
        let flat = try buildOperator("Flatten", opset: 13, inputs: [nil]).inferOutputs([InferenceValue(type: pooled[0])])
        XCTAssertEqual(flat, [TensorType(elementType: .float, shape: [.symbolic("N"), .fixed(8)])])
        let gemm = try buildOperator("Gemm", opset: 13, attributes: ["transB": .int(1)], inputs: [nil, nil, nil])
            .inferOutputs([InferenceValue(type: flat[0]), InferenceValue(constant: floats([10, 8])),
                           InferenceValue(constant: floats([10]))])
        XCTAssertEqual(gemm, [TensorType(elementType: .float, shape: [.symbolic("N"), .fixed(10)])])
        let added = try buildOperator("Add", opset: 14, inputs: [nil, nil])
            .inferOutputs([InferenceValue(type: batch), InferenceValue(constant: floats([8, 1, 1]))])
        XCTAssertEqual(added, [batch])
    }

    // MARK: Geometry and clamp bounds

    func testConvolutionGeometry() throws {
        // TF "SAME" on an even input with stride 2: total pad 1 goes at the end (upper) or the beginning (lower).
        let upper = try ConvolutionGeometry(inputSize: [224, 224], kernelSize: [3, 3], strides: [2, 2], autoPad: .sameUpper)
        XCTAssertEqual(upper.outputSize, [112, 112])
        XCTAssertEqual(upper.padsBegin, [0, 0])
        XCTAssertEqual(upper.padsEnd, [1, 1])
        let lower = try ConvolutionGeometry(inputSize: [224], kernelSize: [3], strides: [2], autoPad: .sameLower)
        XCTAssertEqual(lower.padsBegin, [1])
        XCTAssertEqual(lower.padsEnd, [0])
        let explicit = try ConvolutionGeometry(inputSize: [7, 6], kernelSize: [3, 2], strides: [2, 1], dilations: [1, 2],
                                               pads: [0, 1, 2, 0])
        XCTAssertEqual(explicit.outputSize, [4, 5])
        XCTAssertEqual(explicit.effectiveKernelSize, [3, 3])
        // Output 0 starts at -1 on axis 1 (pad 1): tap 0 is outside, taps 1... inside.
        XCTAssertEqual(explicit.validKernelRange(axis: 1, output: 0), 1..<2)
        XCTAssertEqual(explicit.validKernelRange(axis: 0, output: 3), 0..<1)
        // Tap 0 of axis 1 reads input column o - 1: valid for outputs 1..<5; tap 1 reads o + 1: outputs 0..<5.
        XCTAssertEqual(explicit.validOutputRange(axis: 1, tap: 0), 1..<5)
        XCTAssertEqual(explicit.validOutputRange(axis: 1, tap: 1), 0..<5)
        // Axis 0 (stride 2, pad end 2): tap 2 reads 2o + 2 < 7 -> o < 2.5.
        XCTAssertEqual(explicit.validOutputRange(axis: 0, tap: 2), 0..<3)
        let pooled = try ConvolutionGeometry(inputSize: [5], kernelSize: [2], strides: [2], ceilMode: true)
        XCTAssertEqual(pooled.outputSize, [3])
        XCTAssertThrowsError(try ConvolutionGeometry(inputSize: [2], kernelSize: [3]))
    }

    func testClampBounds() throws {
        let clip6 = try XCTUnwrap(buildOperator("Clip", opset: 6, attributes: ["min": .float(0), "max": .float(6)], inputs: [nil])
            as? any ActivationOperator)
        XCTAssertEqual(clip6.activation([nil]), .clamp(ClampBounds(minimum: 0, maximum: 6)))
        let clip13 = try XCTUnwrap(buildOperator("Clip", opset: 13, inputs: [nil, nil, nil]) as? any ActivationOperator)
        let input = InferenceValue(type: TensorType(elementType: .float, fixedShape: [1]))
        XCTAssertEqual(clip13.activation([input, InferenceValue(constant: Tensor(scalar: Float(0))),
                                           InferenceValue(constant: Tensor(scalar: Float(6)))]),
                       .clamp(ClampBounds(minimum: 0, maximum: 6)))
        XCTAssertEqual(clip13.activation([input, nil, InferenceValue(constant: Tensor(scalar: Float(6)))]),
                       .clamp(ClampBounds(minimum: -.infinity, maximum: 6)))
        XCTAssertNil(clip13.activation([input, InferenceValue(type: TensorType(elementType: .float, fixedShape: [])), nil]))
        let relu = try XCTUnwrap(buildOperator("Relu", opset: 14, inputs: [nil]) as? any ActivationOperator)
        XCTAssertEqual(relu.activation([input]), .clamp(ClampBounds(minimum: 0)))
    }

    func testRegistryClaims() {
        let registry = OperatorRegistry.standard
        for opType in ["Conv", "Clip", "Add", "GlobalAveragePool", "Gemm", "Flatten", "Reshape", "Constant",
                       "ReduceMean", "Slice", "Pad", "Softmax", "BatchNormalization"] {
            XCTAssertNotNil(registry.definition(domain: "", opType: opType, opset: 13), opType)
            XCTAssertNotNil(registry.definition(domain: "ai.onnx", opType: opType, opset: 22), opType)
            XCTAssertNil(registry.definition(domain: "", opType: opType, opset: 28), opType)
        }
        XCTAssertNil(registry.definition(domain: "", opType: "HardSwish", opset: 13))
        XCTAssertNil(registry.definition(domain: "com.microsoft", opType: "Conv", opset: 1))
    }
}
