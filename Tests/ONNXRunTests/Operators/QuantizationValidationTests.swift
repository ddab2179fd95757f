// Malformed quantization parameters (scale <= 0, NaN or infinite; zero point of the wrong type or nonzero for int32;
// scale/zero-point shapes that do not fit the axis) are load-time errors naming the node, op and opset.

import XCTest
@testable import ONNXRun

final class QuantizationValidationTests: XCTestCase {
    private func scalar(_ value: Float) -> Tensor { Tensor(shape: [], computed: [value]) }

    /// A one-node model whose node is named "quantized"; `x` is a graph input, everything else an initializer.
    private func model(_ opType: String, domain: String = "", opset: Int, x: TensorType, inputs: [String],
                       initializers: [String: Tensor], attributes: [String: AttributeValue] = [:]) -> Model {
        let node = Node(name: "quantized", opType: opType, domain: domain, inputs: inputs, outputs: ["y"],
                        attributes: attributes)
        var opsets = ["": opset]
        if !domain.isEmpty { opsets[domain] = 1 }
        return Model(irVersion: 8, opsetImports: opsets,
                     graph: Graph(name: "g", inputs: [ValueInfo(name: "x", type: x)], outputs: [ValueInfo(name: "y", type: nil)],
                                  initializers: initializers, valueInfo: [], nodes: [node]))
    }

    /// Loading fails with an invalid-model error that names the node, its op and opset, and says `fragment`.
    private func assertLoadFails(_ model: Model, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try InferenceSession(model: model, options: SessionOptions(threadCount: 1)), file: file, line: line) { error in
            guard let error = error as? ONNXRunError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, .invalidModel, "\(error)", file: file, line: line)
            XCTAssertEqual(error.node, "quantized", file: file, line: line)
            XCTAssertEqual(error.opType, model.graph.nodes[0].opType, file: file, line: line)
            XCTAssertNotNil(error.opset, file: file, line: line)
            XCTAssertTrue(error.description.contains(fragment), "'\(error)' does not say '\(fragment)'", file: file, line: line)
        }
    }

    private let floatInput = TensorType(elementType: .float, fixedShape: [1, 3, 4, 4])
    private let byteInput = TensorType(elementType: .uint8, fixedShape: [1, 3, 4, 4])

    func testQuantizeLinearScalesMustBeFinitePositive() {
        for bad: Float in [0, -0.5, .nan, .infinity] {
            assertLoadFails(model("QuantizeLinear", opset: 13, x: floatInput, inputs: ["x", "scale", "zero"],
                                  initializers: ["scale": scalar(bad), "zero": Tensor(scalar: UInt8(128))]),
                            "scale must be finite and positive")
        }
    }

    func testPerAxisScaleMustMatchTheAxis() {
        let scales = Tensor(shape: [4], computed: [Float](repeating: 0.1, count: 4))
        assertLoadFails(model("DequantizeLinear", opset: 13, x: byteInput, inputs: ["x", "scale"],
                              initializers: ["scale": scales], attributes: ["axis": .int(1)]),
                        "one per index of axis 1")
        assertLoadFails(model("DequantizeLinear", opset: 13, x: byteInput, inputs: ["x", "scale"],
                              initializers: ["scale": Tensor(shape: [3], computed: [Float](repeating: 0.1, count: 3))],
                              attributes: ["axis": .int(4)]),
                        "axis 4 is out of range")
    }

    func testZeroPointMustHaveTheScaleShapeAndTheQuantizedType() {
        let scales = Tensor(shape: [3], computed: [Float](repeating: 0.1, count: 3))
        assertLoadFails(model("DequantizeLinear", opset: 13, x: byteInput, inputs: ["x", "scale", "zero"],
                              initializers: ["scale": scales, "zero": Tensor(shape: [2], computed: [UInt8](repeating: 0, count: 2))]),
                        "have different shapes")
        // A zero point outside uint8's range can only come in a wider type: it must be the values' type.
        assertLoadFails(model("DequantizeLinear", opset: 13, x: byteInput, inputs: ["x", "scale", "zero"],
                              initializers: ["scale": scalar(0.1), "zero": Tensor(scalar: Int32(300))]),
                        "zero_point is int32, the quantized values are uint8")
        assertLoadFails(model("DequantizeLinear", opset: 13, x: TensorType(elementType: .int32, fixedShape: [8]),
                              inputs: ["x", "scale", "zero"],
                              initializers: ["scale": scalar(0.1), "zero": Tensor(scalar: Int32(5))]),
                        "int32 values must be 0")
    }

    func testBlockedScaleMustCoverTheBlocks() {
        let x = TensorType(elementType: .float, fixedShape: [3, 10])
        assertLoadFails(model("QuantizeLinear", opset: 21, x: x, inputs: ["x", "scale"],
                              initializers: ["scale": Tensor(shape: [3, 2], computed: [Float](repeating: 0.1, count: 6))],
                              attributes: ["axis": .int(1), "block_size": .int(4)]),
                        "in blocks of 4 (3)")
    }

    func testQLinearConvPerChannelParameters() {
        let weights = Tensor(shape: [2, 3, 1, 1], computed: [Int8](repeating: 1, count: 6))
        func conv(wScale: Tensor, wZero: Tensor, yScale: Float = 0.1) -> Model {
            model("QLinearConv", opset: 13, x: byteInput,
                  inputs: ["x", "x_scale", "x_zero", "w", "w_scale", "w_zero", "y_scale", "y_zero"],
                  initializers: ["x_scale": scalar(0.02), "x_zero": Tensor(scalar: UInt8(128)), "w": weights,
                                 "w_scale": wScale, "w_zero": wZero, "y_scale": scalar(yScale),
                                 "y_zero": Tensor(scalar: UInt8(0))])
        }
        let goodScales = Tensor(shape: [2], computed: [Float](repeating: 0.01, count: 2))
        let goodZeros = Tensor(shape: [2], computed: [Int8](repeating: 0, count: 2))
        XCTAssertNoThrow(try InferenceSession(model: conv(wScale: goodScales, wZero: goodZeros)))
        assertLoadFails(conv(wScale: Tensor(shape: [3], computed: [Float](repeating: 0.01, count: 3)), wZero: goodZeros),
                        "w_scale must have 1 or 2 values")
        assertLoadFails(conv(wScale: Tensor(shape: [2], computed: [Float](arrayLiteral: 0.01, -0.01)), wZero: goodZeros),
                        "w_scale must be finite and positive, has -0.01")
        assertLoadFails(conv(wScale: goodScales, wZero: Tensor(shape: [2], computed: [UInt8](repeating: 0, count: 2))),
                        "w_zero_point is uint8, the quantized values are int8")
        assertLoadFails(conv(wScale: goodScales, wZero: goodZeros, yScale: .nan), "y_scale must be finite and positive")
    }

    func testContribOperatorsCheckTheirParameters() {
        let add = model("QLinearAdd", domain: "com.microsoft", opset: 13, x: byteInput,
                        inputs: ["x", "s", "z", "x", "s", "z", "c_scale", "z"],
                        initializers: ["s": scalar(0.1), "z": Tensor(scalar: UInt8(3)),
                                       "c_scale": Tensor(shape: [2], computed: [Float](arrayLiteral: 0.1, 0.2))])
        assertLoadFails(add, "C_scale must be a scalar or have one value")
        let pool = model("QLinearGlobalAveragePool", domain: "com.microsoft", opset: 13, x: byteInput,
                         inputs: ["x", "s", "z", "y_scale", "z"],
                         initializers: ["s": scalar(0.1), "z": Tensor(scalar: Int8(3)), "y_scale": scalar(0.1)])
        assertLoadFails(pool, "x_zero_point is int8, the quantized values are uint8")
    }
}
