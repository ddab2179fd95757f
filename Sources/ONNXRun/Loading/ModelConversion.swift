// ModelProto/GraphProto/NodeProto/AttributeProto/ValueInfoProto -> Model, Graph, Node, AttributeValue, ValueInfo.

import COnnxProto
import CProtobufC

extension LoadContext {
    // MARK: Model

    /// Converts a model. `graph` is the graph message when it was unpacked apart from the model (nil: the
    /// model's own); `initializers` converts the graph's initializers (`makeInitializers` when they are in the
    /// graph message), after the model-level checks.
    func makeModel(_ proto: UnsafeMutablePointer<Onnx__ModelProto>,
                   graph separateGraph: UnsafeMutablePointer<Onnx__GraphProto>? = nil,
                   initializers: (UnsafeMutablePointer<Onnx__GraphProto>) throws -> [String: Tensor]) throws
        -> Model {
        // protobuf-c accepts a file cut at a top-level field boundary, so required parts are checked here; ONNX
        // writers emit ir_version first, then the graph, then opset_import.
        guard proto.pointee.has_ir_version != 0 else {
            throw malformed("the model has no ir_version (not an ONNX model, or a truncated file)")
        }
        guard proto.pointee.ir_version > 0 else {
            throw invalid("the model's ir_version \(proto.pointee.ir_version) is not positive")
        }
        guard let graphProto = separateGraph ?? proto.pointee.graph else {
            throw malformed("the model has no graph (truncated file?)")
        }
        let opsetImports = try makeOpsetImports(proto.pointee)
        var metadata: [String: String] = [:]
        for index in 0..<Int(proto.pointee.n_metadata_props) {
            guard let entry = proto.pointee.metadata_props[index] else { continue }
            metadata[string(entry.pointee.key)] = string(entry.pointee.value)
        }
        let irVersion = Int(proto.pointee.ir_version)
        let graph = try makeGraph(graphProto, initializers: initializers(graphProto))
        return Model(irVersion: irVersion, opsetImports: opsetImports,
                     producerName: string(proto.pointee.producer_name),
                     producerVersion: string(proto.pointee.producer_version),
                     domain: string(proto.pointee.domain),
                     modelVersion: proto.pointee.has_model_version != 0 ? Int(proto.pointee.model_version) : 0,
                     docString: string(proto.pointee.doc_string), metadata: metadata, graph: graph, source: source)
    }

    private func makeOpsetImports(_ proto: Onnx__ModelProto) throws -> [String: Int] {
        guard proto.n_opset_import > 0 else {
            throw malformed("the model has no opset_import (truncated file?)")
        }
        var imports: [String: Int] = [:]
        for index in 0..<Int(proto.n_opset_import) {
            guard let entry = proto.opset_import[index] else { continue }
            let domain = normalizedDomain(string(entry.pointee.domain))
            let shownDomain = domain.isEmpty ? "ai.onnx" : domain
            guard entry.pointee.has_version != 0, entry.pointee.version > 0 else {
                throw invalid("the opset import for domain '\(shownDomain)' has no positive version")
            }
            guard imports[domain] == nil else {
                throw invalid("the model imports domain '\(shownDomain)' twice")
            }
            imports[domain] = Int(entry.pointee.version)
        }
        return imports
    }

    // MARK: Graph

    func makeInitializers(_ proto: UnsafeMutablePointer<Onnx__GraphProto>) throws -> [String: Tensor] {
        var initializers: [String: Tensor] = [:]
        initializers.reserveCapacity(Int(proto.pointee.n_initializer))
        for index in 0..<Int(proto.pointee.n_initializer) {
            guard let tensorProto = proto.pointee.initializer[index] else { continue }
            try addInitializer(tensorProto, index: index, to: &initializers)
        }
        return initializers
    }

    /// Converts initializer number `index` into `initializers`, refusing nameless and duplicate ones.
    func addInitializer(_ proto: UnsafeMutablePointer<Onnx__TensorProto>, index: Int,
                        to initializers: inout [String: Tensor], rawData: UnsafeRawBufferPointer? = nil) throws {
        let name = string(proto.pointee.name)
        guard !name.isEmpty else { throw invalid("initializer #\(index) has no name") }
        guard initializers[name] == nil else { throw invalid("duplicate initializer '\(name)'") }
        initializers[name] = try makeTensor(proto, describedAs: "initializer '\(name)'", rawData: rawData)
    }

    func makeGraph(_ proto: UnsafeMutablePointer<Onnx__GraphProto>, initializers: [String: Tensor]) throws -> Graph {
        let graph = proto.pointee
        guard graph.n_sparse_initializer == 0 else {
            throw unsupported("the graph has \(graph.n_sparse_initializer) sparse initializers; onnxrun does not "
                              + "support sparse tensors")
        }

        // Initializers also listed in graph.input are constants. IR < 4 requires every initializer to be listed
        // as an input (an input that a caller may override); for IR >= 4 such a listing is legal, and onnxrun
        // treats these as constants too: they are removed from `inputs`, so callers feed only true inputs.
        var inputs: [ValueInfo] = []
        var inputNames = Set<String>()
        for index in 0..<Int(graph.n_input) {
            guard let valueProto = graph.input[index] else { continue }
            let info = try makeValueInfo(valueProto, role: "graph input", required: true)
            guard inputNames.insert(info.name).inserted else {
                throw invalid("graph input '\(info.name)' is declared twice")
            }
            if initializers[info.name] == nil { inputs.append(info) }
        }
        var outputs: [ValueInfo] = []
        for index in 0..<Int(graph.n_output) {
            guard let valueProto = graph.output[index] else { continue }
            outputs.append(try makeValueInfo(valueProto, role: "graph output", required: true))
        }
        var valueInfo: [ValueInfo] = []
        for index in 0..<Int(graph.n_value_info) {
            guard let valueProto = graph.value_info[index] else { continue }
            // value_info entries are hints: ones onnxrun cannot represent are dropped, not errors.
            if let info = try? makeValueInfo(valueProto, role: "value_info", required: false) {
                valueInfo.append(info)
            }
        }

        var nodes: [Node] = []
        nodes.reserveCapacity(Int(graph.n_node))
        for index in 0..<Int(graph.n_node) {
            guard let nodeProto = graph.node[index] else { continue }
            nodes.append(try makeNode(nodeProto, index: index))
        }
        makeNodeNamesUnique(&nodes)

        let unsorted = Graph(name: string(graph.name), inputs: inputs, outputs: outputs, initializers: initializers,
                             valueInfo: valueInfo, nodes: nodes)
        return try validatedAndSorted(unsorted)
    }

    /// Names every node uniquely: `<OpType>_<index>` when the file has no name; a repeated name gets `_<index>`.
    private func makeNodeNamesUnique(_ nodes: inout [Node]) {
        var taken = Set(nodes.map(\.name).filter { !$0.isEmpty })
        var seen = Set<String>()
        for index in nodes.indices {
            let name = nodes[index].name
            if !name.isEmpty, seen.insert(name).inserted { continue }
            var candidate = name.isEmpty ? "\(nodes[index].opType)_\(index)" : "\(name)_\(index)"
            var suffix = 1
            while taken.contains(candidate) {
                candidate = (name.isEmpty ? "\(nodes[index].opType)_\(index)" : "\(name)_\(index)") + "_\(suffix)"
                suffix += 1
            }
            taken.insert(candidate)
            seen.insert(candidate)
            nodes[index].name = candidate
        }
    }

    // MARK: Values

    /// A declared value. `required`: graph inputs and outputs must be tensors of a known element type.
    private func makeValueInfo(_ proto: UnsafeMutablePointer<Onnx__ValueInfoProto>, role: String,
                               required: Bool) throws -> ValueInfo {
        let name = string(proto.pointee.name)
        guard !name.isEmpty else { throw invalid("a \(role) has no name") }
        guard let type = proto.pointee.type else {
            if required { throw invalid("\(role) '\(name)' has no type") }
            return ValueInfo(name: name, type: nil)
        }
        guard type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
              let tensorType = type.pointee.tensor_type else {
            // Sequences, maps, optionals, sparse tensors: representable only as "not a tensor".
            return ValueInfo(name: name, type: nil)
        }
        guard tensorType.pointee.has_elem_type != 0, tensorType.pointee.elem_type != 0 else {
            throw invalid("\(role) '\(name)' has no element type")
        }
        guard let elementType = ElementType(rawValue: tensorType.pointee.elem_type) else {
            throw unsupported("\(role) '\(name)' has element type "
                              + "\(describeElementTypeNumber(tensorType.pointee.elem_type)), which onnxrun "
                              + "does not support")
        }
        guard let shapeProto = tensorType.pointee.shape else {
            return ValueInfo(name: name, type: TensorType(elementType: elementType, shape: nil))
        }
        let rank = Int(shapeProto.pointee.n_dim)
        guard rank <= limits.maxRank else {
            throw invalid("\(role) '\(name)' has rank \(rank), above the limit of \(limits.maxRank)")
        }
        var shape: [Dimension] = []
        shape.reserveCapacity(rank)
        for index in 0..<rank {
            guard let dimension = shapeProto.pointee.dim[index] else { shape.append(.unknown); continue }
            switch dimension.pointee.value_case {
            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE:
                // Exporters write -1 (and some 0) for a dynamic dimension; onnxruntime reads any value <= 0 as
                // unknown, and so does onnxrun: the fed tensor's shape decides.
                let value = dimension.pointee.dim_value
                shape.append(value > 0 ? .fixed(Int(value)) : .unknown)
            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM:
                let symbol = string(dimension.pointee.dim_param)
                shape.append(symbol.isEmpty || symbol == "?" ? .unknown : .symbolic(symbol))
            default:
                shape.append(.unknown)
            }
        }
        let fixed = shape.compactMap(\.value)
        guard checkedElementCount(fixed, limit: limits.maxElementCount) != nil else {
            throw invalid("\(role) '\(name)' has shape [\(shape.map(\.description).joined(separator: ","))], "
                          + "more than the limit of \(limits.maxElementCount) elements")
        }
        return ValueInfo(name: name, type: TensorType(elementType: elementType, shape: shape))
    }

    // MARK: Nodes

    private func makeNode(_ proto: UnsafeMutablePointer<Onnx__NodeProto>, index: Int) throws -> Node {
        let node = proto.pointee
        let opType = string(node.op_type)
        let name = string(node.name)
        let shownName = name.isEmpty ? "#\(index)" : name
        guard !opType.isEmpty else {
            throw ONNXRunError(.invalidModel, "node has no op_type", file: source, node: shownName)
        }
        let inputs = (0..<Int(node.n_input)).map { string(node.input[$0]) }
        let outputs = (0..<Int(node.n_output)).map { string(node.output[$0]) }
        var attributes: [String: AttributeValue] = [:]
        for attributeIndex in 0..<Int(node.n_attribute) {
            guard let attribute = node.attribute[attributeIndex] else { continue }
            let attributeName = string(attribute.pointee.name)
            do {
                guard !attributeName.isEmpty else { throw invalid("attribute #\(attributeIndex) has no name") }
                guard attributes[attributeName] == nil else {
                    throw invalid("attribute '\(attributeName)' is given twice")
                }
                attributes[attributeName] = try makeAttribute(attribute, name: attributeName)
            } catch let error as ONNXRunError {
                throw error.adding(node: shownName, opType: opType)
            }
        }
        return Node(name: name, opType: opType, domain: normalizedDomain(string(node.domain)), inputs: inputs,
                    outputs: outputs, attributes: attributes)
    }

    private func makeAttribute(_ proto: UnsafeMutablePointer<Onnx__AttributeProto>,
                               name: String) throws -> AttributeValue {
        let attribute = proto.pointee
        var type = attribute.type
        if attribute.has_type == 0 || type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED {
            type = inferredAttributeType(attribute)
        }
        switch type {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
            return .float(attribute.f)
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
            return .int(Int(attribute.i))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
            return .string(string(attribute.s))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
            guard let tensor = attribute.t else { throw invalid("tensor attribute '\(name)' has no tensor") }
            return .tensor(try makeTensor(tensor, describedAs: "attribute '\(name)'"))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
            return .floats(Array(UnsafeBufferPointer(start: attribute.floats, count: Int(attribute.n_floats))))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
            return .ints(UnsafeBufferPointer(start: attribute.ints, count: Int(attribute.n_ints)).map { Int($0) })
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
            return .strings((0..<Int(attribute.n_strings)).map { string(attribute.strings[$0]) })
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return .unsupported("graph")
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return .unsupported("graphs")
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return .unsupported("tensors")
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return .unsupported("sparse tensor")
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return .unsupported("sparse tensors")
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return .unsupported("type")
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return .unsupported("types")
        default:
            return .unsupported("attribute type \(type.rawValue)")
        }
    }

    /// Files from before IR version 2 may leave `type` unset: the kind is the one field that holds a value.
    private func inferredAttributeType(_ attribute: Onnx__AttributeProto) -> Onnx__AttributeProto__AttributeType {
        if attribute.has_f != 0 { return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT }
        if attribute.has_i != 0 { return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT }
        if attribute.has_s != 0 { return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING }
        if attribute.t != nil { return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR }
        if attribute.g != nil { return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH }
        if attribute.n_floats > 0 { return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS }
        if attribute.n_ints > 0 { return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS }
        if attribute.n_strings > 0 { return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS }
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED
    }
}
