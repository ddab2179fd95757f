// Runs one conformance case through an InferenceSession and says whether every data set's outputs match.

import Foundation
import ONNXRun

/// Whether a case's outputs matched; a failure says why (the load or run error, or which output differs and how).
public enum CaseOutcome: Sendable, Equatable {
    case passed
    case failed(String)
}

public struct ConformanceRunner: Sendable {
    public var options: SessionOptions
    public var tolerance: Tolerance

    public init(options: SessionOptions, tolerance: Tolerance = .backendTests) {
        self.options = options
        self.tolerance = tolerance
    }

    /// Loads the case's model into a session and runs every `test_data_set_N`. Inputs are matched to graph inputs by
    /// the name stored in `input_K.pb`, else by position; outputs by position. Besides the values, each output's
    /// element type and shape must agree with what the session inferred for it at load (where it inferred them).
    public func run(_ testCase: ConformanceCase) -> CaseOutcome {
        let session: InferenceSession
        do {
            session = try InferenceSession(model: try ModelLoader.load(contentsOf: testCase.modelPath), options: options)
        } catch {
            return .failed("load: \(error)")
        }
        let dataSets = testCase.dataSetNames()
        guard !dataSets.isEmpty else { return .failed("no test_data_set_N folder") }
        let inferred = inferredOutputTypes(session)
        for dataSet in dataSets {
            do {
                let inputs = try testCase.numberedTensors(in: dataSet, prefix: "input_")
                let expected = try testCase.numberedTensors(in: dataSet, prefix: "output_")
                var feeds: [String: Tensor] = [:]
                for (index, input) in inputs.enumerated() {
                    let byName = session.inputs.contains { $0.name == input.name } || index >= session.inputs.count
                    feeds[byName ? input.name : session.inputs[index].name] = input.tensor
                }
                let outputs = try session.run(feeds)
                for (index, reference) in expected.enumerated() {
                    let name = index < session.outputs.count ? session.outputs[index].name : reference.name
                    guard let actual = outputs[name] else {
                        return .failed("\(dataSet): output '\(name)' is missing")
                    }
                    if let mismatch = TensorComparison.mismatch(actual, expected: reference.tensor, tolerance: tolerance) {
                        return .failed("\(dataSet): output '\(name)': \(mismatch)")
                    }
                    if let type = inferred[name], !type.admits(actual) {
                        return .failed("\(dataSet): output '\(name)' is \(actual), but was inferred as \(type)")
                    }
                }
            } catch {
                return .failed("\(dataSet): \(error)")
            }
        }
        return .passed
    }

    /// The load-time type of each graph output that a node produces.
    private func inferredOutputTypes(_ session: InferenceSession) -> [String: TensorType] {
        var types: [String: TensorType] = [:]
        // By node name: load stages may add nodes (half-precision conversions at the graph's edges), so the
        // analysis is not aligned with the file's node list.
        var analysisByNode: [String: NodeAnalysis] = [:]
        for analysis in session.nodeAnalysis { analysisByNode[analysis.name] = analysis }
        for node in session.model.graph.nodes {
            guard let analysis = analysisByNode[node.name] else { continue }
            for (name, type) in zip(node.outputs, analysis.outputTypes) { types[name] = type }
        }
        // Float16/bfloat16 graphs compute in float32 inside (weights widened at load) and convert at the graph's
        // edges: a graph output's element type is the declared one; its shape is what inference found.
        var outputs: [String: TensorType] = [:]
        for output in session.outputs {
            guard var type = types[output.name] else { continue }
            if let declared = output.type?.elementType { type.elementType = declared }
            outputs[output.name] = type
        }
        return outputs
    }
}

extension TensorType {
    /// Whether `tensor` has this element type, and the rank and dimensions this type fixes.
    func admits(_ tensor: Tensor) -> Bool {
        guard tensor.elementType == elementType else { return false }
        guard let shape else { return true }
        return shape.count == tensor.rank && zip(shape, tensor.shape).allSatisfy { $0.value == nil || $0.value == $1 }
    }
}
