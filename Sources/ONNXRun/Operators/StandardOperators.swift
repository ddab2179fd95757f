// The list of standard ONNX operators onnxrun implements; the registry and the README's table come from it.

enum StandardOperators {
    /// The newest default-domain opset the builders were checked against. Opsets 23 to 25 only added element types
    /// (float4e2m1, float8e8m0, int2) to these operators, which onnxrun rejects as unsupported types; 26 and 27
    /// changed none of them; 28 changed Cast, Mod, Celu and ReduceLogSum(Exp).
    static let newestOpset = 27

    /// Opset ranges are the versions each builder implements (it switches on the opset inside): ranges start at the
    /// operator's first version and end at `newestOpset`.
    static let all: [OperatorDefinition] = [
        // MARK: Convolution and pooling
        define("Conv", 1...newestOpset) { try ConvOperator($0) },
        define("ConvTranspose", 1...newestOpset) { try ConvTransposeOperator($0) },
        define("GlobalAveragePool", 1...newestOpset) { try GlobalPoolOperator($0, maximum: false) },
        define("GlobalMaxPool", 1...newestOpset) { try GlobalPoolOperator($0, maximum: true) },
        define("MaxPool", 1...newestOpset) { try PoolOperator($0, maximum: true) },
        define("AveragePool", 1...newestOpset) { try PoolOperator($0, maximum: false) },
        define("LpPool", 1...newestOpset) { try PoolOperator($0, maximum: false, lp: true) },
        define("GlobalLpPool", 1...newestOpset) { try GlobalPoolOperator($0, maximum: false, lp: true) },

        // MARK: Quantization
        define("QuantizeLinear", 10...newestOpset) { try QuantizeLinearOperator($0, quantize: true) },
        define("DequantizeLinear", 10...newestOpset) { try QuantizeLinearOperator($0, quantize: false) },
        define("DynamicQuantizeLinear", 11...newestOpset) { try DynamicQuantizeLinearOperator($0) },
        define("MatMulInteger", 10...newestOpset) { try IntegerMatMulOperator($0, quantizedLinear: false) },
        define("QLinearMatMul", 10...newestOpset) { try IntegerMatMulOperator($0, quantizedLinear: true) },
        define("ConvInteger", 10...newestOpset) { try IntegerConvOperator($0, quantizedLinear: false) },
        define("QLinearConv", 10...newestOpset) { try IntegerConvOperator($0, quantizedLinear: true) },

        // MARK: Activations
        define("Clip", 1...newestOpset) { try ClipOperator($0) },
        define("Relu", 1...newestOpset) { try ReluOperator($0) },
        define("PRelu", 7...newestOpset) { try PReluOperator($0) },

        // MARK: Arithmetic
        define("Add", 1...newestOpset) { try ElementwiseBinaryOperator($0, .add) },
        define("Sub", 1...newestOpset) { try ElementwiseBinaryOperator($0, .subtract) },
        define("Mul", 1...newestOpset) { try ElementwiseBinaryOperator($0, .multiply) },
        define("Div", 1...newestOpset) { try ElementwiseBinaryOperator($0, .divide) },
        define("Pow", 1...newestOpset) { try ElementwiseBinaryOperator($0, .power) },
        define("Mod", 10...newestOpset) { try ElementwiseBinaryOperator($0, .modulo) },

        // MARK: Matrix products
        define("Gemm", 1...newestOpset) { try GemmOperator($0) },
        define("MatMul", 1...newestOpset) { try MatMulOperator($0) },

        // MARK: Shapes and data movement
        define("Reshape", 1...newestOpset) { try ReshapeOperator($0) },
        define("Flatten", 1...newestOpset) { try FlattenOperator($0) },
        define("Squeeze", 1...newestOpset) { try SqueezeOperator($0, unsqueeze: false) },
        define("Unsqueeze", 1...newestOpset) { try SqueezeOperator($0, unsqueeze: true) },
        define("Shape", 1...newestOpset) { try ShapeOperator($0) },
        define("Size", 1...newestOpset) { try SizeOperator($0) },
        define("Identity", 1...newestOpset) { try IdentityOperator($0) },
        define("Dropout", 1...newestOpset) { try DropoutOperator($0) },
        define("Cast", 1...newestOpset) { try CastOperator($0) },
        define("CastLike", 15...newestOpset) { try CastOperator(castLike: $0) },
        define("Constant", 1...newestOpset) { try ConstantOperator($0) },
        define("ConstantOfShape", 9...newestOpset) { try ConstantOfShapeOperator($0) },
        define("Transpose", 1...newestOpset) { try TransposeOperator($0) },
        define("Concat", 1...newestOpset) { try ConcatOperator($0) },
        define("Gather", 1...newestOpset) { try GatherOperator($0) },
        define("Slice", 1...newestOpset) { try SliceOperator($0) },
        define("Pad", 1...newestOpset) { try PadOperator($0) },
        define("Expand", 8...newestOpset) { try ExpandOperator($0) },
        define("Tile", 6...newestOpset) { try TileOperator($0) },
        define("Range", 11...newestOpset) { try RangeOperator($0) },
        define("Split", 2...newestOpset) { try SplitOperator($0) },
        define("GatherElements", 11...newestOpset) { try GatherElementsOperator($0) },
        define("ScatterElements", 11...newestOpset) { try ScatterOperator($0, elements: true) },
        define("ScatterND", 11...newestOpset) { try ScatterOperator($0, elements: false) },
        define("TopK", 1...newestOpset) { try TopKOperator($0) },
        define("NonZero", 9...newestOpset) { try NonZeroOperator($0) },
        define("OneHot", 9...newestOpset) { try OneHotOperator($0) },
        define("Compress", 9...newestOpset) { try CompressOperator($0) },
        define("IsNaN", 9...newestOpset) { try FloatPredicateOperator($0, infinity: false) },
        define("IsInf", 10...newestOpset) { try FloatPredicateOperator($0, infinity: true) },
        define("Trilu", 14...newestOpset) { try TriluOperator($0) },
        define("Resize", 11...newestOpset) { try ResizeOperator($0) },
        define("DepthToSpace", 1...newestOpset) { try DepthToSpaceOperator($0, toSpace: true) },
        define("SpaceToDepth", 1...newestOpset) { try DepthToSpaceOperator($0, toSpace: false) },

        // MARK: Normalization and reductions
        define("BatchNormalization", 1...newestOpset) { try BatchNormalizationOperator($0) },
        define("Softmax", 1...newestOpset) { try SoftmaxOperator($0, logarithmic: false) },
        define("LogSoftmax", 1...newestOpset) { try SoftmaxOperator($0, logarithmic: true) },
        define("Hardmax", 1...newestOpset) { try SoftmaxOperator($0, logarithmic: false, hard: true) },
        define("LayerNormalization", 17...newestOpset) { try LayerNormalizationOperator($0) },
        define("InstanceNormalization", 1...newestOpset) { try InstanceNormalizationOperator($0) },
        define("LpNormalization", 1...newestOpset) { try LpNormalizationOperator($0) },
        define("ArgMax", 1...newestOpset) { try ArgExtremumOperator($0, maximum: true) },
        define("ArgMin", 1...newestOpset) { try ArgExtremumOperator($0, maximum: false) },
        define("NegativeLogLikelihoodLoss", 12...newestOpset) { try LossOperator($0, softmaxCrossEntropy: false) },
        define("SoftmaxCrossEntropyLoss", 12...newestOpset) { try LossOperator($0, softmaxCrossEntropy: true) },
        define("CumSum", 11...newestOpset) { try CumSumOperator($0) },
        define("CumProd", 26...newestOpset) { try CumSumOperator($0, product: true) },
        define("RMSNormalization", 23...newestOpset) { try LayerNormalizationOperator($0, rootMeanSquare: true) },
        define("MeanVarianceNormalization", 9...newestOpset) { try MeanVarianceNormalizationOperator($0) },
        define("ReduceMean", 1...newestOpset) { try ReduceOperator($0, .mean) },
        define("ReduceSum", 1...newestOpset) { try ReduceOperator($0, .sum) },
        define("ReduceMax", 1...newestOpset) { try ReduceOperator($0, .maximum) },
        define("ReduceMin", 1...newestOpset) { try ReduceOperator($0, .minimum) },
        define("ReduceProd", 1...newestOpset) { try ReduceOperator($0, .product) },
        define("ReduceSumSquare", 1...newestOpset) { try ReduceOperator($0, .sumSquare) },
        define("ReduceL1", 1...newestOpset) { try ReduceOperator($0, .l1) },
        define("ReduceL2", 1...newestOpset) { try ReduceOperator($0, .l2) },
        define("ReduceLogSum", 1...newestOpset) { try ReduceOperator($0, .logSum) },
        define("ReduceLogSumExp", 1...newestOpset) { try ReduceOperator($0, .logSumExp) },

        // MARK: Variadic elementwise
        define("Max", 1...newestOpset) { try VariadicOperator($0, .maximum) },
        define("Min", 1...newestOpset) { try VariadicOperator($0, .minimum) },
        define("Sum", 1...newestOpset) { try VariadicOperator($0, .sum) },
        define("Mean", 1...newestOpset) { try VariadicOperator($0, .mean) },

        // MARK: Comparisons and selection
        define("Equal", 7...newestOpset) { try ComparisonOperator($0, .equal) },
        define("Less", 7...newestOpset) { try ComparisonOperator($0, .less) },
        define("Greater", 7...newestOpset) { try ComparisonOperator($0, .greater) },
        define("LessOrEqual", 12...newestOpset) { try ComparisonOperator($0, .lessOrEqual) },
        define("GreaterOrEqual", 12...newestOpset) { try ComparisonOperator($0, .greaterOrEqual) },
        define("And", 7...newestOpset) { try ComparisonOperator($0, .and) },
        define("Or", 7...newestOpset) { try ComparisonOperator($0, .or) },
        define("Xor", 7...newestOpset) { try ComparisonOperator($0, .xor) },
        define("Not", 1...newestOpset) { try NotOperator($0) },
        define("BitwiseAnd", 18...newestOpset) { try BitwiseOperator($0, .and) },
        define("BitwiseOr", 18...newestOpset) { try BitwiseOperator($0, .or) },
        define("BitwiseXor", 18...newestOpset) { try BitwiseOperator($0, .xor) },
        define("BitwiseNot", 18...newestOpset) { try BitwiseOperator($0, .not) },
        define("BitShift", 11...newestOpset) { try BitwiseOperator($0, .shiftLeft) },
        define("EyeLike", 9...newestOpset) { try EyeLikeOperator($0) },
        define("Where", 9...newestOpset) { try WhereOperator($0) },
    ] + ElementwiseUnaryOperator.firstVersions.map { opType, since in
        define(opType, since...newestOpset) { try ElementwiseUnaryOperator($0, opType) }
    }

    private static func define(_ opType: String, _ opsets: ClosedRange<Int>,
                               _ build: @escaping @Sendable (OperatorContext) throws -> any Operator) -> OperatorDefinition {
        OperatorDefinition(opType: opType, opsets: opsets, build: build)
    }
}
