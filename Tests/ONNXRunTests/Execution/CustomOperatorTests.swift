// Custom operators through the public API only (no @testable): a new op in its own domain, and a standard op
// replaced by the caller's own, both honoured by the optimized session.

import ONNXRun
import XCTest

/// `y = x * factor` for float tensors: the README's custom-operator example.
struct ScaleOperator: Operator {
    let factor: Float

    init(_ context: OperatorContext) throws {
        try context.expectInputs(1...1)
        factor = try context.float("factor", default: 2)
    }

    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        guard let input = inputs.first??.type, input.elementType == .float else {
            throw ONNXRunError(.invalidModel, "Scale expects one float input")
        }
        return [input]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        guard let input = inputs.first ?? nil else { throw ONNXRunError(.invalidModel, "Scale expects one input") }
        return [try Tensor(shape: input.shape, floats: input.floats.map { $0 * factor })]
    }
}

/// A stand-in for Conv that ignores its weights and writes zeros of Conv's output shape (1x1 kernels only): a
/// result the standard Conv cannot produce, so the test sees which operator ran.
struct ZeroConvolution: Operator {
    func inferOutputs(_ inputs: [InferenceValue?]) throws -> [TensorType] {
        guard inputs.count >= 2, let x = inputs[0]?.type.shape, let w = inputs[1]?.type.shape, x.count == 4,
              w.count == 4 else { throw ONNXRunError(.invalidModel, "ZeroConvolution expects 4-D X and W") }
        return [TensorType(elementType: .float, shape: [x[0], w[0], x[2], x[3]])]
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        guard inputs.count >= 2, let x = inputs[0], let w = inputs[1] else {
            throw ONNXRunError(.invalidModel, "ZeroConvolution expects X and W")
        }
        return [Tensor(zeros: .float, shape: [x.shape[0], w.shape[0], x.shape[2], x.shape[3]])]
    }
}

final class CustomOperatorTests: XCTestCase {
    private func info(_ name: String, _ shape: [Int]) -> ValueInfo {
        ValueInfo(name: name, type: TensorType(elementType: .float, fixedShape: shape))
    }

    func testOperatorInItsOwnDomainRunsAtEveryOptimizationLevel() throws {
        var registry = OperatorRegistry.standard
        registry.register(OperatorDefinition(domain: "com.example", opType: "Scale", opsets: 1...1) {
            try ScaleOperator($0)
        })
        let graph = Graph(
            name: "scale", inputs: [info("x", [2, 3])], outputs: [info("y", [2, 3])], initializers: [:],
            valueInfo: [],
            nodes: [
                Node(name: "relu", opType: "Relu", inputs: ["x"], outputs: ["r"]),
                Node(name: "scale", opType: "Scale", domain: "com.example", inputs: ["r"], outputs: ["y"],
                     attributes: ["factor": .float(3)]),
            ])
        let model = Model(irVersion: 8, opsetImports: ["": 13, "com.example": 1], graph: graph, source: "custom")
        let x = try Tensor(shape: [2, 3], floats: [-1, 0.5, 2, -3, 4, 0])
        for level in [OptimizationLevel.none, .all] {
            let session = try InferenceSession(model: model, options: SessionOptions(optimizationLevel: level),
                                               registry: registry)
            XCTAssertEqual(try session.run(["x": x])["y"]?.floats, [0, 1.5, 6, 0, 12, 0])
        }
        // Without the registration the model is refused, naming the op and its domain.
        XCTAssertThrowsError(try InferenceSession(model: model)) { error in
            XCTAssertTrue("\(error)".contains("Scale (com.example, opset 1)"), "\(error)")
        }
    }

    /// The optimizer rebuilt rewritten nodes from the standard registry (a BatchNormalization fold replaced the
    /// caller's Conv by the standard one): the caller's operator must survive optimization.
    func testReplacedStandardOperatorSurvivesOptimization() throws {
        var registry = OperatorRegistry.standard
        registry.register(OperatorDefinition(opType: "Conv", opsets: 1...22) { _ in ZeroConvolution() })
        let channels = 2
        let graph = Graph(
            name: "conv-bn", inputs: [info("x", [1, 3, 4, 4])], outputs: [info("y", [1, channels, 4, 4])],
            initializers: [
                "w": try Tensor(shape: [channels, 3, 1, 1], floats: [0.5, -1, 2, 1, 1, 1]),
                "scale": try Tensor(shape: [channels], floats: [2, 3]),
                "bias": try Tensor(shape: [channels], floats: [0.25, -0.5]),
                "mean": try Tensor(shape: [channels], floats: [1, -1]),
                "variance": try Tensor(shape: [channels], floats: [4, 9]),
            ],
            valueInfo: [],
            nodes: [
                Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["c"]),
                Node(name: "bn", opType: "BatchNormalization", inputs: ["c", "scale", "bias", "mean", "variance"],
                     outputs: ["y"], attributes: ["epsilon": .float(0)]),
            ])
        let model = Model(irVersion: 8, opsetImports: ["": 13], graph: graph, source: "custom-conv")
        let x = try Tensor(shape: [1, 3, 4, 4], floats: (0..<48).map { Float($0) / 10 })
        // BatchNormalization of zeros: (0 - mean) / sqrt(var) * scale + bias per channel.
        let expected = [Float](repeating: (0 - 1) / 2 * 2 + 0.25, count: 16)
            + [Float](repeating: (0 + 1) / 3 * 3 - 0.5, count: 16)
        for level in [OptimizationLevel.none, .all] {
            let session = try InferenceSession(model: model, options: SessionOptions(optimizationLevel: level),
                                               registry: registry)
            let y = try XCTUnwrap(session.run(["x": x])["y"])
            XCTAssertEqual(y.floats, expected, "optimization level \(level)")
        }
    }
}
