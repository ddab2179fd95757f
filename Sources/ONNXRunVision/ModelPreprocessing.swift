// What a model says about its own preprocessing and outputs: input shape, metadata_props, a final Softmax.

import ONNXRun

extension PreprocessingConfiguration {
    /// The configuration for `model`: `defaults` adapted to the image input's declared shape (layout, height,
    /// width; see `adapted(toInputShape:)`), then the model's `onnxrun.preprocess.*` metadata applied (see
    /// `MetadataKey`). `inputName` picks the input when the model has several (default: the first). Errors name
    /// the model file.
    public init(model: Model, inputName: String? = nil,
                defaults: PreprocessingConfiguration = PreprocessingConfiguration()) throws {
        do {
            let inputs = model.graph.inputs
            let input: ValueInfo?
            if let inputName {
                input = inputs.first { $0.name == inputName }
                if input == nil {
                    throw ONNXRunError(.invalidArgument,
                                       "the model has no input '\(inputName)' (inputs: \(inputs.map(\.name).joined(separator: ", ")))")
                }
            } else {
                input = inputs.first
            }
            guard let input else { throw ONNXRunError(.invalidModel, "the model has no inputs to feed an image to") }
            guard input.type?.elementType == .float else {
                let type = input.type.map(\.description) ?? "not a tensor"
                throw ONNXRunError(.unsupported,
                                   "input '\(input.name)' is \(type); image preprocessing produces float32")
            }
            let configuration = try defaults.adapted(toInputShape: input.type?.shape).applying(metadata: model.metadata)
            // Metadata that contradicts the declared shape would only fail later, at run time, less clearly.
            if let shape = input.type?.shape, shape.count == 4 {
                let expected = configuration.shape(batchSize: 1)
                for axis in 1..<4 {
                    if let declared = shape[axis].value, declared != expected[axis] {
                        throw ONNXRunError(.invalidModel,
                                           "the preprocessing metadata gives input shape \(describeShape(expected)) "
                                           + "but input '\(input.name)' is declared \(input.type.map(\.description) ?? "")")
                    }
                }
            }
            self = configuration
        } catch let error as ONNXRunError {
            throw error.adding(file: model.source)
        }
    }
}

extension Classification {
    /// Whether `model`'s first output already holds probabilities: the `onnxrun.postprocess.output` metadata
    /// when present, else whether that output comes from a Softmax node (possibly through Flatten, Reshape,
    /// Squeeze or Identity). When false, `topK` should apply softmax.
    public static func outputIsProbabilities(of model: Model) throws -> Bool {
        do {
            if let declared = try PreprocessingConfiguration.outputsAreProbabilities(metadata: model.metadata) {
                return declared
            }
        } catch let error as ONNXRunError {
            throw error.adding(file: model.source)
        }
        guard var name = model.graph.outputs.first?.name else { return false }
        var producers: [String: Node] = [:]
        for node in model.graph.nodes {
            for output in node.outputs where !output.isEmpty { producers[output] = node }
        }
        let shapeOnly: Set<String> = ["Flatten", "Reshape", "Squeeze", "Identity"]
        // Bounded by the node count, so a malformed cycle cannot loop forever.
        for _ in 0...model.graph.nodes.count {
            guard let node = producers[name], node.domain.isEmpty else { return false }
            if node.opType == "Softmax" { return true }
            guard shapeOnly.contains(node.opType), let input = node.inputs.first else { return false }
            name = input
        }
        return false
    }
}
