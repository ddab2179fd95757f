// The list of standard ONNX operators onnxrun implements; the registry and the README's table come from it.

enum StandardOperators {
    /// Opset ranges are the versions each builder implements (it switches on the opset inside): ranges start at the
    /// operator's first version, and end at 22, the newest opset onnxrun claims.
    static let all: [OperatorDefinition] = [
        // MARK: Convolution and pooling
        define("Conv", 1...22) { try ConvOperator($0) },
        define("GlobalAveragePool", 1...22) { try GlobalPoolOperator($0, maximum: false) },
        define("GlobalMaxPool", 1...22) { try GlobalPoolOperator($0, maximum: true) },
        define("MaxPool", 1...22) { try PoolOperator($0, maximum: true) },
        define("AveragePool", 1...22) { try PoolOperator($0, maximum: false) },

        // MARK: Activations
        define("Clip", 1...22) { try ClipOperator($0) },
        define("Relu", 1...22) { try ReluOperator($0) },

        // MARK: Arithmetic
        define("Add", 1...22) { try ElementwiseBinaryOperator($0, .add) },
        define("Sub", 1...22) { try ElementwiseBinaryOperator($0, .subtract) },
        define("Mul", 1...22) { try ElementwiseBinaryOperator($0, .multiply) },
        define("Div", 1...22) { try ElementwiseBinaryOperator($0, .divide) },
        define("Pow", 1...22) { try ElementwiseBinaryOperator($0, .power) },
        define("Mod", 10...22) { try ElementwiseBinaryOperator($0, .modulo) },

        // MARK: Matrix products
        define("Gemm", 1...22) { try GemmOperator($0) },
        define("MatMul", 1...22) { try MatMulOperator($0) },

        // MARK: Shapes and data movement
        define("Reshape", 1...22) { try ReshapeOperator($0) },
        define("Flatten", 1...22) { try FlattenOperator($0) },
        define("Squeeze", 1...22) { try SqueezeOperator($0, unsqueeze: false) },
        define("Unsqueeze", 1...22) { try SqueezeOperator($0, unsqueeze: true) },
        define("Shape", 1...22) { try ShapeOperator($0) },
        define("Size", 1...22) { try SizeOperator($0) },
        define("Identity", 1...22) { try IdentityOperator($0) },
        define("Dropout", 1...22) { try DropoutOperator($0) },
        define("Cast", 1...22) { try CastOperator($0) },
        define("CastLike", 15...22) { try CastOperator(castLike: $0) },
        define("Constant", 1...22) { try ConstantOperator($0) },
        define("ConstantOfShape", 9...22) { try ConstantOfShapeOperator($0) },
        define("Transpose", 1...22) { try TransposeOperator($0) },
        define("Concat", 1...22) { try ConcatOperator($0) },
        define("Gather", 1...22) { try GatherOperator($0) },
        define("Slice", 1...22) { try SliceOperator($0) },
        define("Pad", 1...22) { try PadOperator($0) },
        define("Expand", 8...22) { try ExpandOperator($0) },
        define("Tile", 6...22) { try TileOperator($0) },

        // MARK: Normalization and reductions
        define("BatchNormalization", 1...22) { try BatchNormalizationOperator($0) },
        define("Softmax", 1...22) { try SoftmaxOperator($0, logarithmic: false) },
        define("LogSoftmax", 1...22) { try SoftmaxOperator($0, logarithmic: true) },
        define("ReduceMean", 1...22) { try ReduceOperator($0, .mean) },
        define("ReduceSum", 1...22) { try ReduceOperator($0, .sum) },
        define("ReduceMax", 1...22) { try ReduceOperator($0, .maximum) },
        define("ReduceMin", 1...22) { try ReduceOperator($0, .minimum) },
        define("ReduceProd", 1...22) { try ReduceOperator($0, .product) },
        define("ReduceSumSquare", 1...22) { try ReduceOperator($0, .sumSquare) },
        define("ReduceL1", 1...22) { try ReduceOperator($0, .l1) },
        define("ReduceL2", 1...22) { try ReduceOperator($0, .l2) },
        define("ReduceLogSum", 1...22) { try ReduceOperator($0, .logSum) },
        define("ReduceLogSumExp", 1...22) { try ReduceOperator($0, .logSumExp) },

        // MARK: Variadic elementwise
        define("Max", 1...22) { try VariadicOperator($0, .maximum) },
        define("Min", 1...22) { try VariadicOperator($0, .minimum) },
        define("Sum", 1...22) { try VariadicOperator($0, .sum) },
        define("Mean", 1...22) { try VariadicOperator($0, .mean) },

        // MARK: Comparisons and selection
        define("Equal", 7...22) { try ComparisonOperator($0, .equal) },
        define("Less", 7...22) { try ComparisonOperator($0, .less) },
        define("Greater", 7...22) { try ComparisonOperator($0, .greater) },
        define("LessOrEqual", 12...22) { try ComparisonOperator($0, .lessOrEqual) },
        define("GreaterOrEqual", 12...22) { try ComparisonOperator($0, .greaterOrEqual) },
        define("And", 7...22) { try ComparisonOperator($0, .and) },
        define("Or", 7...22) { try ComparisonOperator($0, .or) },
        define("Xor", 7...22) { try ComparisonOperator($0, .xor) },
        define("Not", 1...22) { try NotOperator($0) },
        define("Where", 9...22) { try WhereOperator($0) },
    ] + ElementwiseUnaryOperator.firstVersions.map { opType, since in
        define(opType, since...22) { try ElementwiseUnaryOperator($0, opType) }
    }

    private static func define(_ opType: String, _ opsets: ClosedRange<Int>,
                               _ build: @escaping @Sendable (OperatorContext) throws -> any Operator) -> OperatorDefinition {
        OperatorDefinition(opType: opType, opsets: opsets, build: build)
    }
}
