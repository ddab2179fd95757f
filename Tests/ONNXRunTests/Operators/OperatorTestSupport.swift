// Helpers for operator tests: build an operator from a Node through the registry, run it, check its errors.

import XCTest
@testable import ONNXRun

/// Builds `opType` for `opset` from the standard registry, infers its output types, runs it, and checks that the
/// inferred types agree with the produced tensors.
func runOperator(_ opType: String, opset: Int, attributes: [String: AttributeValue] = [:], outputCount: Int = 1,
                 inputs: [Tensor?], file: StaticString = #filePath, line: UInt = #line) throws -> [Tensor] {
    let operation = try buildOperator(opType, opset: opset, attributes: attributes, inputs: inputs, outputCount: outputCount)
    let types = try operation.inferOutputs(inputs.map { $0.map { InferenceValue(type: TensorType(elementType: $0.elementType, fixedShape: $0.shape)) } })
    let outputs = try operation.run(inputs)
    XCTAssertEqual(types.count, outputs.count, "inferred \(types.count) outputs, ran \(outputs.count)", file: file, line: line)
    for (type, output) in zip(types, outputs) {
        XCTAssertEqual(type.elementType, output.elementType, "inferred type", file: file, line: line)
        if let shape = type.fixedShape {
            XCTAssertEqual(shape, output.shape, "inferred shape", file: file, line: line)
        }
    }
    return outputs
}

/// The operator for a node with the given inputs (absent ones named "") and outputs.
func buildOperator(_ opType: String, opset: Int, attributes: [String: AttributeValue] = [:], inputs: [Tensor?],
                   outputCount: Int = 1) throws -> any Operator {
    let node = Node(name: "test_\(opType)", opType: opType,
                    inputs: inputs.enumerated().map { $0.element == nil ? "" : "input_\($0.offset)" },
                    outputs: (0..<outputCount).map { "output_\($0)" }, attributes: attributes)
    guard let definition = OperatorRegistry.standard.definition(domain: "", opType: opType, opset: opset) else {
        throw ONNXRunError(.unsupported, "\(opType) opset \(opset) is not registered")
    }
    return try definition.build(OperatorContext(node: node, opset: opset))
}

/// Asserts that `body` throws an ONNXRunError of `kind` whose message contains `text`.
func assertThrows(_ kind: ONNXRunError.Kind, containing text: String, file: StaticString = #filePath, line: UInt = #line,
                  _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected a \(kind) error containing '\(text)'", file: file, line: line)
    } catch let error as ONNXRunError {
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        XCTAssertTrue(error.description.contains(text), "'\(error)' does not contain '\(text)'", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}
