// Pass: Gemm and MatMul with a constant 2-D B run on the packed GEMM kernel (alpha and beta * C folded in).

extension GraphRewriter {
    mutating func packConstantMatrixProducts() throws {
        defer { compact() }
        for index in nodes.indices {
            guard let product = nodes[index], product.node.domain.isEmpty,
                  product.node.opType == "Gemm" || product.node.opType == "MatMul",
                  product.node.inputs.count >= 2,
                  let aType = types[product.node.inputs[0]], aType.elementType == .float, aType.shape?.count == 2,
                  let b = constants[product.node.inputs[1]], b.elementType == .float, b.rank == 2
            else { continue }
            let context = OperatorContext(node: product.node, opset: product.opset)
            var transposed = false
            var alpha: Float = 1
            var bias: [Float]?
            if product.node.opType == "Gemm" {
                guard try context.int("transA", default: 0) == 0 else { continue }
                transposed = try context.int("transB", default: 0) != 0
                alpha = try context.float("alpha", default: 1)
                let beta = try context.float("beta", default: 1)
                let columns = transposed ? b.shape[0] : b.shape[1]
                if product.node.inputs.count > 2, !product.node.inputs[2].isEmpty {
                    // C broadcast along rows only ([N], [1, N], or a single value) becomes a bias.
                    guard let c = constants[product.node.inputs[2]], c.elementType == .float else { continue }
                    let values = c.floats
                    if c.elementCount == columns && (c.shape == [columns] || c.shape == [1, columns]) {
                        bias = values.map { $0 * beta }
                    } else if c.elementCount == 1 {
                        bias = [Float](repeating: values[0] * beta, count: columns)
                    } else {
                        continue
                    }
                }
            }
            var packed = product
            // Keras/tf2onnx classifiers are MatMul -> Add(bias): the bias joins the packed weights.
            if product.node.opType == "MatMul", bias == nil, let output = product.node.outputs.first,
               hasSingleUse(output), let addIndex = consumers(of: output).first, let add = nodes[addIndex],
               add.node.opType == "Add", add.node.domain.isEmpty, add.node.inputs.count == 2 {
                let columns = b.shape[1]
                let other = add.node.inputs[0] == output ? add.node.inputs[1] : add.node.inputs[0]
                if let c = constants[other], c.elementType == .float,
                   c.shape == [columns] || c.shape == [1, columns] {
                    bias = c.floats
                    packed.node.outputs = add.node.outputs
                    nodes[addIndex] = nil
                }
            }
            // B and C now live packed inside the operator; dropping them frees the originals.
            packed.node.inputs = [product.node.inputs[0]]
            packed.op = try PackedGemm(b: b, transposed: transposed, alpha: alpha, bias: bias)
            nodes[index] = packed
        }
    }
}
