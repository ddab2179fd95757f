#!/usr/bin/env python3
"""Generates Tests/ONNXRunTests/Operators/OperatorReferenceTests.swift: one XCTest per operator case, with inputs
and the expected outputs computed by onnxruntime (or by numpy where onnxruntime has no kernel for an old opset form),
pasted in as literals so the Swift tests need no Python.

Run: /work/venv/bin/python tools/operator_reference_tests.py
"""
import math
import pathlib

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "Tests/ONNXRunTests/Operators/OperatorReferenceTests.swift"
rng = np.random.default_rng(20261129)

TYPES = {
    np.float32: ("Float", TensorProto.FLOAT), np.float64: ("Double", TensorProto.DOUBLE),
    np.int64: ("Int64", TensorProto.INT64), np.int32: ("Int32", TensorProto.INT32),
    np.int8: ("Int8", TensorProto.INT8), np.uint8: ("UInt8", TensorProto.UINT8),
    np.bool_: ("Bool", TensorProto.BOOL), np.float16: (None, TensorProto.FLOAT16),
}
# numpy has several scalar classes per dtype (int64 vs longlong); key by the canonical one.
TYPES = {np.dtype(k).name: v for k, v in TYPES.items()}


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def swift_number(value, dtype):
    if dtype == "bool":
        return "true" if value else "false"
    if dtype in ("float32", "float64"):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return "Float.infinity" if value > 0 else "-Float.infinity"
        return repr(float(value)) if dtype == "float64" else repr(float(np.float32(value)))
    return str(int(value))


def swift_tensor(array):
    array = np.asarray(array)
    shape = "[" + ",".join(str(d) for d in array.shape) + "]"
    if array.dtype == np.float16:
        bits = array.view(np.uint16).flatten()
        return f"float16Tensor(shape: {shape}, bits: [{', '.join(str(int(b)) for b in bits)}])"
    name = TYPES[array.dtype.name][0]
    values = ", ".join(swift_number(v, array.dtype.name) for v in array.flatten())
    return f"try Tensor(shape: {shape}, scalars: [{values}] as [{name}])"


def swift_attribute(value):
    if isinstance(value, bool):
        return f".int({int(value)})"
    if isinstance(value, int):
        return f".int({value})"
    if isinstance(value, float):
        return f".float({repr(value)})"
    if isinstance(value, str):
        return f'.string("{value}")'
    if isinstance(value, np.ndarray):
        return f".tensor({swift_tensor(value)})"
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return f".ints([{', '.join(str(v) for v in value)}])"
    if isinstance(value, list):
        return f".floats([{', '.join(repr(float(v)) for v in value)}])"
    raise TypeError(value)


def run_onnxruntime(op, opset, attributes, inputs, output_count):
    names = [f"input_{i}" if x is not None else "" for i, x in enumerate(inputs)]
    outputs = [f"output_{i}" for i in range(output_count)]
    attributes = {k: numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v for k, v in attributes.items()}
    node = helper.make_node(op, names, outputs, **attributes)
    graph_inputs = [helper.make_tensor_value_info(n, TYPES[x.dtype.name][1], x.shape)
                    for n, x in zip(names, inputs) if x is not None]
    graph_outputs = [onnx.ValueInfoProto(name=n) for n in outputs]
    graph = helper.make_graph([node], op, graph_inputs, graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset < 21 else 10
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {n: x for n, x in zip(names, inputs) if x is not None})


CASES = []


def case(name, op, opset, inputs, attributes=None, outputs=1, expected=None, note=None):
    CASES.append(dict(name=name, op=op, opset=opset, inputs=inputs, attributes=attributes or {},
                      outputs=outputs, expected=expected, note=note))


# MARK: Conv
case("ConvBasicPadsAndBias", "Conv", 11, [rand(1, 2, 5, 5), rand(3, 2, 3, 3), rand(3)], dict(pads=[1, 1, 1, 1]))
case("ConvStridesDilationsAsymmetricPads", "Conv", 11, [rand(1, 1, 6, 7), rand(2, 1, 3, 2)],
     dict(strides=[2, 1], pads=[0, 1, 2, 0], dilations=[1, 2], kernel_shape=[3, 2]))
case("ConvDepthwise", "Conv", 13, [rand(1, 4, 5, 5), rand(4, 1, 3, 3), rand(4)], dict(group=4, strides=[2, 2], pads=[1, 1, 1, 1]))
case("ConvTwoGroupsBatch2", "Conv", 13, [rand(2, 4, 3, 3), rand(6, 2, 1, 1)], dict(group=2))
case("ConvSameUpper", "Conv", 11, [rand(1, 1, 5, 5), rand(1, 1, 4, 4)], dict(auto_pad="SAME_UPPER", strides=[2, 2]))
case("ConvSameLower", "Conv", 11, [rand(1, 1, 5, 5), rand(1, 1, 4, 4)], dict(auto_pad="SAME_LOWER", strides=[2, 2]))
case("ConvValid", "Conv", 11, [rand(1, 2, 6, 5), rand(2, 2, 3, 3)], dict(auto_pad="VALID", strides=[2, 1]))
case("Conv1D", "Conv", 11, [rand(1, 2, 7), rand(3, 2, 3), rand(3)], dict(strides=[2], pads=[1, 0]))
case("ConvTransposeStridesPadsOutputPadding", "ConvTranspose", 11, [rand(1, 2, 3, 3), rand(2, 3, 3, 3), rand(3)],
     dict(strides=[2, 2], pads=[1, 0, 0, 1], output_padding=[1, 0]))
case("ConvTransposeGroupsDilations", "ConvTranspose", 11, [rand(1, 4, 3, 2), rand(4, 1, 2, 2)], dict(group=2, dilations=[2, 1]))
case("ConvTransposeOutputShapeSameUpper", "ConvTranspose", 11, [rand(1, 1, 3, 3), rand(1, 2, 3, 3)],
     dict(strides=[2, 2], output_shape=[6, 7], auto_pad="SAME_UPPER"))
# MARK: Clip and Relu
x = rand(2, 5)
case("ClipOpset6Attributes", "Clip", 6, [x], dict(min=-0.5, max=0.5))
case("ClipOpset11Inputs", "Clip", 11, [x, np.array(-0.25, np.float32), np.array(0.75, np.float32)])
case("ClipOpset13OnlyMaximum", "Clip", 13, [x, None, np.array([0.1], np.float32)])
case("ClipOpset13NoBounds", "Clip", 13, [x])
case("ClipInt64", "Clip", 13, [np.array([-5, -1, 0, 3, 9], np.int64), np.array(-2, np.int64), np.array(4, np.int64)])
case("Relu", "Relu", 14, [x])
# MARK: Arithmetic
case("AddBroadcast", "Add", 14, [rand(2, 3, 4), rand(3, 1)])
case("SubBroadcastBothWays", "Sub", 14, [rand(1, 3), rand(2, 1)])
case("MulBroadcast", "Mul", 14, [rand(2, 1, 4), rand(3, 1)])
case("DivFloat", "Div", 14, [rand(2, 3), rand(3) + 3])
case("DivInt64Truncates", "Div", 14, [np.array([-7, 7, -7, 7, 9], np.int64), np.array([2, -2, -2, 2, 3], np.int64)])
case("AddInt64Scalar", "Add", 14, [np.array([[1, 2], [3, 4]], np.int64), np.array(10, np.int64)])
case("MulInt32", "Mul", 14, [np.array([1, -2, 3], np.int32), np.array([[2], [3]], np.int32)])
a, b = rand(2, 3, 4), rand(3)
case("AddOpset6LegacyBroadcastAxis", "Add", 6, [a, b], dict(broadcast=1, axis=1), expected=[a + b.reshape(3, 1)],
     note="numpy: a + b.reshape(3, 1) (onnxruntime has no Add-6 kernel)")
case("PowBroadcast", "Pow", 15, [np.abs(rand(2, 3)) + 0.5, rand(3)])
case("PowFloatBaseInt64Exponent", "Pow", 15, [rand(4), np.array([2, 3, 0, 1], np.int64)])
# MARK: Pooling and reductions
case("GlobalAveragePool", "GlobalAveragePool", 1, [rand(2, 3, 4, 5)])
case("GlobalMaxPool", "GlobalMaxPool", 1, [rand(1, 2, 3, 3)])
case("MaxPoolStridesPadsCeil", "MaxPool", 12, [rand(1, 2, 5, 6)], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 1], ceil_mode=1))
case("MaxPoolWithIndices", "MaxPool", 12, [rand(2, 2, 4, 4)], dict(kernel_shape=[2, 2], strides=[2, 2]), outputs=2)
case("AveragePoolExcludePad", "AveragePool", 11, [rand(1, 1, 5, 5)], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
case("AveragePoolIncludePad", "AveragePool", 11, [rand(1, 1, 5, 5)], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1))
r = rand(2, 3, 4)
case("ReduceMeanOpset13AxesAttribute", "ReduceMean", 13, [r], dict(axes=[1]))
case("ReduceMeanOpset13NegativeAxisNoKeepdims", "ReduceMean", 13, [r], dict(axes=[-1], keepdims=0))
case("ReduceMeanOpset18AxesInput", "ReduceMean", 18, [r, np.array([-1, 1], np.int64)])
case("ReduceMeanOpset18AllAxes", "ReduceMean", 18, [r], dict(keepdims=0))
case("ReduceMeanOpset18NoopWithEmptyAxes", "ReduceMean", 18, [r], dict(noop_with_empty_axes=1))
case("ReduceSumOpset13AxesInput", "ReduceSum", 13, [r, np.array([0, 2], np.int64)])
case("ReduceMaxOpset13", "ReduceMax", 13, [r], dict(axes=[0], keepdims=0))
# MARK: Matrix products
case("GemmTransBAlphaBetaVectorC", "Gemm", 13, [rand(3, 4), rand(5, 4), rand(5)], dict(transB=1, alpha=0.5, beta=2.0))
case("GemmTransAColumnC", "Gemm", 13, [rand(4, 3), rand(4, 5), rand(3, 1)], dict(transA=1))
case("GemmNoC", "Gemm", 13, [rand(2, 3), rand(3, 2)])
case("MatMul2D", "MatMul", 13, [rand(2, 3), rand(3, 4)])
case("MatMulVectorMatrix", "MatMul", 13, [rand(4), rand(4, 3)])
case("MatMulMatrixVector", "MatMul", 13, [rand(2, 4), rand(4)])
case("MatMulBatchedBroadcast", "MatMul", 13, [rand(2, 1, 3, 4), rand(3, 4, 2)])
# MARK: Shapes
f = rand(2, 3, 4)
case("FlattenAxis0", "Flatten", 13, [f], dict(axis=0))
case("FlattenNegativeAxis", "Flatten", 13, [f], dict(axis=-1))
case("FlattenDefault", "Flatten", 13, [f])
case("ReshapeCopyAndInfer", "Reshape", 14, [f, np.array([0, -1], np.int64)])
case("ReshapeInferMiddle", "Reshape", 14, [f, np.array([4, -1, 2], np.int64)])
case("ReshapeAllowZero", "Reshape", 14, [np.zeros((0, 3, 4), np.float32), np.array([3, 4, 0], np.int64)], dict(allowzero=1))
s = rand(1, 3, 1, 2)
case("SqueezeOpset11Attribute", "Squeeze", 11, [s], dict(axes=[0, -2]))
case("SqueezeOpset13Input", "Squeeze", 13, [s, np.array([2], np.int64)])
case("SqueezeAllOnes", "Squeeze", 13, [s])
case("UnsqueezeOpset11Attribute", "Unsqueeze", 11, [rand(3, 2)], dict(axes=[0, -1]))
case("UnsqueezeOpset13Input", "Unsqueeze", 13, [rand(3, 2), np.array([1, 3], np.int64)])
case("TransposeDefault", "Transpose", 13, [f])
case("TransposePermutation", "Transpose", 13, [f], dict(perm=[1, 0, 2]))
case("ConcatNegativeAxis", "Concat", 13, [rand(2, 1), rand(2, 3), rand(2, 2)], dict(axis=-1))
case("ConcatInt64", "Concat", 13, [np.array([1, 2], np.int64), np.array([3], np.int64)], dict(axis=0))
case("Shape", "Shape", 13, [f])
case("ShapeStart", "Shape", 15, [f], dict(start=1))
case("ShapeNegativeEnd", "Shape", 15, [f], dict(end=-1))
case("GatherNegativeIndices", "Gather", 13, [rand(4, 3), np.array([-1, 0, 2], np.int64)])
case("GatherAxis1MatrixIndices", "Gather", 13, [f, np.array([[2, 0], [1, 1]], np.int64)], dict(axis=1))
case("GatherInt64ScalarIndex", "Gather", 13, [np.array([5, 6, 7], np.int64), np.array(1, np.int64)])
sl = rand(4, 5)
case("SliceStepsAndNegativeAxes", "Slice", 13, [sl, np.array([1, 0], np.int64), np.array([4, 5], np.int64),
                                                np.array([0, -1], np.int64), np.array([2, 2], np.int64)])
case("SliceNegativeStep", "Slice", 13, [sl, np.array([-1], np.int64), np.array([-1000], np.int64),
                                        np.array([1], np.int64), np.array([-2], np.int64)])
case("SliceInt64MaxEnd", "Slice", 13, [sl, np.array([2], np.int64), np.array([2**63 - 1], np.int64), np.array([0], np.int64)])
case("SliceOpset9Attributes", "Slice", 9, [sl], dict(starts=[1, -3], ends=[3, 100], axes=[0, 1]))
case("SliceInt64ShapeVector", "Slice", 13, [np.array([1, 3, 224, 224], np.int64), np.array([2], np.int64), np.array([4], np.int64)])
c = np.array([-2.7, -0.5, 0.0, 0.4, 1.5, 300.2], np.float32)
case("CastFloatToInt64", "Cast", 13, [c], dict(to=TensorProto.INT64))
case("CastFloatToBool", "Cast", 13, [c], dict(to=TensorProto.BOOL))
case("CastFloatToFloat16", "Cast", 13, [np.array([1.0, -2.5, 0.1, 65504.0, 1e-6], np.float32)], dict(to=TensorProto.FLOAT16))
case("CastFloat16ToFloat", "Cast", 13, [np.array([1.0, -2.5, 0.1, 6e-8], np.float16)], dict(to=TensorProto.FLOAT))
case("CastInt64ToFloat", "Cast", 13, [np.array([-3, 0, 7], np.int64)], dict(to=TensorProto.FLOAT))
case("CastBoolToFloat", "Cast", 13, [np.array([True, False], np.bool_)], dict(to=TensorProto.FLOAT))
case("CastDoubleToFloat", "Cast", 13, [np.array([0.1, -1e10], np.float64)], dict(to=TensorProto.FLOAT))
case("CastInt32ToInt8Wraps", "Cast", 13, [np.array([1, 127, 128, -129, 300], np.int32)], dict(to=TensorProto.INT8))
case("CastInt64ToUInt8", "Cast", 13, [np.array([0, 255, 256, -1], np.int64)], dict(to=TensorProto.UINT8))
case("ConstantOfShapeDefault", "ConstantOfShape", 9, [np.array([2, 3], np.int64)])
case("ConstantOfShapeInt64Value", "ConstantOfShape", 20, [np.array([3], np.int64)], dict(value=np.array([5], np.int64)))
case("ConstantValueTensor", "Constant", 13, [], dict(value=rand(2, 2)))
case("ConstantValueFloats", "Constant", 13, [], dict(value_floats=[1.5, -2.0]))
case("ConstantValueInt", "Constant", 13, [], dict(value_int=7))
case("ConstantValueInts", "Constant", 13, [], dict(value_ints=[1, -1, 3]))
case("ConstantValueFloat", "Constant", 13, [], dict(value_float=0.25))
case("Identity", "Identity", 16, [rand(2, 2)])
case("DropoutWithMask", "Dropout", 13, [rand(2, 3)], outputs=2)
case("DropoutOpset10MaskIsFalse", "Dropout", 10, [rand(2, 3)], outputs=2)
# MARK: Normalization
bn = [rand(2, 3, 2, 2), rand(3), rand(3), rand(3), np.abs(rand(3)) + 0.1]
case("BatchNormalizationOpset15", "BatchNormalization", 15, bn, dict(epsilon=1e-3))
case("BatchNormalizationOpset9", "BatchNormalization", 9, bn)
bn_x = bn[0]
bn_s, bn_b, bn_m, bn_v = rand(3, 2, 2), rand(3, 2, 2), rand(3, 2, 2), np.abs(rand(3, 2, 2)) + 0.1
case("BatchNormalizationOpset7NotSpatial", "BatchNormalization", 7, [bn_x, bn_s, bn_b, bn_m, bn_v], dict(spatial=0),
     expected=[((bn_x - bn_m) / np.sqrt(bn_v + 1e-5) * bn_s + bn_b).astype(np.float32)],
     note="numpy: (x - mean) / sqrt(var + 1e-5) * scale + B with [C,H,W] statistics")
p = rand(2, 3)
case("PadConstantOpset11", "Pad", 11, [p, np.array([0, 1, 1, 2], np.int64), np.array(1.5, np.float32)])
case("PadReflect", "Pad", 13, [rand(3, 4), np.array([1, 2, 2, 1], np.int64)], dict(mode="reflect"))
case("PadEdge", "Pad", 13, [p, np.array([2, 1, 0, 2], np.int64)], dict(mode="edge"))
case("PadNegativeCrops", "Pad", 13, [rand(3, 4), np.array([-1, 1, 0, -2], np.int64)])
case("PadOpset18Axes", "Pad", 18, [p, np.array([1, 2], np.int64), np.array(-1.0, np.float32), np.array([-1], np.int64)])
case("PadOpset2Attribute", "Pad", 2, [p], dict(pads=[1, 0, 0, 1], value=3.0),
     expected=[np.pad(p, ((1, 0), (0, 1)), constant_values=3.0)], note="numpy.pad (onnxruntime has no Pad-2 kernel)")
case("PadInt64", "Pad", 13, [np.array([1, 2], np.int64), np.array([1, 1], np.int64)])
sm = rand(2, 3, 4)
case("SoftmaxOpset11Coerces2D", "Softmax", 11, [sm])
case("SoftmaxOpset13DefaultAxis", "Softmax", 13, [sm])
case("SoftmaxOpset13Axis1", "Softmax", 13, [sm], dict(axis=1))
case("LogSoftmaxOpset13", "LogSoftmax", 13, [sm])
case("LogSoftmaxOpset11Axis2", "LogSoftmax", 11, [sm], dict(axis=2))
# MARK: Extras
u = rand(3, 4) * 4
case("Sigmoid", "Sigmoid", 13, [u])
case("HardSigmoid", "HardSigmoid", 6, [u], dict(alpha=0.3, beta=0.4))
case("HardSwish", "HardSwish", 14, [u])
case("Sqrt", "Sqrt", 13, [np.abs(u)])
case("Erf", "Erf", 13, [u])
case("Tanh", "Tanh", 13, [u])
case("LeakyRelu", "LeakyRelu", 16, [u], dict(alpha=0.1))
case("EqualInt64", "Equal", 13, [np.array([1, 2, 3], np.int64), np.array([[1], [3]], np.int64)])
case("LessFloat", "Less", 13, [u, np.array([0.0], np.float32)])
case("Where", "Where", 16, [np.array([[True], [False]]), rand(2, 3), rand(3)])
case("WhereInt64", "Where", 16, [np.array([True, False, True]), np.array([1, 2, 3], np.int64), np.array(-1, np.int64)])
case("Expand", "Expand", 13, [rand(3, 1), np.array([2, 1, 4], np.int64)])
case("ExpandSmallerShape", "Expand", 13, [rand(2, 3), np.array([3], np.int64)])
case("MaxThreeInputs", "Max", 13, [rand(2, 3), rand(3), rand(2, 1)])
case("MinTwoInputs", "Min", 13, [rand(2, 3), rand(3)])
case("SumAndMean", "Mean", 13, [rand(2, 3), rand(3), rand(2, 3)])
case("TileRepeats", "Tile", 13, [rand(2, 3), np.array([2, 1], np.int64)])
case("ModInt64", "Mod", 13, [np.array([-7, 7, -7, 7], np.int64), np.array([3, -3, -3, 3], np.int64)])
case("ModFmod", "Mod", 13, [np.array([-7.5, 7.5], np.float32), np.array([2.0, -2.0], np.float32)], dict(fmod=1))

# MARK: More extras
case("RangeFloat", "Range", 11, [np.array(1.0, np.float32), np.array(2.9, np.float32), np.array(0.5, np.float32)])
case("RangeInt64Negative", "Range", 11, [np.array(10, np.int64), np.array(3, np.int64), np.array(-3, np.int64)])
case("SplitOpset13Input", "Split", 13, [rand(2, 5), np.array([2, 3], np.int64)], dict(axis=1), outputs=2)
case("SplitOpset18NumOutputsUneven", "Split", 18, [rand(5, 2)], dict(num_outputs=3), outputs=3)
case("SplitOpset11Attribute", "Split", 11, [rand(4, 3)], dict(axis=0, split=[1, 3]), outputs=2)
case("ArgMaxNoKeepdims", "ArgMax", 13, [np.array([[1, 5, 5], [7, 2, 7]], np.float32)], dict(axis=1, keepdims=0))
case("ArgMinSelectLastIndex", "ArgMin", 13, [np.array([[1, 0, 0], [7, 2, 2]], np.float32)], dict(axis=-1, select_last_index=1))
case("GatherElementsNegativeIndex", "GatherElements", 13, [rand(3, 3), np.array([[0, -1], [2, 1]], np.int64)], dict(axis=1))
case("CumSumExclusiveReverse", "CumSum", 14, [rand(2, 4), np.array(1, np.int64)], dict(exclusive=1, reverse=1))
case("TriluLowerK1", "Trilu", 14, [rand(2, 3, 4), np.array(1, np.int64)], dict(upper=0))
case("DepthToSpaceCRD", "DepthToSpace", 13, [rand(1, 8, 2, 3)], dict(blocksize=2, mode="CRD"))
case("DepthToSpaceDCR", "DepthToSpace", 13, [rand(1, 8, 2, 3)], dict(blocksize=2))
case("SpaceToDepth", "SpaceToDepth", 13, [rand(1, 2, 4, 6)], dict(blocksize=2))
case("LayerNormalizationAxis1", "LayerNormalization", 17, [rand(2, 3, 4), rand(3, 4), rand(4)], dict(axis=1), outputs=3)
case("InstanceNormalization", "InstanceNormalization", 6, [rand(2, 3, 2, 2), rand(3), rand(3)])
case("PReluChannelSlope", "PRelu", 16, [rand(1, 3, 2, 2), rand(3, 1, 1)])
case("Hardmax", "Hardmax", 13, [np.array([[1, 3, 3], [0, -1, -2]], np.float32)])
bn6 = [rand(1, 2, 2, 2), rand(2), rand(2), rand(2), np.abs(rand(2)) + 0.1]
case("BatchNormalizationOpset6IsTest", "BatchNormalization", 6, bn6, dict(is_test=1, epsilon=1e-3),
     expected=[((bn6[0] - bn6[3].reshape(2, 1, 1)) / np.sqrt(bn6[4].reshape(2, 1, 1) + 1e-3) * bn6[1].reshape(2, 1, 1)
                + bn6[2].reshape(2, 1, 1)).astype(np.float32)],
     note="numpy: per-channel (x - mean) / sqrt(var + eps) * scale + B (onnxruntime has no BatchNormalization-6 kernel)")
r1 = rand(2, 3, 4)
case("ReshapeOpset1Attribute", "Reshape", 1, [r1], dict(shape=[4, 0, -1]), expected=[r1.reshape(4, 3, 2)],
     note="numpy: reshape(4, 3, 2) (Reshape-1: 0 copies dimension 1 = 3)")
c1, c2 = rand(2, 1, 2), rand(2, 2, 2)
case("ConcatOpset1DefaultAxis1", "Concat", 1, [c1, c2], expected=[np.concatenate([c1, c2], axis=1)],
     note="numpy.concatenate(axis=1) (Concat-1 defaults to axis 1)")
case("ClipOpset1Attributes", "Clip", 1, [x], dict(min=-0.1), expected=[np.maximum(x, np.float32(-0.1))],
     note="numpy.maximum(x, -0.1) (Clip-1, max defaults to +inf)")
case("GlobalAveragePool1D", "GlobalAveragePool", 1, [rand(2, 3, 5)])
case("MaxPool1D", "MaxPool", 12, [rand(1, 2, 7)], dict(kernel_shape=[3], strides=[2], pads=[1, 1]))

case("TopKLargestAxis1", "TopK", 11, [np.array([[1, 5, 3, 5], [2, 0, 9, -1]], np.float32), np.array([2], np.int64)], dict(axis=1), outputs=2)
case("TopKSmallestInt64", "TopK", 11, [np.array([4, 1, 3, 1], np.int64), np.array([3], np.int64)], dict(largest=0), outputs=2)
case("ScatterElementsAdd", "ScatterElements", 18, [rand(3, 3), np.array([[1, 0], [2, 2]], np.int64), rand(2, 2)], dict(axis=1, reduction="add"))
case("ScatterNDSlices", "ScatterND", 13, [rand(4, 2), np.array([[3], [0]], np.int64), rand(2, 2)])
case("NonZero", "NonZero", 13, [np.array([[1, 0, 2], [0, 0, 3]], np.float32)])
case("OneHotAxis0", "OneHot", 11, [np.array([0, -1, 2], np.int64), np.array(4, np.int64), np.array([0, 5], np.float32)], dict(axis=0))
case("CompressAxis1", "Compress", 11, [rand(2, 3), np.array([True, False, True])], dict(axis=1))
case("IsNaN", "IsNaN", 13, [np.array([1, np.nan, np.inf], np.float32)])
case("IsInfPositiveOnly", "IsInf", 20, [np.array([1, -np.inf, np.inf, np.nan], np.float32)], dict(detect_negative=0))

rz = rand(1, 2, 3, 4)
case("ResizeNearestUpsampleScales", "Resize", 13, [rz, None, np.array([1, 1, 2, 1.5], np.float32)], dict(mode="nearest"))
case("ResizeLinearHalfPixelSizes", "Resize", 13, [rz, None, None, np.array([1, 2, 5, 3], np.int64)], dict(mode="linear"))
case("ResizeCubicAlignCorners", "Resize", 13, [rz, None, np.array([1, 1, 2, 2], np.float32)],
     dict(mode="cubic", coordinate_transformation_mode="align_corners"))
case("ResizeNearestAsymmetricFloor", "Resize", 13, [rz, None, np.array([1, 1, 0.7, 1.6], np.float32)],
     dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
case("ResizeLinearAxesPytorchHalfPixel", "Resize", 18, [rz, None, None, np.array([6, 2], np.int64)],
     dict(mode="linear", axes=[2, 3], coordinate_transformation_mode="pytorch_half_pixel"))

q = rand(2, 3, 2) * 3
case("QuantizeLinearUInt8", "QuantizeLinear", 13, [q, np.array(0.05, np.float32), np.array(128, np.uint8)])
case("QuantizeLinearPerAxisInt8", "QuantizeLinear", 13, [q, np.array([0.02, 0.05, 0.1], np.float32), np.array([0, -3, 5], np.int8)])
case("QuantizeLinearBlocked", "QuantizeLinear", 21, [rand(2, 4) * 3, np.array([[0.05, 0.1], [0.02, 0.2]], np.float32),
                                                   np.array([[1, 2], [3, 4]], np.int8)], dict(axis=1, block_size=2))
case("DequantizeLinearPerAxis", "DequantizeLinear", 13, [np.array([[0, 255, 7], [128, 1, 9]], np.uint8),
                                                        np.array([0.1, 0.25, 2.0], np.float32), np.array([3, 128, 0], np.uint8)])
case("DequantizeLinearInt32", "DequantizeLinear", 13, [np.array([-1000, 0, 123456], np.int32), np.array(0.001, np.float32)])

case("LpPoolP3", "LpPool", 18, [rand(1, 1, 4, 4)], dict(kernel_shape=[2, 2], strides=[2, 2], p=3))
case("GlobalLpPool", "GlobalLpPool", 2, [rand(1, 2, 3, 3)])
case("RMSNormalization", "RMSNormalization", 23, [rand(2, 3, 4), rand(4)])
case("MeanVarianceNormalization", "MeanVarianceNormalization", 13, [rand(2, 3, 2, 2)])
case("BitwiseAndBroadcast", "BitwiseAnd", 18, [np.array([[12, 7], [255, 0]], np.int32), np.array([10, 3], np.int32)])
case("BitShiftRight", "BitShift", 11, [np.array([16, 255, 1], np.uint8), np.array([2, 4, 0], np.uint8)], dict(direction="RIGHT"))
case("Shrink", "Shrink", 9, [u], dict(lambd=1.0, bias=0.5))
case("EyeLikeOffDiagonal", "EyeLike", 22, [np.zeros((3, 4), np.float32)], dict(k=1, dtype=TensorProto.INT64))

case("NegativeLogLikelihoodLossWeightedIgnore", "NegativeLogLikelihoodLoss", 13,
     [rand(3, 4, 2), np.array([[0, 3], [1, 1], [2, 0]], np.int64), np.abs(rand(4))], dict(ignore_index=1))
case("SoftmaxCrossEntropyLossNoReductionLogProb", "SoftmaxCrossEntropyLoss", 13,
     [rand(3, 5), np.array([4, 0, 2], np.int64)], dict(reduction="none"), outputs=2)

qx = rng.integers(0, 256, (1, 2, 4, 4)).astype(np.uint8)
qw = rng.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
case("QLinearConvPerChannelBiasPads", "QLinearConv", 10,
     [qx, np.array(0.02, np.float32), np.array(120, np.uint8), qw, np.array([0.01, 0.02, 0.005], np.float32),
      np.array([0, 0, 0], np.int8), np.array(0.05, np.float32), np.array(100, np.uint8), np.array([50, -20, 7], np.int32)],
     dict(pads=[1, 1, 1, 1], strides=[2, 1]))
case("ConvIntegerZeroPoint", "ConvInteger", 10, [qx, rng.integers(0, 256, (2, 2, 2, 2)).astype(np.uint8), np.array(7, np.uint8)])
qa = rng.integers(0, 256, (2, 3, 4)).astype(np.uint8)
qb = rng.integers(0, 256, (4, 5)).astype(np.uint8)
case("MatMulIntegerZeroPoints", "MatMulInteger", 10, [qa[0], qb, np.array(200, np.uint8), np.array(9, np.uint8)])
case("QLinearMatMulBatched", "QLinearMatMul", 10,
     [qa, np.array(0.03, np.float32), np.array(11, np.uint8), qb, np.array(0.02, np.float32), np.array(130, np.uint8),
      np.array(0.4, np.float32), np.array(128, np.uint8)])
case("DynamicQuantizeLinear", "DynamicQuantizeLinear", 11, [rand(3, 4) * 2], outputs=3)


def generate():
    lines = [
        "// Operator tests against onnxruntime: generated by tools/operator_reference_tests.py (onnxruntime "
        + onnxruntime.__version__ + ", numpy where noted). Do not edit; change the script and rerun it.",
        "",
        "import XCTest",
        "@testable import ONNXRun",
        "",
        "final class OperatorReferenceTests: XCTestCase {",
    ]
    for c in CASES:
        try:
            expected = c["expected"] or run_onnxruntime(c["op"], c["opset"], c["attributes"], c["inputs"], c["outputs"])
        except Exception as error:
            raise SystemExit(f"case {c['name']}: {error}")
        lines.append(f"    func test{c['name']}() throws {{")
        lines.append(f"        // {c['note'] or 'onnxruntime'}: {c['op']} opset {c['opset']}"
                     + (f" {c['attributes']}" if c["attributes"] and not any(isinstance(v, np.ndarray) for v in c["attributes"].values()) else ""))
        attributes = ", ".join(f'"{k}": {swift_attribute(v)}' for k, v in c["attributes"].items()) or ":"
        inputs = ",\n            ".join("nil" if x is None else swift_tensor(x) for x in c["inputs"])
        lines.append(f"        let outputs = try runOperator(\"{c['op']}\", opset: {c['opset']}, attributes: [{attributes}],")
        lines.append(f"            outputCount: {c['outputs']}, inputs: [")
        if inputs:
            lines.append(f"            {inputs}")
        lines.append("        ])")
        lines.append(f"        XCTAssertEqual(outputs.count, {len(expected)})")
        for i, e in enumerate(expected):
            lines.append(f"        try assertTensor(outputs[{i}], equals: {swift_tensor(np.asarray(e))})")
        lines.append("    }")
        lines.append("")
    lines[-1] = "}"
    OUTPUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(CASES)} cases to {OUTPUT}")


if __name__ == "__main__":
    generate()
