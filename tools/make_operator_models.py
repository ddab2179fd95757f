#!/usr/bin/env python3
"""Generates models/operators/<case>/: tiny ONNX models, one operator form each, with onnxruntime's outputs.

Every case is a one- or few-node model with small seeded random inputs, laid out like the ONNX backend tests:
`<case>/model.onnx`, `<case>/test_data_set_0/input_<i>.pb`, `output_<i>.pb` (TensorProto, `name` = the graph
input/output name). The outputs are what onnxruntime computes for those inputs, so the Swift tests compare against
an independent implementation without needing Python.

Run:  /work/venv/bin/python tools/make_operator_models.py [--output models/operators] [--only SUBSTRING]
The output folder's case folders are deleted and rewritten (README.md is kept), so a rerun is reproducible.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min
PRODUCER = "onnxrun tools/make_operator_models.py"


# MARK: - Case description


@dataclass
class Case:
    """One model: its nodes, fed inputs (in graph input order), initializers and the opset it is about."""

    name: str
    opset: int
    nodes: list[onnx.NodeProto]
    inputs: dict[str, np.ndarray]
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    outputs: list[str] | None = None  # default: the last node's outputs
    description: str = ""
    expected: list[np.ndarray] | None = None  # default: what onnxruntime computes


CASES: list[Case] = []


def add(name: str, opset: int, nodes, inputs, initializers=None, outputs=None, description: str = "",
        expected=None) -> None:
    if any(existing.name == name for existing in CASES):
        raise ValueError(f"duplicate case name {name}")
    if not isinstance(nodes, list):
        nodes = [nodes]
    CASES.append(Case(name, opset, nodes, dict(inputs), dict(initializers or {}), outputs, description, expected))


def node(op_type: str, inputs: list[str], outputs: list[str], **attributes) -> onnx.NodeProto:
    return helper.make_node(op_type, inputs, outputs, name=f"{op_type.lower()}_{outputs[0]}", **attributes)


class Random:
    """Seeded per case (from its name), so adding a case does not change the data of the others."""

    def __init__(self, name: str):
        self.generator = np.random.default_rng(zlib.crc32(name.encode()))

    def normal(self, *shape) -> np.ndarray:
        return np.asarray(self.generator.standard_normal(shape), dtype=np.float32)

    def uniform(self, low: float, high: float, *shape) -> np.ndarray:
        return np.asarray(self.generator.uniform(low, high, shape), dtype=np.float32)

    def away_from_zero(self, *shape) -> np.ndarray:
        """Divisors: magnitude 0.5...2 with a random sign."""
        magnitude = self.generator.uniform(0.5, 2.0, shape)
        sign = np.where(self.generator.random(shape) < 0.5, -1.0, 1.0)
        return np.asarray(magnitude * sign, dtype=np.float32)

    def integers(self, low: int, high: int, *shape, dtype=np.int64) -> np.ndarray:
        return np.asarray(self.generator.integers(low, high, shape), dtype=dtype)


def f32(value) -> np.ndarray:
    return np.array(value, dtype=np.float32)


def i64(value) -> np.ndarray:
    return np.array(value, dtype=np.int64)


# MARK: - Conv


def conv_cases() -> None:
    def conv(name, x_shape, w_shape, bias=True, opset=11, description="", **attributes):
        r = Random(name)
        initializers = {"W": r.normal(*w_shape) * 0.5}
        inputs = ["X", "W"]
        if bias:
            initializers["B"] = r.normal(w_shape[0])
            inputs.append("B")
        add(name, opset, node("Conv", inputs, ["Y"], **attributes), {"X": r.normal(*x_shape)}, initializers,
            description=description)

    conv("conv_3x3_group1_bias_pads1", [1, 3, 8, 10], [6, 3, 3, 3], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    conv("conv_3x3_group1_no_bias_pads1", [1, 3, 8, 10], [6, 3, 3, 3], bias=False, kernel_shape=[3, 3],
         pads=[1, 1, 1, 1])
    conv("conv_3x3_group1_no_pads_attribute", [1, 3, 7, 6], [4, 3, 3, 3], description="no pads, no kernel_shape")
    conv("conv_1x1_pointwise_bias", [1, 8, 5, 6], [12, 8, 1, 1], kernel_shape=[1, 1])
    conv("conv_1x1_pointwise_no_bias_batch2", [2, 8, 5, 6], [4, 8, 1, 1], bias=False)
    conv("conv_1x1_stride2", [1, 4, 7, 8], [6, 4, 1, 1], strides=[2, 2])
    conv("conv_5x5_pads2", [1, 3, 9, 9], [4, 3, 5, 5], kernel_shape=[5, 5], pads=[2, 2, 2, 2])
    conv("conv_7x7_stride2_pads3", [1, 3, 15, 17], [8, 3, 7, 7], kernel_shape=[7, 7], strides=[2, 2],
         pads=[3, 3, 3, 3])
    conv("conv_3x3_stride2_pads1_stem", [1, 3, 16, 16], [8, 3, 3, 3], kernel_shape=[3, 3], strides=[2, 2],
         pads=[1, 1, 1, 1], description="MobileNetV2's first layer, shrunk")
    conv("conv_3x3_strides_2x1", [1, 2, 9, 8], [3, 2, 3, 3], strides=[2, 1], pads=[1, 1, 1, 1])
    conv("conv_3x3_dilations2_pads2", [1, 2, 9, 10], [3, 2, 3, 3], dilations=[2, 2], pads=[2, 2, 2, 2])
    conv("conv_3x3_dilations_2x3_stride2", [1, 2, 12, 13], [3, 2, 3, 3], dilations=[2, 3], strides=[2, 2])
    conv("conv_3x3_pads_asymmetric", [1, 3, 8, 8], [4, 3, 3, 3], pads=[0, 1, 2, 1],
         description="pads = [top, left, bottom, right]")
    conv("conv_3x5_kernel_non_square_input", [1, 2, 6, 11], [3, 2, 3, 5], pads=[1, 2, 1, 2])
    conv("conv_3x3_non_square_input_stride2", [1, 3, 7, 12], [5, 3, 3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    conv("conv_kernel_larger_than_padded_input_edge", [1, 1, 3, 3], [2, 1, 3, 3], pads=[1, 1, 1, 1],
         strides=[2, 2], description="3x3 input, stride 2: output 2x2")
    conv("conv_opset1", [1, 2, 5, 5], [3, 2, 3, 3], opset=1, pads=[1, 1, 1, 1])

    # Depthwise: group = C.
    conv("conv_depthwise_3x3_pads1", [1, 8, 7, 9], [8, 1, 3, 3], group=8, pads=[1, 1, 1, 1])
    conv("conv_depthwise_3x3_stride2_pads1", [1, 8, 9, 9], [8, 1, 3, 3], group=8, strides=[2, 2],
         pads=[1, 1, 1, 1])
    conv("conv_depthwise_stride2_pads_asymmetric", [1, 6, 10, 10], [6, 1, 3, 3], group=6, strides=[2, 2],
         pads=[0, 0, 1, 1], description="TF 'SAME' padding folded into the Conv")
    conv("conv_depthwise_5x5_stride2_pads_asymmetric", [1, 4, 12, 11], [4, 1, 5, 5], group=4, strides=[2, 2],
         pads=[1, 1, 2, 2])
    conv("conv_depthwise_5x5_pads2_no_bias", [1, 4, 7, 7], [4, 1, 5, 5], bias=False, group=4, pads=[2, 2, 2, 2])
    conv("conv_depthwise_channel_multiplier2", [1, 3, 6, 6], [6, 1, 3, 3], group=3, pads=[1, 1, 1, 1],
         description="group = C, M = 2C")
    conv("conv_depthwise_7x7_dilations2", [1, 4, 16, 16], [4, 1, 7, 7], group=4, dilations=[2, 2],
         pads=[6, 6, 6, 6])
    # Grouped.
    conv("conv_grouped_group2", [1, 4, 6, 7], [6, 2, 3, 3], group=2, pads=[1, 1, 1, 1])
    conv("conv_grouped_group4_stride2", [1, 8, 9, 8], [8, 2, 3, 3], group=4, strides=[2, 2], pads=[1, 1, 1, 1])
    conv("conv_grouped_group4_1x1_no_bias", [1, 8, 5, 5], [12, 2, 1, 1], bias=False, group=4)
    # auto_pad.
    conv("conv_auto_pad_notset_explicit", [1, 2, 7, 7], [3, 2, 3, 3], auto_pad="NOTSET", pads=[1, 1, 1, 1])
    conv("conv_auto_pad_valid", [1, 2, 7, 8], [3, 2, 3, 3], auto_pad="VALID")
    conv("conv_auto_pad_valid_stride2", [1, 2, 8, 9], [3, 2, 3, 3], auto_pad="VALID", strides=[2, 2])
    conv("conv_auto_pad_same_upper", [1, 2, 7, 8], [3, 2, 3, 3], auto_pad="SAME_UPPER")
    conv("conv_auto_pad_same_upper_stride2", [1, 2, 8, 9], [3, 2, 3, 3], auto_pad="SAME_UPPER", strides=[2, 2],
         description="odd total padding: the extra row/column goes at the end")
    conv("conv_auto_pad_same_lower_stride2", [1, 2, 8, 9], [3, 2, 3, 3], auto_pad="SAME_LOWER", strides=[2, 2],
         description="odd total padding: the extra row/column goes at the beginning")
    conv("conv_auto_pad_same_upper_kernel4", [1, 2, 6, 6], [3, 2, 4, 4], auto_pad="SAME_UPPER")
    conv("conv_auto_pad_same_lower_kernel4", [1, 2, 6, 6], [3, 2, 4, 4], auto_pad="SAME_LOWER")
    conv("conv_depthwise_auto_pad_same_upper_5x5_stride2", [1, 4, 11, 10], [4, 1, 5, 5], group=4,
         auto_pad="SAME_UPPER", strides=[2, 2])


# MARK: - Clip and Relu


def clip_cases() -> None:
    r = Random("clip")

    def x(name):
        return {"X": Random(name).normal(2, 3, 4, 5) * 2}

    for name, attributes in [("clip_opset6_min_max", dict(min=-0.5, max=0.7)),
                             ("clip_opset6_relu6", dict(min=0.0, max=6.0)),
                             ("clip_opset6_min_only", dict(min=-0.25)),
                             ("clip_opset6_max_only", dict(max=0.5)),
                             ("clip_opset6_no_attributes", dict())]:
        add(name, 6, node("Clip", ["X"], ["Y"], **attributes), x(name))

    for opset in (11, 13):
        prefix = f"clip_opset{opset}"
        name = f"{prefix}_min_max_initializers_0d"
        add(name, opset, node("Clip", ["X", "min", "max"], ["Y"]), x(name),
            {"min": f32(-0.5), "max": f32(0.7)})
        name = f"{prefix}_min_max_constant_nodes"
        add(name, opset,
            [node("Constant", [], ["min"], value=numpy_helper.from_array(f32(0.0), "min_value")),
             node("Constant", [], ["max"], value=numpy_helper.from_array(f32(6.0), "max_value")),
             node("Clip", ["X", "min", "max"], ["Y"])], x(name),
            description="relu6 as torch exports it: bounds from Constant nodes")
        name = f"{prefix}_min_only"
        add(name, opset, node("Clip", ["X", "min"], ["Y"]), x(name), {"min": f32(-0.3)})
        name = f"{prefix}_max_only"
        add(name, opset, node("Clip", ["X", "", "max"], ["Y"]), x(name), {"max": f32(0.4)},
            description="min is the empty name: absent")
        name = f"{prefix}_none"
        add(name, opset, node("Clip", ["X"], ["Y"]), x(name))
        name = f"{prefix}_min_max_graph_inputs"
        add(name, opset, node("Clip", ["X", "min", "max"], ["Y"]), {**x(name), "min": f32(-1.0), "max": f32(0.25)},
            description="bounds fed at run time")
    for opset in (11, 13):
        name = f"clip_opset{opset}_min_max_1_element"
        add(name, opset, node("Clip", ["X", "min", "max"], ["Y"]), x(name), {"min": f32([-0.5]), "max": f32([0.5])},
            description="bounds of shape [1] rather than 0-d")
    name = "clip_opset13_min_greater_than_max"
    add(name, 13, node("Clip", ["X", "min", "max"], ["Y"]), x(name), {"min": f32(1.0), "max": f32(-1.0)},
        description="min > max: every element becomes max")
    name = "clip_opset13_int64"
    add(name, 13, node("Clip", ["X", "min", "max"], ["Y"]), {"X": r.integers(-10, 10, 3, 4)},
        {"min": i64(-3), "max": i64(5)})
    name = "clip_opset12_min_max_constant_nodes"
    add(name, 12,
        [node("Constant", [], ["min"], value=numpy_helper.from_array(f32(0.0), "min_value")),
         node("Constant", [], ["max"], value=numpy_helper.from_array(f32(6.0), "max_value")),
         node("Clip", ["X", "min", "max"], ["Y"])], x(name))

    add("relu", 14, node("Relu", ["X"], ["Y"]), x("relu"))
    add("relu_opset6", 6, node("Relu", ["X"], ["Y"]), x("relu_opset6"))


# MARK: - Elementwise binary operators with broadcasting


def binary_cases() -> None:
    shapes = [
        ("same_shape", [2, 3, 4, 5], [2, 3, 4, 5]),
        ("nchw_and_c11", [2, 3, 4, 5], [3, 1, 1]),
        ("scalar_0d", [2, 3, 4, 5], []),
        ("one_element", [2, 3, 4, 5], [1]),
        ("rank_mismatch_lower_rank_first", [4, 5], [2, 3, 4, 5]),
        ("rank_mismatch_lower_rank_second", [2, 3, 4, 5], [5]),
        ("both_broadcast", [2, 1, 4, 1], [3, 1, 5]),
        ("scalar_first", [], [3, 4]),
    ]
    for op in ("Add", "Sub", "Mul", "Div"):
        for suffix, a_shape, b_shape in shapes:
            name = f"{op.lower()}_{suffix}"
            r = Random(name)
            b = r.away_from_zero(*b_shape) if op == "Div" else r.normal(*b_shape)
            add(name, 14, node(op, ["A", "B"], ["C"]), {"A": r.normal(*a_shape), "B": b})
        name = f"{op.lower()}_nchw_and_c11_initializer"
        r = Random(name)
        add(name, 13, node(op, ["A", "B"], ["C"]), {"A": r.normal(1, 4, 3, 3)}, {"B": r.away_from_zero(4, 1, 1)},
            description="per-channel constant, as exported normalisation layers do")
        name = f"{op.lower()}_int64_broadcast"
        r = Random(name)
        b = r.integers(1, 6, 3) * np.where(r.integers(0, 2, 3) == 0, -1, 1) if op == "Div" else r.integers(-9, 9, 3)
        add(name, 14, node(op, ["A", "B"], ["C"]), {"A": r.integers(-20, 20, 2, 3), "B": b.astype(np.int64)},
            description="Div truncates toward zero" if op == "Div" else "")
        name = f"{op.lower()}_opset7"
        r = Random(name)
        add(name, 7, node(op, ["A", "B"], ["C"]), {"A": r.normal(2, 3), "B": r.away_from_zero(3)})


# MARK: - Pooling and reductions


def pooling_cases() -> None:
    for name, shape in [("globalaveragepool", [1, 4, 5, 7]), ("globalaveragepool_batch2_1x1", [2, 3, 1, 1]),
                        ("globalaveragepool_large_channels", [1, 32, 3, 3])]:
        add(name, 1, node("GlobalAveragePool", ["X"], ["Y"]), {"X": Random(name).normal(*shape)})

    x_shape = [2, 3, 4, 5]
    for suffix, attributes in [("axes_2_3_keepdims1", dict(axes=[2, 3], keepdims=1)),
                               ("axes_negative_keepdims0", dict(axes=[-1, -2], keepdims=0)),
                               ("axes_1_keepdims0", dict(axes=[1], keepdims=0)),
                               ("no_axes_keepdims1", dict(keepdims=1)),
                               ("no_axes_default_keepdims", dict())]:
        name = f"reducemean_opset13_{suffix}"
        add(name, 13, node("ReduceMean", ["X"], ["Y"], **attributes), {"X": Random(name).normal(*x_shape)})
    for suffix, axes, attributes in [("axes_2_3_keepdims1", i64([2, 3]), dict(keepdims=1)),
                                     ("axes_negative_keepdims0", i64([-1, -2]), dict(keepdims=0)),
                                     ("axes_empty_noop", i64([]), dict(noop_with_empty_axes=1)),
                                     ("axes_empty_reduce_all", i64([]), dict(noop_with_empty_axes=0)),
                                     ("axes_absent_keepdims0", None, dict(keepdims=0)),
                                     ("axes_absent_noop", None, dict(noop_with_empty_axes=1))]:
        name = f"reducemean_opset18_{suffix}"
        inputs = ["X"] if axes is None else ["X", "axes"]
        add(name, 18, node("ReduceMean", inputs, ["Y"], **attributes), {"X": Random(name).normal(*x_shape)},
            {} if axes is None else {"axes": axes})

    pools = [
        ("maxpool_2x2_stride2", "MaxPool", [1, 3, 6, 8], dict(kernel_shape=[2, 2], strides=[2, 2])),
        ("maxpool_3x3_stride2_pads1", "MaxPool", [1, 3, 7, 9],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        ("maxpool_3x3_stride2_ceil_mode", "MaxPool", [1, 2, 8, 8],
         dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
        ("maxpool_2x2_dilations2", "MaxPool", [1, 2, 7, 7], dict(kernel_shape=[2, 2], dilations=[2, 2])),
        ("maxpool_3x3_auto_pad_same_upper", "MaxPool", [1, 2, 7, 8],
         dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
        ("averagepool_2x2_stride2", "AveragePool", [1, 3, 6, 8], dict(kernel_shape=[2, 2], strides=[2, 2])),
        ("averagepool_3x3_pads1_exclude_pad", "AveragePool", [1, 2, 5, 6],
         dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0)),
        ("averagepool_3x3_pads1_include_pad", "AveragePool", [1, 2, 5, 6],
         dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)),
        ("averagepool_3x3_stride2_ceil_mode", "AveragePool", [1, 2, 8, 8],
         dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
        ("averagepool_7x7_global_like", "AveragePool", [1, 4, 7, 7], dict(kernel_shape=[7, 7])),
    ]
    for name, op, shape, attributes in pools:
        add(name, 19 if op == "AveragePool" else 12, node(op, ["X"], ["Y"], **attributes),
            {"X": Random(name).normal(*shape)})
    name = "maxpool_opset8_2x2_stride2"
    add(name, 8, node("MaxPool", ["X"], ["Y"], kernel_shape=[2, 2], strides=[2, 2]),
        {"X": Random(name).normal(1, 2, 6, 6)})
    name = "averagepool_opset11_3x3_stride2_pads1"
    add(name, 11, node("AveragePool", ["X"], ["Y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        {"X": Random(name).normal(1, 2, 7, 7)})


# MARK: - Gemm and MatMul


def matrix_cases() -> None:
    def gemm(name, c_shape, opset=13, a_shape=(3, 4), b_shape=(4, 5), description="", **attributes):
        r = Random(name)
        initializers = {"B": r.normal(*b_shape)}
        inputs = ["A", "B"]
        if c_shape is not None:
            initializers["C"] = r.normal(*c_shape)
            inputs.append("C")
        add(name, opset, node("Gemm", inputs, ["Y"], **attributes), {"A": r.normal(*a_shape)}, initializers,
            description=description)

    gemm("gemm_no_c", None)
    gemm("gemm_transB_c_vector_n", [5], b_shape=(5, 4), transB=1, description="a classifier layer")
    gemm("gemm_c_1xn", [1, 5])
    gemm("gemm_c_mxn", [3, 5])
    gemm("gemm_c_mx1", [3, 1])
    gemm("gemm_c_scalar_0d", [])
    gemm("gemm_c_one_element", [1])
    gemm("gemm_alpha_beta", [5], alpha=0.5, beta=2.0)
    gemm("gemm_transA", [3, 5], a_shape=(4, 3), transA=1)
    gemm("gemm_transA_transB_alpha_beta_c_mxn", [3, 5], a_shape=(4, 3), b_shape=(5, 4), transA=1, transB=1,
         alpha=-1.5, beta=0.25)
    gemm("gemm_beta0_c_ignored", [5], beta=0.0)
    gemm("gemm_opset9_c_vector_transB", [5], opset=9, b_shape=(5, 4), transB=1)
    gemm("gemm_opset11_no_c", None, opset=11)

    for name, a_shape, b_shape in [("matmul_2d", [3, 4], [4, 5]),
                                   ("matmul_3d_batched", [2, 3, 4], [2, 4, 5]),
                                   ("matmul_3d_by_2d", [2, 3, 4], [4, 5]),
                                   ("matmul_1d_by_2d", [4], [4, 5]),
                                   ("matmul_2d_by_1d", [3, 4], [4]),
                                   ("matmul_1d_by_1d", [4], [4]),
                                   ("matmul_4d_broadcast_batch", [2, 1, 3, 4], [3, 4, 5])]:
        r = Random(name)
        add(name, 13, node("MatMul", ["A", "B"], ["Y"]), {"A": r.normal(*a_shape), "B": r.normal(*b_shape)})
    name = "matmul_2d_weights_initializer"
    r = Random(name)
    add(name, 13, node("MatMul", ["A", "B"], ["Y"]), {"A": r.normal(2, 6)}, {"B": r.normal(6, 3)})


# MARK: - Shape manipulation


def shape_cases() -> None:
    x_shape = [2, 3, 4, 5]
    for opset in (11, 13):
        for axis, suffix in [(0, "0"), (1, "1"), (2, "2"), (-1, "negative1"), (-3, "negative3")]:
            name = f"flatten_opset{opset}_axis{suffix}"
            add(name, opset, node("Flatten", ["X"], ["Y"], axis=axis), {"X": Random(name).normal(*x_shape)})
    name = "flatten_default_axis"
    add(name, 13, node("Flatten", ["X"], ["Y"]), {"X": Random(name).normal(*x_shape)})
    name = "flatten_4d_after_pool"
    add(name, 13, node("Flatten", ["X"], ["Y"], axis=1), {"X": Random(name).normal(2, 8, 1, 1)})

    for suffix, shape, opset, attributes in [("zero_copies_minus1_infers", [0, -1], 13, {}),
                                             ("minus1_only", [-1], 13, {}),
                                             ("zero_in_middle", [2, 0, -1], 13, {}),
                                             ("explicit", [6, 20], 5, {}),
                                             ("allowzero0_copies", [0, 3, 20], 14, dict(allowzero=0)),
                                             ("allowzero1_no_zeros", [4, -1, 5], 14, dict(allowzero=1))]:
        name = f"reshape_{suffix}" if opset == 13 else f"reshape_opset{opset}_{suffix}"
        add(name, opset, node("Reshape", ["X", "shape"], ["Y"], **attributes), {"X": Random(name).normal(*x_shape)},
            {"shape": i64(shape)})
    name = "reshape_opset14_allowzero1_empty_tensor"
    add(name, 14, node("Reshape", ["X", "shape"], ["Y"], allowzero=1), {"X": np.zeros([0, 3], np.float32)},
        {"shape": i64([3, 0])}, description="allowzero=1: 0 is a real dimension of size 0")
    name = "reshape_shape_from_graph_input"
    add(name, 13, node("Reshape", ["X", "shape"], ["Y"]), {"X": Random(name).normal(*x_shape), "shape": i64([3, -1, 2])},
        description="shape known only at run time")

    # Squeeze / Unsqueeze.
    sq_shape = [1, 3, 1, 4]
    for suffix, axes in [("axes_0", [0]), ("axes_negative", [-2]), ("axes_0_2", [0, 2]), ("no_axes", None)]:
        name = f"squeeze_opset11_{suffix}"
        attributes = {} if axes is None else dict(axes=axes)
        add(name, 11, node("Squeeze", ["X"], ["Y"], **attributes), {"X": Random(name).normal(*sq_shape)})
        name = f"squeeze_opset13_{suffix}"
        inputs = ["X"] if axes is None else ["X", "axes"]
        add(name, 13, node("Squeeze", inputs, ["Y"]), {"X": Random(name).normal(*sq_shape)},
            {} if axes is None else {"axes": i64(axes)})
    for suffix, axes in [("axes_0", [0]), ("axes_0_3", [0, 3]), ("axes_negative", [-1]), ("axes_unsorted", [3, 0])]:
        name = f"unsqueeze_opset11_{suffix}"
        add(name, 11, node("Unsqueeze", ["X"], ["Y"], axes=axes), {"X": Random(name).normal(3, 4)})
        name = f"unsqueeze_opset13_{suffix}"
        add(name, 13, node("Unsqueeze", ["X", "axes"], ["Y"]), {"X": Random(name).normal(3, 4)}, {"axes": i64(axes)})
    name = "unsqueeze_opset13_scalar"
    add(name, 13, node("Unsqueeze", ["X", "axes"], ["Y"]), {"X": f32(2.5)}, {"axes": i64([0])})

    # Transpose.
    for suffix, attributes in [("perm_nhwc", dict(perm=[0, 2, 3, 1])), ("perm_nchw", dict(perm=[0, 3, 1, 2])),
                               ("default_reverses", dict()), ("perm_identity", dict(perm=[0, 1, 2, 3]))]:
        name = f"transpose_{suffix}"
        add(name, 13, node("Transpose", ["X"], ["Y"], **attributes), {"X": Random(name).normal(*x_shape)})
    name = "transpose_2d"
    add(name, 1, node("Transpose", ["X"], ["Y"], perm=[1, 0]), {"X": Random(name).normal(3, 7)})

    # Concat.
    for suffix, axis in [("axis1", 1), ("axis_negative1", -1), ("axis0", 0), ("axis_negative3", -3)]:
        name = f"concat_{suffix}"
        r = Random(name)
        shapes = [[2, 3, 4, 5] for _ in range(3)]
        for shape, size in zip(shapes, (1, 2, 3)):
            shape[axis] = size
        add(name, 13, node("Concat", ["A", "B", "C"], ["Y"], axis=axis),
            {"A": r.normal(*shapes[0]), "B": r.normal(*shapes[1]), "C": r.normal(*shapes[2])})
    name = "concat_int64_1d"
    add(name, 11, node("Concat", ["A", "B"], ["Y"], axis=0), {"A": i64([1, 2]), "B": i64([-1])})

    # Shape.
    name = "shape_opset13"
    add(name, 13, node("Shape", ["X"], ["Y"]), {"X": Random(name).normal(*x_shape)})
    for suffix, attributes in [("start1_end_negative1", dict(start=1, end=-1)), ("start_negative2", dict(start=-2)),
                               ("end2", dict(end=2)), ("start_end_clamped", dict(start=-10, end=10)),
                               ("start_after_end_empty", dict(start=3, end=1))]:
        name = f"shape_opset15_{suffix}"
        add(name, 15, node("Shape", ["X"], ["Y"], **attributes), {"X": Random(name).normal(*x_shape)})

    # Gather.
    for suffix, data, indices, axis in [
        ("axis0", [5, 4], i64([0, 3, 1]), 0),
        ("axis1", [3, 5], i64([[4, 0], [1, 1]]), 1),
        ("negative_indices", [5, 4], i64([-1, -5, 2]), 0),
        ("scalar_index_axis0", [5, 4], i64(2), 0),
        ("scalar_index_axis1_4d", [2, 3, 4, 5], i64(-1), 1),
        ("axis_negative1", [3, 5], i64([1, 4]), -1),
        ("int32_indices", [5, 4], np.array([4, 0], np.int32), 0),
    ]:
        name = f"gather_{suffix}"
        add(name, 13, node("Gather", ["data", "indices"], ["Y"], axis=axis), {"data": Random(name).normal(*data)},
            {"indices": indices})
    name = "gather_int64_data"
    add(name, 13, node("Gather", ["data", "indices"], ["Y"], axis=0), {"data": i64([2, 3, 224, 224])},
        {"indices": i64(0)}, description="picking the batch dimension out of a Shape result")
    name = "gather_indices_from_graph_input"
    add(name, 11, node("Gather", ["data", "indices"], ["Y"], axis=1),
        {"data": Random(name).normal(3, 6), "indices": i64([5, -6, 2])})

    # Slice.
    slice_data_shape = [4, 6, 5]
    slices = [
        ("steps2", [0, 1], [4, 6], [0, 1], [2, 2]),
        ("negative_step_reverse_all", [-1], [INT64_MIN], [1], [-1]),
        ("negative_step2", [5, 4], [0, -100], [1, 2], [-2, -1]),
        ("clamping", [-1000, 1], [1000, 1000], [0, 2], None),
        ("omitted_axes", [1, 2, 0], [3, 5, 4], None, None),
        ("int64_max_ends", [1], [INT64_MAX], [1], None),
        ("negative_starts_ends", [-3], [-1], [2], None),
        ("negative_axes", [1], [3], [-2], None),
        ("empty_result", [3], [1], [1], None),
    ]
    for opset in (10, 13):
        for suffix, starts, ends, axes, steps in slices:
            name = f"slice_opset{opset}_{suffix}"
            inputs = ["X", "starts", "ends"]
            initializers = {"starts": i64(starts), "ends": i64(ends)}
            if axes is not None or steps is not None:
                inputs.append("axes" if axes is not None else "")
                if axes is not None:
                    initializers["axes"] = i64(axes)
            if steps is not None:
                inputs.append("steps")
                initializers["steps"] = i64(steps)
            add(name, opset, node("Slice", inputs, ["Y"]), {"X": Random(name).normal(*slice_data_shape)},
                initializers)
    name = "slice_opset1_attributes"
    add(name, 1, node("Slice", ["X"], ["Y"], starts=[1, 0], ends=[3, 1000], axes=[0, 2]),
        {"X": Random(name).normal(*slice_data_shape)})
    name = "slice_opset13_int64_data"
    add(name, 13, node("Slice", ["X", "starts", "ends"], ["Y"]), {"X": i64([1, 3, 224, 224])},
        {"starts": i64([2]), "ends": i64([INT64_MAX])})

    # Identity.
    name = "identity"
    add(name, 16, node("Identity", ["X"], ["Y"]), {"X": Random(name).normal(2, 3)})
    name = "identity_opset13_int64"
    add(name, 13, node("Identity", ["X"], ["Y"]), {"X": i64([4, -2, 7])})


def cast_and_constant_cases() -> None:
    fractional = f32([[-2.7, -1.5, -0.4, 0.0], [0.4, 1.5, 2.7, 1e6]])
    add("cast_float_to_int64", 13, node("Cast", ["X"], ["Y"], to=TensorProto.INT64), {"X": fractional},
        description="truncates toward zero")
    add("cast_int64_to_float", 13, node("Cast", ["X"], ["Y"], to=TensorProto.FLOAT),
        {"X": i64([[-3, 0, 7], [1 << 40, -(1 << 24) - 1, 5]])})
    name = "cast_float_to_float16_to_float"
    add(name, 13, [node("Cast", ["X"], ["half"], to=TensorProto.FLOAT16),
                   node("Cast", ["half"], ["Y"], to=TensorProto.FLOAT)],
        {"X": np.concatenate([Random(name).normal(10) * 100, f32([65504.0, 1e-5, 70000.0, -0.0, 1.0 / 3.0])])},
        description="rounds through half precision (including overflow to infinity and a subnormal)")
    add("cast_float_to_float16", 13, node("Cast", ["X"], ["Y"], to=TensorProto.FLOAT16),
        {"X": f32([0.1, -2.5, 1000.3, 3e-6])})
    add("cast_float_to_bool", 13, node("Cast", ["X"], ["Y"], to=TensorProto.BOOL), {"X": f32([0.0, -0.0, 0.5, -2.0])})
    add("cast_bool_to_float", 13, node("Cast", ["X"], ["Y"], to=TensorProto.FLOAT),
        {"X": np.array([True, False, True], np.bool_)})
    add("cast_int64_to_bool", 13, node("Cast", ["X"], ["Y"], to=TensorProto.BOOL), {"X": i64([0, 3, -1])})
    add("cast_float_to_float_noop", 13, node("Cast", ["X"], ["Y"], to=TensorProto.FLOAT), {"X": f32([1.5, -2.0])})
    add("cast_opset9_float_to_int64", 9, node("Cast", ["X"], ["Y"], to=TensorProto.INT64), {"X": fractional})

    add("constantofshape_default_float_zero", 9, node("ConstantOfShape", ["shape"], ["Y"]), {"shape": i64([2, 3])})
    add("constantofshape_float_value", 9,
        node("ConstantOfShape", ["shape"], ["Y"], value=numpy_helper.from_array(f32([1.25]), "value")),
        {"shape": i64([3, 1, 2])})
    add("constantofshape_int64_value", 9,
        node("ConstantOfShape", ["shape"], ["Y"], value=numpy_helper.from_array(i64([-7]), "value")),
        {"shape": i64([4])})
    add("constantofshape_empty_shape_scalar", 9,
        node("ConstantOfShape", ["shape"], ["Y"], value=numpy_helper.from_array(f32([3.0]), "value")),
        {"shape": np.zeros([0], np.int64)}, description="shape [] gives a 0-d tensor")
    add("constantofshape_zero_dimension", 9, node("ConstantOfShape", ["shape"], ["Y"]), {"shape": i64([2, 0])})

    # Constant: each attribute form, added to an input so the model has one.
    name = "constant_value_tensor"
    r = Random(name)
    add(name, 13, [node("Constant", [], ["c"], value=numpy_helper.from_array(r.normal(2, 3), "c_value")),
                   node("Add", ["X", "c"], ["Y"])], {"X": r.normal(2, 3)})
    add("constant_value_float", 13, [node("Constant", [], ["c"], value_float=2.5), node("Add", ["X", "c"], ["Y"])],
        {"X": Random("constant_value_float").normal(2, 3)})
    add("constant_value_floats", 13,
        [node("Constant", [], ["c"], value_floats=[1.0, -2.0, 0.5]), node("Add", ["X", "c"], ["Y"])],
        {"X": Random("constant_value_floats").normal(2, 3)})
    add("constant_value_int", 13, [node("Constant", [], ["c"], value_int=-4), node("Add", ["X", "c"], ["Y"])],
        {"X": i64([[1, 2], [3, 4]])})
    add("constant_value_ints", 13, [node("Constant", [], ["c"], value_ints=[10, -20]), node("Add", ["X", "c"], ["Y"])],
        {"X": i64([[1, 2], [3, 4]])})
    add("constant_opset9_value_only_output", 9,
        [node("Constant", [], ["c"], value=numpy_helper.from_array(f32([[1, 2], [3, 4]]), "c_value")),
         node("Identity", ["X"], ["Y"])],
        {"X": f32([0.5])}, outputs=["Y", "c"], description="a Constant node straight to a graph output")

    # Dropout in inference.
    for opset in (12, 13):
        name = f"dropout_opset{opset}_inference_with_mask"
        add(name, opset, node("Dropout", ["X", "ratio"], ["Y", "mask"]), {"X": Random(name).normal(2, 3, 4)},
            {"ratio": f32(0.3)}, description="training_mode absent: identity, mask all true")
        name = f"dropout_opset{opset}_training_mode_false"
        add(name, opset, node("Dropout", ["X", "ratio", "training_mode"], ["Y"]), {"X": Random(name).normal(2, 5)},
            {"ratio": f32(0.5), "training_mode": np.array(False)})
    name = "dropout_opset13_no_ratio"
    add(name, 13, node("Dropout", ["X"], ["Y"]), {"X": Random(name).normal(3, 4)})
    name = "dropout_opset10_with_mask"
    add(name, 10, node("Dropout", ["X"], ["Y", "mask"], ratio=0.2), {"X": Random(name).normal(3, 4)})


# MARK: - Normalisation, padding, activations


def normalization_cases() -> None:
    for opset in (9, 14, 15):
        for suffix, epsilon in [("", None), ("_epsilon1e-3", 1e-3)]:
            name = f"batchnormalization_opset{opset}{suffix}"
            r = Random(name)
            attributes = {} if epsilon is None else dict(epsilon=epsilon)
            add(name, opset, node("BatchNormalization", ["X", "scale", "B", "mean", "var"], ["Y"], **attributes),
                {"X": r.normal(2, 4, 3, 5)},
                {"scale": r.normal(4), "B": r.normal(4), "mean": r.normal(4), "var": r.uniform(0.1, 2.0, 4)})
    name = "batchnormalization_opset15_2d_input"
    r = Random(name)
    add(name, 15, node("BatchNormalization", ["X", "scale", "B", "mean", "var"], ["Y"]), {"X": r.normal(3, 4)},
        {"scale": r.normal(4), "B": r.normal(4), "mean": r.normal(4), "var": r.uniform(0.1, 2.0, 4)})


def pad_cases() -> None:
    x_shape = [1, 2, 3, 4]
    name = "pad_opset2_constant_attribute"
    add(name, 2, node("Pad", ["X"], ["Y"], pads=[0, 0, 1, 2, 0, 0, 2, 1], value=1.5),
        {"X": Random(name).normal(*x_shape)})
    name = "pad_opset2_reflect"
    add(name, 2, node("Pad", ["X"], ["Y"], mode="reflect", pads=[0, 0, 1, 2, 0, 0, 2, 1]),
        {"X": Random(name).normal(*x_shape)})
    for opset in (11, 13):
        name = f"pad_opset{opset}_constant_value"
        add(name, opset, node("Pad", ["X", "pads", "value"], ["Y"]), {"X": Random(name).normal(*x_shape)},
            {"pads": i64([0, 0, 1, 2, 0, 0, 2, 1]), "value": f32(-0.5)})
        name = f"pad_opset{opset}_no_constant_value"
        add(name, opset, node("Pad", ["X", "pads"], ["Y"]), {"X": Random(name).normal(*x_shape)},
            {"pads": i64([0, 0, 0, 0, 0, 0, 1, 1])}, description="TF 'SAME': zero padding after only")
        name = f"pad_opset{opset}_negative_pads"
        add(name, opset, node("Pad", ["X", "pads"], ["Y"]), {"X": Random(name).normal(*x_shape)},
            {"pads": i64([0, 0, -1, 1, 0, 0, 1, -2])}, description="negative pads crop")
        name = f"pad_opset{opset}_edge"
        add(name, opset, node("Pad", ["X", "pads"], ["Y"], mode="edge"), {"X": Random(name).normal(*x_shape)},
            {"pads": i64([0, 0, 2, 1, 0, 0, 1, 2])})
        name = f"pad_opset{opset}_reflect"
        add(name, opset, node("Pad", ["X", "pads"], ["Y"], mode="reflect"), {"X": Random(name).normal(*x_shape)},
            {"pads": i64([0, 0, 1, 2, 0, 0, 2, 3])})
    name = "pad_opset13_pads_from_graph_input"
    add(name, 13, node("Pad", ["X", "pads"], ["Y"]), {"X": Random(name).normal(*x_shape),
                                                      "pads": i64([0, 0, 1, 0, 0, 0, 0, 1])})
    name = "pad_opset13_int64_data"
    add(name, 13, node("Pad", ["X", "pads", "value"], ["Y"]), {"X": i64([[1, 2], [3, 4]])},
        {"pads": i64([1, 0, 0, 1]), "value": i64(9)})
    name = "pad_opset18_axes"
    add(name, 18, node("Pad", ["X", "pads", "value", "axes"], ["Y"]), {"X": Random(name).normal(*x_shape)},
        {"pads": i64([1, 2, 2, 1]), "value": f32(0.25), "axes": i64([2, 3])})
    name = "pad_opset18_negative_axes"
    add(name, 18, node("Pad", ["X", "pads", "", "axes"], ["Y"]), {"X": Random(name).normal(*x_shape)},
        {"pads": i64([0, 1, -1, 1]), "axes": i64([-1, -2])}, description="constant_value omitted with \"\"")
    name = "pad_opset18_no_axes"
    add(name, 18, node("Pad", ["X", "pads"], ["Y"]), {"X": Random(name).normal(*x_shape)},
        {"pads": i64([0, 0, 1, 1, 0, 0, 1, 1])})


def activation_cases() -> None:
    x4 = [2, 3, 4, 5]
    name = "softmax_opset11_axis1_4d_coerced_to_2d"
    add(name, 11, node("Softmax", ["X"], ["Y"], axis=1), {"X": Random(name).normal(*x4)},
        description="opset < 13: flattened to [N, C*H*W] before the softmax")
    name = "softmax_opset11_default_axis_4d"
    add(name, 11, node("Softmax", ["X"], ["Y"]), {"X": Random(name).normal(*x4)})
    name = "softmax_opset11_axis_negative1_2d"
    add(name, 11, node("Softmax", ["X"], ["Y"], axis=-1), {"X": Random(name).normal(3, 10)})
    name = "softmax_opset13_axis_negative1"
    add(name, 13, node("Softmax", ["X"], ["Y"], axis=-1), {"X": Random(name).normal(*x4)})
    name = "softmax_opset13_default_axis"
    add(name, 13, node("Softmax", ["X"], ["Y"]), {"X": Random(name).normal(*x4)})
    name = "softmax_opset13_axis1_4d"
    add(name, 13, node("Softmax", ["X"], ["Y"], axis=1), {"X": Random(name).normal(*x4)},
        description="opset 13: along the channel axis only")
    name = "softmax_opset13_large_logits"
    add(name, 13, node("Softmax", ["X"], ["Y"], axis=-1), {"X": Random(name).normal(2, 10) * 50 + 1000},
        description="needs the max subtracted first")

    name = "sigmoid"
    add(name, 13, node("Sigmoid", ["X"], ["Y"]), {"X": np.concatenate([Random(name).normal(20) * 4,
                                                                        f32([-100.0, 100.0, 0.0])])})
    name = "hardsigmoid_default"
    add(name, 6, node("HardSigmoid", ["X"], ["Y"]), {"X": Random(name).normal(*x4) * 4})
    name = "hardsigmoid_alpha_beta"
    add(name, 6, node("HardSigmoid", ["X"], ["Y"], alpha=1.0 / 6.0, beta=0.5), {"X": Random(name).normal(*x4) * 4},
        description="the form PyTorch's Hardsigmoid exports to")
    name = "hardswish"
    add(name, 14, node("HardSwish", ["X"], ["Y"]), {"X": Random(name).normal(*x4) * 4})


def flatten_chain_cases() -> None:
    """x.view(x.size(0), -1) as old torch exports write it (opset 11), after a GlobalAveragePool."""
    name = "flatten_chain_shape_gather_unsqueeze_concat_reshape_opset11"
    r = Random(name)
    nodes = [
        node("GlobalAveragePool", ["X"], ["pooled"]),
        node("Shape", ["pooled"], ["shape"]),
        node("Constant", [], ["zero"], value=numpy_helper.from_array(i64(0), "zero_value")),
        node("Gather", ["shape", "zero"], ["batch"], axis=0),
        node("Unsqueeze", ["batch"], ["batch_1d"], axes=[0]),
        node("Constant", [], ["minus_one"], value=numpy_helper.from_array(i64([-1]), "minus_one_value")),
        node("Concat", ["batch_1d", "minus_one"], ["new_shape"], axis=0),
        node("Reshape", ["pooled", "new_shape"], ["flat"]),
        node("Gemm", ["flat", "W", "B"], ["Y"], transB=1),
    ]
    add(name, 11, nodes, {"X": r.normal(2, 6, 3, 3)}, {"W": r.normal(4, 6), "B": r.normal(4)},
        description="constant-foldable once the input shape is known")
    name = "flatten_chain_with_unsqueeze_concat_opset11_no_pool"
    r = Random(name)
    nodes = [
        node("Shape", ["X"], ["shape"]),
        node("Constant", [], ["zero"], value=numpy_helper.from_array(i64(0), "zero_value")),
        node("Gather", ["shape", "zero"], ["batch"], axis=0),
        node("Unsqueeze", ["batch"], ["batch_1d"], axes=[0]),
        node("Constant", [], ["minus_one"], value=numpy_helper.from_array(i64([-1]), "minus_one_value")),
        node("Concat", ["batch_1d", "minus_one"], ["new_shape"], axis=0),
        node("Reshape", ["X", "new_shape"], ["Y"]),
    ]
    add(name, 11, nodes, {"X": r.normal(3, 2, 2, 2)})


# MARK: - One node, every input fed


def single(name: str, op_type: str, opset: int, inputs: list, attributes: dict | None = None, outputs: int = 1,
           expected: list[np.ndarray] | None = None, note: str = "") -> None:
    """One node whose inputs are all graph inputs `input_<i>` (None: an absent optional input), so the kernels run on
    them instead of constant folding. `expected` replaces onnxruntime where it has no kernel for that opset form."""
    names = ["" if value is None else f"input_{index}" for index, value in enumerate(inputs)]
    attributes = {key: numpy_helper.from_array(value) if isinstance(value, np.ndarray) else value
                  for key, value in (attributes or {}).items()}
    nodes = node(op_type, names, [f"output_{index}" for index in range(outputs)], **attributes)
    add(name, opset, nodes, {n: value for n, value in zip(names, inputs) if value is not None},
        description=note, expected=expected)


def single_node_cases() -> None:
    """Operator forms beyond the ones above (ConvTranspose, quantization, Resize, indexing, normalizations, ...).
    The data comes from one generator in this function's order: append new cases at the end."""
    generator = np.random.default_rng(20261129)

    def rand(*shape) -> np.ndarray:
        return generator.standard_normal(shape).astype(np.float32)

    # Convolutions
    single("conv_strides_dilations_asymmetric_pads", "Conv", 11, [rand(1, 1, 6, 7), rand(2, 1, 3, 2)],
           dict(strides=[2, 1], pads=[0, 1, 2, 0], dilations=[1, 2], kernel_shape=[3, 2]))
    single("conv_1d", "Conv", 11, [rand(1, 2, 7), rand(3, 2, 3), rand(3)], dict(strides=[2], pads=[1, 0]))
    single("convtranspose_strides_pads_output_padding", "ConvTranspose", 11,
           [rand(1, 2, 3, 3), rand(2, 3, 3, 3), rand(3)], dict(strides=[2, 2], pads=[1, 0, 0, 1], output_padding=[1, 0]))
    single("convtranspose_groups_dilations", "ConvTranspose", 11, [rand(1, 4, 3, 2), rand(4, 1, 2, 2)],
           dict(group=2, dilations=[2, 1]))
    single("convtranspose_output_shape_same_upper", "ConvTranspose", 11, [rand(1, 1, 3, 3), rand(1, 2, 3, 3)],
           dict(strides=[2, 2], output_shape=[6, 7], auto_pad="SAME_UPPER"))

    # Arithmetic
    x = rand(2, 5)
    single("clip_opset1_attributes", "Clip", 1, [x], dict(min=-0.1), expected=[np.maximum(x, np.float32(-0.1))],
           note="numpy.maximum(x, -0.1) (Clip-1, max defaults to +inf; onnxruntime has no Clip-1 kernel)")
    single("mul_int32", "Mul", 14, [np.array([1, -2, 3], np.int32), np.array([[2], [3]], np.int32)])
    a, b = rand(2, 3, 4), rand(3)
    single("add_opset6_legacy_broadcast_axis", "Add", 6, [a, b], dict(broadcast=1, axis=1),
           expected=[a + b.reshape(3, 1)], note="numpy: a + b.reshape(3, 1) (onnxruntime has no Add-6 kernel)")
    single("pow_broadcast", "Pow", 15, [np.abs(rand(2, 3)) + 0.5, rand(3)])
    single("pow_float_base_int64_exponent", "Pow", 15, [rand(4), np.array([2, 3, 0, 1], np.int64)])
    u = rand(3, 4) * 4
    single("sqrt", "Sqrt", 13, [np.abs(u)])
    single("erf", "Erf", 13, [u])
    single("tanh", "Tanh", 13, [u])
    single("leakyrelu", "LeakyRelu", 16, [u], dict(alpha=0.1))
    single("shrink", "Shrink", 9, [u], dict(lambd=1.0, bias=0.5))
    single("equal_int64", "Equal", 13, [np.array([1, 2, 3], np.int64), np.array([[1], [3]], np.int64)])
    single("less_float", "Less", 13, [u, np.array([0.0], np.float32)])
    single("where", "Where", 16, [np.array([[True], [False]]), rand(2, 3), rand(3)])
    single("where_int64", "Where", 16,
           [np.array([True, False, True]), np.array([1, 2, 3], np.int64), np.array(-1, np.int64)])
    single("max_three_inputs", "Max", 13, [rand(2, 3), rand(3), rand(2, 1)])
    single("min_two_inputs", "Min", 13, [rand(2, 3), rand(3)])
    single("mean_three_inputs_broadcast", "Mean", 13, [rand(2, 3), rand(3), rand(2, 3)])
    single("mod_int64", "Mod", 13, [np.array([-7, 7, -7, 7], np.int64), np.array([3, -3, -3, 3], np.int64)])
    single("mod_fmod", "Mod", 13, [np.array([-7.5, 7.5], np.float32), np.array([2.0, -2.0], np.float32)], dict(fmod=1))
    single("bitwiseand_broadcast", "BitwiseAnd", 18,
           [np.array([[12, 7], [255, 0]], np.int32), np.array([10, 3], np.int32)])
    single("bitshift_right", "BitShift", 11, [np.array([16, 255, 1], np.uint8), np.array([2, 4, 0], np.uint8)],
           dict(direction="RIGHT"))
    single("isnan", "IsNaN", 13, [np.array([1, np.nan, np.inf], np.float32)])
    single("isinf_positive_only", "IsInf", 20, [np.array([1, -np.inf, np.inf, np.nan], np.float32)],
           dict(detect_negative=0))

    # Pooling and reductions
    single("globalmaxpool", "GlobalMaxPool", 1, [rand(1, 2, 3, 3)])
    single("globalaveragepool_1d", "GlobalAveragePool", 1, [rand(2, 3, 5)])
    single("maxpool_1d", "MaxPool", 12, [rand(1, 2, 7)], dict(kernel_shape=[3], strides=[2], pads=[1, 1]))
    single("maxpool_with_indices", "MaxPool", 12, [rand(2, 2, 4, 4)], dict(kernel_shape=[2, 2], strides=[2, 2]),
           outputs=2)
    single("lppool_p3", "LpPool", 18, [rand(1, 1, 4, 4)], dict(kernel_shape=[2, 2], strides=[2, 2], p=3))
    single("globallppool", "GlobalLpPool", 2, [rand(1, 2, 3, 3)])
    r = rand(2, 3, 4)
    single("reducesum_opset13_axes_input", "ReduceSum", 13, [r, np.array([0, 2], np.int64)])
    single("reducemax_opset13", "ReduceMax", 13, [r], dict(axes=[0], keepdims=0))
    single("argmax_no_keepdims", "ArgMax", 13, [np.array([[1, 5, 5], [7, 2, 7]], np.float32)],
           dict(axis=1, keepdims=0))
    single("argmin_select_last_index", "ArgMin", 13, [np.array([[1, 0, 0], [7, 2, 2]], np.float32)],
           dict(axis=-1, select_last_index=1))
    single("cumsum_exclusive_reverse", "CumSum", 14, [rand(2, 4), np.array(1, np.int64)], dict(exclusive=1, reverse=1))
    single("topk_largest_axis1", "TopK", 11,
           [np.array([[1, 5, 3, 5], [2, 0, 9, -1]], np.float32), np.array([2], np.int64)], dict(axis=1), outputs=2)
    single("topk_smallest_int64", "TopK", 11, [np.array([4, 1, 3, 1], np.int64), np.array([3], np.int64)],
           dict(largest=0), outputs=2)

    # Shapes, indexing and casts
    single("gather_axis1_matrix_indices", "Gather", 13, [rand(2, 3, 4), np.array([[2, 0], [1, 1]], np.int64)],
           dict(axis=1))
    single("gatherelements_negative_index", "GatherElements", 13,
           [rand(3, 3), np.array([[0, -1], [2, 1]], np.int64)], dict(axis=1))
    single("scatterelements_add", "ScatterElements", 18,
           [rand(3, 3), np.array([[1, 0], [2, 2]], np.int64), rand(2, 2)], dict(axis=1, reduction="add"))
    single("scatternd_slices", "ScatterND", 13, [rand(4, 2), np.array([[3], [0]], np.int64), rand(2, 2)])
    single("nonzero", "NonZero", 13, [np.array([[1, 0, 2], [0, 0, 3]], np.float32)])
    single("onehot_axis0", "OneHot", 11,
           [np.array([0, -1, 2], np.int64), np.array(4, np.int64), np.array([0, 5], np.float32)], dict(axis=0))
    single("compress_axis1", "Compress", 11, [rand(2, 3), np.array([True, False, True])], dict(axis=1))
    single("expand", "Expand", 13, [rand(3, 1), np.array([2, 1, 4], np.int64)])
    single("expand_smaller_shape", "Expand", 13, [rand(2, 3), np.array([3], np.int64)])
    single("tile_repeats", "Tile", 13, [rand(2, 3), np.array([2, 1], np.int64)])
    single("trilu_lower_k1", "Trilu", 14, [rand(2, 3, 4), np.array(1, np.int64)], dict(upper=0))
    single("range_float", "Range", 11,
           [np.array(1.0, np.float32), np.array(2.9, np.float32), np.array(0.5, np.float32)])
    single("range_int64_negative", "Range", 11,
           [np.array(10, np.int64), np.array(3, np.int64), np.array(-3, np.int64)])
    single("split_opset11_attribute", "Split", 11, [rand(4, 3)], dict(axis=0, split=[1, 3]), outputs=2)
    single("split_opset13_input", "Split", 13, [rand(2, 5), np.array([2, 3], np.int64)], dict(axis=1), outputs=2)
    single("split_opset18_num_outputs_uneven", "Split", 18, [rand(5, 2)], dict(num_outputs=3), outputs=3)
    single("depthtospace_crd", "DepthToSpace", 13, [rand(1, 8, 2, 3)], dict(blocksize=2, mode="CRD"))
    single("depthtospace_dcr", "DepthToSpace", 13, [rand(1, 8, 2, 3)], dict(blocksize=2))
    single("spacetodepth", "SpaceToDepth", 13, [rand(1, 2, 4, 6)], dict(blocksize=2))
    r1 = rand(2, 3, 4)
    single("reshape_opset1_attribute", "Reshape", 1, [r1], dict(shape=[4, 0, -1]), expected=[r1.reshape(4, 3, 2)],
           note="numpy: reshape(4, 3, 2) (Reshape-1: 0 copies dimension 1 = 3; onnxruntime has no Reshape-1 kernel)")
    c1, c2 = rand(2, 1, 2), rand(2, 2, 2)
    single("concat_opset1_default_axis", "Concat", 1, [c1, c2], expected=[np.concatenate([c1, c2], axis=1)],
           note="numpy.concatenate(axis=1) (Concat-1 defaults to axis 1; onnxruntime has no Concat-1 kernel)")
    single("cast_float16_to_float", "Cast", 13, [np.array([1.0, -2.5, 0.1, 6e-8], np.float16)],
           dict(to=TensorProto.FLOAT))
    single("cast_double_to_float", "Cast", 13, [np.array([0.1, -1e10], np.float64)], dict(to=TensorProto.FLOAT))
    single("cast_int32_to_int8_wraps", "Cast", 13, [np.array([1, 127, 128, -129, 300], np.int32)],
           dict(to=TensorProto.INT8))
    single("cast_int64_to_uint8", "Cast", 13, [np.array([0, 255, 256, -1], np.int64)], dict(to=TensorProto.UINT8))
    single("eyelike_off_diagonal", "EyeLike", 22, [np.zeros((3, 4), np.float32)], dict(k=1, dtype=TensorProto.INT64))

    # Normalizations and softmax forms
    bn_x = rand(2, 3, 2, 2)
    bn_s, bn_b, bn_m, bn_v = rand(3, 2, 2), rand(3, 2, 2), rand(3, 2, 2), np.abs(rand(3, 2, 2)) + 0.1
    single("batchnormalization_opset7_not_spatial", "BatchNormalization", 7, [bn_x, bn_s, bn_b, bn_m, bn_v],
           dict(spatial=0), expected=[((bn_x - bn_m) / np.sqrt(bn_v + 1e-5) * bn_s + bn_b).astype(np.float32)],
           note="numpy: (x - mean) / sqrt(var + 1e-5) * scale + B with [C,H,W] statistics")
    bn6 = [rand(1, 2, 2, 2), rand(2), rand(2), rand(2), np.abs(rand(2)) + 0.1]
    per_channel = [value.reshape(2, 1, 1) for value in bn6[1:]]
    single("batchnormalization_opset6_is_test", "BatchNormalization", 6, bn6, dict(is_test=1, epsilon=1e-3),
           expected=[((bn6[0] - per_channel[2]) / np.sqrt(per_channel[3] + 1e-3) * per_channel[0]
                      + per_channel[1]).astype(np.float32)],
           note="numpy: per-channel (x - mean) / sqrt(var + eps) * scale + B (no BatchNormalization-6 kernel in "
                "onnxruntime)")
    single("layernormalization_axis1", "LayerNormalization", 17, [rand(2, 3, 4), rand(3, 4), rand(4)], dict(axis=1),
           outputs=3)
    single("instancenormalization", "InstanceNormalization", 6, [rand(2, 3, 2, 2), rand(3), rand(3)])
    single("rmsnormalization", "RMSNormalization", 23, [rand(2, 3, 4), rand(4)])
    single("meanvariancenormalization", "MeanVarianceNormalization", 9, [rand(2, 3, 2, 2)])
    single("prelu_channel_slope", "PRelu", 16, [rand(1, 3, 2, 2), rand(3, 1, 1)])
    single("hardmax", "Hardmax", 13, [np.array([[1, 3, 3], [0, -1, -2]], np.float32)])
    sm = rand(2, 3, 4)
    single("logsoftmax_opset13", "LogSoftmax", 13, [sm])
    single("logsoftmax_opset11_axis2", "LogSoftmax", 11, [sm], dict(axis=2))
    single("negativeloglikelihoodloss_weighted_ignore", "NegativeLogLikelihoodLoss", 13,
           [rand(3, 4, 2), np.array([[0, 3], [1, 1], [2, 0]], np.int64), np.abs(rand(4))], dict(ignore_index=1))
    single("softmaxcrossentropyloss_no_reduction_log_prob", "SoftmaxCrossEntropyLoss", 13,
           [rand(3, 5), np.array([4, 0, 2], np.int64)], dict(reduction="none"), outputs=2)

    # Resize
    rz = rand(1, 2, 3, 4)
    single("resize_nearest_upsample_scales", "Resize", 13, [rz, None, np.array([1, 1, 2, 1.5], np.float32)],
           dict(mode="nearest"))
    single("resize_linear_half_pixel_sizes", "Resize", 13, [rz, None, None, np.array([1, 2, 5, 3], np.int64)],
           dict(mode="linear"))
    single("resize_cubic_align_corners", "Resize", 13, [rz, None, np.array([1, 1, 2, 2], np.float32)],
           dict(mode="cubic", coordinate_transformation_mode="align_corners"))
    single("resize_nearest_asymmetric_floor", "Resize", 13, [rz, None, np.array([1, 1, 0.7, 1.6], np.float32)],
           dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
    single("resize_linear_axes_pytorch_half_pixel", "Resize", 18, [rz, None, None, np.array([6, 2], np.int64)],
           dict(mode="linear", axes=[2, 3], coordinate_transformation_mode="pytorch_half_pixel"))

    # Quantization
    q = rand(2, 3, 2) * 3
    single("quantizelinear_uint8", "QuantizeLinear", 13, [q, np.array(0.05, np.float32), np.array(128, np.uint8)])
    single("quantizelinear_per_axis_int8", "QuantizeLinear", 13,
           [q, np.array([0.02, 0.05, 0.1], np.float32), np.array([0, -3, 5], np.int8)])
    single("quantizelinear_blocked", "QuantizeLinear", 21,
           [rand(2, 4) * 3, np.array([[0.05, 0.1], [0.02, 0.2]], np.float32), np.array([[1, 2], [3, 4]], np.int8)],
           dict(axis=1, block_size=2))
    single("dequantizelinear_per_axis", "DequantizeLinear", 13,
           [np.array([[0, 255, 7], [128, 1, 9]], np.uint8), np.array([0.1, 0.25, 2.0], np.float32),
            np.array([3, 128, 0], np.uint8)])
    single("dequantizelinear_int32", "DequantizeLinear", 13,
           [np.array([-1000, 0, 123456], np.int32), np.array(0.001, np.float32)])
    single("dynamicquantizelinear", "DynamicQuantizeLinear", 11, [rand(3, 4) * 2], outputs=3)
    qx = generator.integers(0, 256, (1, 2, 4, 4)).astype(np.uint8)
    qw = generator.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    single("qlinearconv_per_channel_bias_pads", "QLinearConv", 10,
           [qx, np.array(0.02, np.float32), np.array(120, np.uint8), qw, np.array([0.01, 0.02, 0.005], np.float32),
            np.array([0, 0, 0], np.int8), np.array(0.05, np.float32), np.array(100, np.uint8),
            np.array([50, -20, 7], np.int32)], dict(pads=[1, 1, 1, 1], strides=[2, 1]))
    single("convinteger_zero_point", "ConvInteger", 10,
           [qx, generator.integers(0, 256, (2, 2, 2, 2)).astype(np.uint8), np.array(7, np.uint8)])
    qa = generator.integers(0, 256, (2, 3, 4)).astype(np.uint8)
    qb = generator.integers(0, 256, (4, 5)).astype(np.uint8)
    single("matmulinteger_zero_points", "MatMulInteger", 10, [qa[0], qb, np.array(200, np.uint8), np.array(9, np.uint8)])
    single("qlinearmatmul_batched", "QLinearMatMul", 10,
           [qa, np.array(0.03, np.float32), np.array(11, np.uint8), qb, np.array(0.02, np.float32),
            np.array(130, np.uint8), np.array(0.4, np.float32), np.array(128, np.uint8)])
# MARK: - Blocks: small multi-node graphs whose optimized form chains fast kernels


def block_cases() -> None:
    """A few layers of the networks issue 8 names (ResNet, RegNet, GoogLeNet, decoders), shrunk to kilobytes: the
    optimized session runs them as NHWC chains (pools, grouped/dilated convolutions, ConvTranspose in the chain)."""

    def weights(r: Random, *shape) -> np.ndarray:
        fan_in = int(np.prod(shape[1:]))
        return r.normal(*shape) * np.float32(1.5 / np.sqrt(fan_in))

    name = "block_resnet_stem_maxpool_basic_block"
    r = Random(name)
    nodes = [
        node("Conv", ["X", "W1", "B1"], ["stem"], kernel_shape=[7, 7], strides=[2, 2], pads=[3, 3, 3, 3]),
        node("Relu", ["stem"], ["stem_relu"]),
        node("MaxPool", ["stem_relu"], ["pooled"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        node("Conv", ["pooled", "W2", "B2"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Relu", ["a"], ["a_relu"]),
        node("Conv", ["a_relu", "W3", "B3"], ["b"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Add", ["b", "pooled"], ["sum"]),
        node("Relu", ["sum"], ["block"]),
        node("Conv", ["block", "W4", "B4"], ["down"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        node("GlobalAveragePool", ["down"], ["Y"]),
    ]
    add(name, 13, nodes, {"X": r.normal(1, 3, 29, 31)},
        {"W1": weights(r, 8, 3, 7, 7), "B1": r.normal(8) * 0.1, "W2": weights(r, 8, 8, 3, 3), "B2": r.normal(8) * 0.1,
         "W3": weights(r, 8, 8, 3, 3), "B3": r.normal(8) * 0.1, "W4": weights(r, 12, 8, 3, 3), "B4": r.normal(12)},
        description="ResNet's 7x7 stride-2 stem, MaxPool, a basic block with its residual, a stride-2 3x3")

    name = "block_regnet_grouped_dilated"
    r = Random(name)
    nodes = [
        node("Conv", ["X", "W1", "B1"], ["expand"], kernel_shape=[1, 1]),
        node("Relu", ["expand"], ["expand_relu"]),
        node("Conv", ["expand_relu", "W2", "B2"], ["group8"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
             group=3),
        node("Relu", ["group8"], ["group8_relu"]),
        node("Conv", ["group8_relu", "W3", "B3"], ["group12"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=2),
        node("Relu", ["group12"], ["group12_relu"]),
        node("Conv", ["group12_relu", "W4", "B4"], ["Y"], kernel_shape=[3, 3], dilations=[2, 2], pads=[2, 2, 2, 2]),
    ]
    add(name, 13, nodes, {"X": r.normal(2, 5, 13, 12)},
        {"W1": weights(r, 24, 5, 1, 1), "B1": r.normal(24) * 0.1, "W2": weights(r, 24, 8, 3, 3),
         "B2": r.normal(24) * 0.1, "W3": weights(r, 24, 12, 3, 3), "B3": r.normal(24) * 0.1,
         "W4": weights(r, 7, 24, 3, 3), "B4": r.normal(7)},
        description="RegNet-like grouped 3x3 (group widths 8 and 12), then a dilated 3x3; batch 2")

    name = "block_googlenet_pools"
    r = Random(name)
    nodes = [
        node("Conv", ["X", "W1", "B1"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Relu", ["c"], ["c_relu"]),
        node("MaxPool", ["c_relu"], ["ceil"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        node("AveragePool", ["ceil"], ["average"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("AveragePool", ["average"], ["included"], kernel_shape=[2, 3], strides=[2, 1], pads=[0, 1, 1, 1],
             count_include_pad=1, ceil_mode=1),
        node("MaxPool", ["included"], ["same"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("GlobalMaxPool", ["same"], ["Y"]),
    ]
    add(name, 13, nodes, {"X": r.normal(1, 3, 16, 14)}, {"W1": weights(r, 19, 3, 3, 3), "B1": r.normal(19) * 0.1},
        description="GoogLeNet/SqueezeNet pools: ceil_mode MaxPool, AveragePool with and without the pads counted")

    name = "block_decoder_conv_transpose"
    r = Random(name)
    nodes = [
        node("Conv", ["X", "W1", "B1"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Relu", ["c"], ["c_relu"]),
        node("ConvTranspose", ["c_relu", "W2", "B2"], ["up2"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Relu", ["up2"], ["up2_relu"]),
        node("ConvTranspose", ["up2_relu", "W3"], ["up4"], kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1],
             group=2),
        node("Conv", ["up4", "W4", "B4"], ["Y"], kernel_shape=[1, 1]),
    ]
    add(name, 13, nodes, {"X": r.normal(1, 4, 5, 6)},
        {"W1": weights(r, 8, 4, 3, 3), "B1": r.normal(8) * 0.1, "W2": weights(r, 8, 6, 2, 2), "B2": r.normal(6) * 0.1,
         "W3": weights(r, 6, 5, 4, 4), "W4": weights(r, 3, 10, 1, 1), "B4": r.normal(3)},
        description="a segmentation decoder: ConvTranspose 2x2 stride 2, grouped 4x4 stride 2 pads 1")


# MARK: - Writing


# MARK: - Quantized operators (standard and com.microsoft, integer outputs compared exactly)


def u8(value) -> np.ndarray:
    return np.array(value, dtype=np.uint8)


def quantized(random: Random, dtype, *shape) -> np.ndarray:
    info = np.iinfo(dtype)
    return random.integers(int(info.min), int(info.max) + 1, *shape, dtype=dtype)


def zero_point(dtype, value) -> np.ndarray:
    return np.array(value, dtype=dtype)


def contrib(op_type: str, inputs: list[str], outputs: list[str], **attributes) -> onnx.NodeProto:
    return helper.make_node(op_type, inputs, outputs, name=f"{op_type.lower()}_{outputs[0]}", domain=MICROSOFT,
                            **attributes)


def quantized_cases() -> None:
    # QLinearAdd / QLinearMul: same shape, channel broadcast, one-element operands on either side.
    for op in ("QLinearAdd", "QLinearMul"):
        for dtype, type_name in ((np.uint8, "uint8"), (np.int8, "int8")):
            for suffix, a_shape, b_shape in (("same_shape", [2, 7, 9, 9], [2, 7, 9, 9]),
                                             ("channel_broadcast", [1, 6, 5, 7], [1, 6, 1, 1]),
                                             ("scalar_b", [1, 5, 7, 3], [1]),
                                             ("scalar_a", [1], [3, 37])):
                name = f"{op.lower()}_{type_name}_{suffix}"
                random = Random(name)
                low = 0 if dtype == np.uint8 else -20
                add(name, 13, contrib(op, ["A", "a_scale", "a_zero", "B", "b_scale", "b_zero", "c_scale", "c_zero"],
                                      ["C"]),
                    {"A": quantized(random, dtype, *a_shape), "B": quantized(random, dtype, *b_shape)},
                    {"a_scale": f32(random.uniform(0.01, 0.1)), "a_zero": zero_point(dtype, low + 117),
                     "b_scale": f32(random.uniform(0.01, 0.1)), "b_zero": zero_point(dtype, low + 131),
                     "c_scale": f32(random.uniform(0.02, 0.15)), "c_zero": zero_point(dtype, low + 109)})

    # Power-of-two scales: exact halves, so rounding ties (half to even) decide many outputs.
    for op in ("QLinearAdd", "QLinearMul"):
        name = f"{op.lower()}_uint8_rounding_ties"
        random = Random(name)
        add(name, 13, contrib(op, ["A", "a_scale", "a_zero", "B", "b_scale", "b_zero", "c_scale", "c_zero"], ["C"]),
            {"A": quantized(random, np.uint8, 4, 64), "B": quantized(random, np.uint8, 4, 64)},
            {"a_scale": f32(0.0625), "a_zero": u8(128), "b_scale": f32(0.0625), "b_zero": u8(120),
             "c_scale": f32(0.125 if op == "QLinearAdd" else 2.0), "c_zero": u8(128)})

    # QLinearGlobalAveragePool, NCHW and channels-last.
    for dtype, type_name in ((np.uint8, "uint8"), (np.int8, "int8")):
        for suffix, shape, channels_last in (("7x7", [2, 13, 7, 7], 0), ("1x1", [1, 5, 1, 1], 0),
                                             ("13x5_channels_last", [1, 13, 5, 11], 1)):
            name = f"qlinearglobalaveragepool_{type_name}_{suffix}"
            random = Random(name)
            add(name, 13, contrib("QLinearGlobalAveragePool", ["X", "x_scale", "x_zero", "y_scale", "y_zero"], ["Y"],
                                  channels_last=channels_last),
                {"X": quantized(random, dtype, *shape)},
                {"x_scale": f32(random.uniform(0.02, 0.05)), "x_zero": zero_point(dtype, 3 if dtype == np.int8 else 121),
                 "y_scale": f32(random.uniform(0.005, 0.03)), "y_zero": zero_point(dtype, -7 if dtype == np.int8 else 99)})

    # QLinearAveragePool: padding in and out of the count, strides, a whole-image window (integer path), NHWC.
    pools = (("3x3_pads1_exclude_pad", [1, 3, 7, 9], dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]), 0),
             ("3x3_pads1_include_pad", [1, 3, 6, 6], dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1), 0),
             ("2x2_stride2", [2, 4, 8, 6], dict(kernel_shape=[2, 2], strides=[2, 2]), 0),
             ("whole_image", [1, 6, 5, 5], dict(kernel_shape=[5, 5]), 0),
             ("3x3_channels_last", [1, 7, 6, 5], dict(kernel_shape=[3, 3], strides=[1, 2], pads=[1, 0, 1, 1]), 1))
    for dtype, type_name in ((np.uint8, "uint8"), (np.int8, "int8")):
        for suffix, shape, attributes, channels_last in pools:
            name = f"qlinearaveragepool_{type_name}_{suffix}"
            random = Random(name)
            add(name, 13, contrib("QLinearAveragePool", ["X", "x_scale", "x_zero", "y_scale", "y_zero"], ["Y"],
                                  channels_last=channels_last, **attributes),
                {"X": quantized(random, dtype, *shape)},
                {"x_scale": f32(random.uniform(0.02, 0.05)), "x_zero": zero_point(dtype, 5 if dtype == np.int8 else 128),
                 "y_scale": f32(random.uniform(0.02, 0.05)), "y_zero": zero_point(dtype, -3 if dtype == np.int8 else 117)})

    # QLinearConcat: one input with the output's parameters (copied), two requantized; axis 1 and -1.
    for dtype, type_name in ((np.uint8, "uint8"), (np.int8, "int8")):
        for axis in (1, -1):
            name = f"qlinearconcat_{type_name}_axis{'_negative1' if axis < 0 else axis}"
            random = Random(name)
            shapes = ([1, 3, 4, 5], [1, 2, 4, 5], [1, 4, 4, 5]) if axis == 1 else ([2, 3, 2], [2, 3, 5], [2, 3, 1])
            base = -10 if dtype == np.int8 else 118
            inputs = ["y_scale", "y_zero"]
            feeds = {}
            initializers = {"y_scale": f32(0.04), "y_zero": zero_point(dtype, base)}
            for index, shape in enumerate(shapes):
                inputs += [f"X{index}", f"s{index}", f"z{index}"]
                feeds[f"X{index}"] = quantized(random, dtype, *shape)
                same = index == 0
                initializers[f"s{index}"] = f32(0.04 if same else random.uniform(0.01, 0.08))
                initializers[f"z{index}"] = zero_point(dtype, base if same else base + 7 * index)
            add(name, 13, contrib("QLinearConcat", inputs, ["Y"], axis=axis), feeds, initializers)

    # QLinearSigmoid / QLinearLeakyRelu: every input value, several scales.
    for dtype, type_name in ((np.uint8, "uint8"), (np.int8, "int8")):
        every = np.arange(np.iinfo(dtype).min, np.iinfo(dtype).max + 1, dtype=np.int64).astype(dtype).reshape(1, 256)
        for index, (x_scale, x_zero, y_scale, y_zero) in enumerate(((0.05, 128, 1 / 256, 0), (0.1, 100, 0.0039, 3),
                                                                    (0.0173, 140, 0.00421, 10))):
            offset = -128 if dtype == np.int8 else 0
            name = f"qlinearsigmoid_{type_name}_{index}"
            add(name, 13, contrib("QLinearSigmoid", ["X", "x_scale", "x_zero", "y_scale", "y_zero"], ["Y"]),
                {"X": every},
                {"x_scale": f32(x_scale), "x_zero": zero_point(dtype, x_zero + offset), "y_scale": f32(y_scale),
                 "y_zero": zero_point(dtype, y_zero + offset)})
            name = f"qlinearleakyrelu_{type_name}_{index}"
            add(name, 13, contrib("QLinearLeakyRelu", ["X", "x_scale", "x_zero", "y_scale", "y_zero"], ["Y"],
                                  alpha=0.1 * (index + 1)),
                {"X": every},
                {"x_scale": f32(x_scale), "x_zero": zero_point(dtype, x_zero + offset), "y_scale": f32(x_scale * 0.7),
                 "y_zero": zero_point(dtype, x_zero + offset - 20)})

    # QLinearSoftmax: opset 13 along the last axis and along axis 1, opset 12 flattening from axis 1.
    for dtype, type_name in ((np.uint8, "uint8"), (np.int8, "int8")):
        for suffix, shape, attributes in (("opset13_last_axis", [3, 10], dict(opset=13)),
                                          ("opset13_axis1", [2, 5, 3], dict(opset=13, axis=1)),
                                          ("opset12_flatten_axis1", [2, 3, 4], dict(opset=12, axis=1))):
            name = f"qlinearsoftmax_{type_name}_{suffix}"
            random = Random(name)
            add(name, 13, contrib("QLinearSoftmax", ["X", "x_scale", "x_zero", "y_scale", "y_zero"], ["Y"],
                                  **attributes),
                {"X": quantized(random, dtype, *shape)},
                {"x_scale": f32(random.uniform(0.02, 0.1)), "x_zero": zero_point(dtype, 10 if dtype == np.int8 else 130),
                 "y_scale": f32(1 / 256), "y_zero": zero_point(dtype, -128 if dtype == np.int8 else 0)})

    # QGemm: per-column int8 weights transposed with a bias (the classifier), float output, alpha, transA.
    for suffix, a_dtype, transposes, per_column, output, alpha in (
            ("uint8_int8_transB_per_column_bias", np.uint8, (0, 1), True, "uint8", 1.0),
            ("uint8_uint8_per_tensor_float_output", np.uint8, (0, 0), False, "float", 1.0),
            ("int8_int8_transA_alpha", np.int8, (1, 0), True, "int8", 0.5)):
        name = f"qgemm_{suffix}"
        random = Random(name)
        m, k, n = 3, 17, 11
        b_dtype = np.uint8 if "uint8_uint8" in suffix else np.int8
        a = quantized(random, a_dtype, *((k, m) if transposes[0] else (m, k)))
        b = quantized(random, b_dtype, *((n, k) if transposes[1] else (k, n)))
        count = n if per_column else 1
        inputs = ["A", "a_scale", "a_zero", "B", "b_scale", "b_zero", "C"]
        initializers = {"a_scale": f32(0.03), "a_zero": zero_point(a_dtype, 7),
                        "B": b, "b_scale": f32(random.uniform(0.001, 0.01, count)) if per_column else f32([0.004]),
                        "b_zero": np.zeros(count, dtype=b_dtype) if per_column else zero_point(b_dtype, [3]),
                        "C": random.integers(-3000, 3000, n, dtype=np.int32)}
        if output != "float":
            inputs += ["y_scale", "y_zero"]
            initializers["y_scale"] = f32(0.05)
            initializers["y_zero"] = zero_point(np.uint8 if output == "uint8" else np.int8, 100 if output == "uint8" else -5)
        add(name, 13, contrib("QGemm", inputs, ["Y"], transA=transposes[0], transB=transposes[1], alpha=alpha),
            {"A": a}, initializers)

    # QLinearConv: per-channel int8 weights with uint8 activations (onnxruntime's tool), depthwise, int8 activations.
    for suffix, x_dtype, x_shape, w_shape, attributes in (
            ("uint8_int8_per_channel_3x3_pads1", np.uint8, [1, 5, 7, 8], [6, 5, 3, 3], dict(pads=[1, 1, 1, 1])),
            ("uint8_int8_depthwise_stride2", np.uint8, [1, 6, 9, 9], [6, 1, 3, 3],
             dict(group=6, strides=[2, 2], pads=[1, 1, 1, 1])),
            ("uint8_int8_pointwise", np.uint8, [2, 16, 5, 5], [24, 16, 1, 1], dict()),
            ("int8_int8_per_channel", np.int8, [1, 4, 6, 6], [5, 4, 3, 3], dict(pads=[0, 1, 1, 0])),
            ("uint8_int8_rounding_ties", np.uint8, [1, 3, 6, 6], [4, 3, 3, 3], dict(pads=[1, 1, 1, 1]))):
        name = f"qlinearconv_{suffix}"
        random = Random(name)
        channels = w_shape[0]
        add(name, 13, node("QLinearConv", ["x", "x_scale", "x_zero", "w", "w_scale", "w_zero", "y_scale", "y_zero", "B"],
                           ["y"], **attributes),
            {"x": quantized(random, x_dtype, *x_shape)},
            {"x_scale": f32(0.02), "x_zero": zero_point(x_dtype, 119 if x_dtype == np.uint8 else -3),
             "w": quantized(random, np.int8, *w_shape),
             "w_scale": f32([0.5] * channels) if "ties" in suffix else f32(random.uniform(0.002, 0.01, channels)),
             "w_zero": np.zeros(channels, dtype=np.int8), "y_scale": f32(8.0 if "ties" in suffix else 0.11),
             "y_zero": zero_point(x_dtype, 131 if x_dtype == np.uint8 else 4),
             "B": random.integers(-2000, 2000, channels, dtype=np.int32)})

    # MaxPool on 8-bit values (opset 12; QOperator models keep MaxPool between quantized operators).
    for dtype, type_name in ((np.uint8, "uint8"), (np.int8, "int8")):
        name = f"maxpool_opset12_{type_name}_3x3_stride2_pads1"
        add(name, 12, node("MaxPool", ["X"], ["Y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
            {"X": quantized(Random(name), dtype, 1, 3, 7, 9)})

    # QLinearMatMul (per tensor), MatMulInteger and ConvInteger (the dynamic format's products).
    name = "qlinearmatmul_uint8_int8_batched"
    random = Random(name)
    add(name, 13, node("QLinearMatMul", ["a", "a_scale", "a_zero", "b", "b_scale", "b_zero", "y_scale", "y_zero"], ["y"]),
        {"a": quantized(random, np.uint8, 2, 3, 19)},
        {"a_scale": f32(0.03), "a_zero": u8(113), "b": quantized(random, np.int8, 19, 7), "b_scale": f32(0.006),
         "b_zero": zero_point(np.int8, 0), "y_scale": f32(0.07), "y_zero": u8(127)})
    name = "matmulinteger_uint8_int8_per_column_zero_points"
    random = Random(name)
    add(name, 13, node("MatMulInteger", ["A", "B", "a_zero", "b_zero"], ["Y"]),
        {"A": quantized(random, np.uint8, 4, 13)},
        {"B": quantized(random, np.int8, 13, 6), "a_zero": u8(117), "b_zero": quantized(random, np.int8, 6)})
    name = "convinteger_uint8_int8_pads1"
    random = Random(name)
    add(name, 13, node("ConvInteger", ["x", "w", "x_zero"], ["y"], pads=[1, 1, 1, 1]),
        {"x": quantized(random, np.uint8, 1, 3, 6, 7)},
        {"w": quantized(random, np.int8, 4, 3, 3, 3), "x_zero": u8(121)})
    for suffix, values in (("mixed", Random("dq_mixed").normal(3, 17) * 3),
                           ("positive", np.abs(Random("dq_positive").normal(4, 9))),
                           ("negative", -np.abs(Random("dq_negative").normal(2, 11)))):
        add(f"dynamicquantizelinear_{suffix}", 13, node("DynamicQuantizeLinear", ["x"], ["y", "y_scale", "y_zero_point"]),
            {"x": np.asarray(values, dtype=np.float32)})

    # QuantizeLinear / DequantizeLinear: per tensor (opset 10), per axis (13, 19), blocked (21), int8 and uint8.
    name = "quantizelinear_opset10_uint8"
    add(name, 10, node("QuantizeLinear", ["x", "scale", "zero"], ["y"]), {"x": Random(name).normal(3, 50) * 4},
        {"scale": f32(0.031), "zero": u8(128)})
    name = "quantizelinear_opset13_per_axis_int8"
    random = Random(name)
    add(name, 13, node("QuantizeLinear", ["x", "scale", "zero"], ["y"], axis=1), {"x": random.normal(2, 4, 3, 5) * 3},
        {"scale": f32(random.uniform(0.01, 0.05, 4)), "zero": np.array([0, 3, -5, 9], dtype=np.int8)})
    name = "dequantizelinear_opset19_per_axis_uint8"
    random = Random(name)
    add(name, 19, node("DequantizeLinear", ["x", "scale", "zero"], ["y"], axis=0), {"x": quantized(random, np.uint8, 3, 8)},
        {"scale": f32(random.uniform(0.01, 0.05, 3)), "zero": u8([100, 128, 7])})
    name = "dequantizelinear_opset13_int32_bias"
    random = Random(name)
    add(name, 13, node("DequantizeLinear", ["x", "scale"], ["y"]), {"x": random.integers(-50000, 50000, 10, dtype=np.int32)},
        {"scale": f32(0.0002)})
    name = "quantizelinear_opset21_blocked_int8"
    random = Random(name)
    add(name, 21, node("QuantizeLinear", ["x", "scale", "zero"], ["y"], axis=1, block_size=4),
        {"x": random.normal(3, 10) * 2}, {"scale": f32(random.uniform(0.01, 0.05, 3, 3)),
                                          "zero": np.zeros((3, 3), dtype=np.int8)})
    name = "dequantizelinear_opset21_blocked_int8"
    random = Random(name)
    add(name, 21, node("DequantizeLinear", ["x", "scale", "zero"], ["y"], axis=0, block_size=2),
        {"x": quantized(random, np.int8, 5, 4)}, {"scale": f32(random.uniform(0.01, 0.05, 3, 4)),
                                                  "zero": quantized(random, np.int8, 3, 4)})



def numpy_elem_type(array: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(array.dtype)


def ir_version_for(opset: int) -> int:
    """IR 7 at least (initializers need not be graph inputs from IR 4 on), more where the opset needs it."""
    try:
        return max(7, helper.find_min_ir_version_for([helper.make_opsetid("", opset)]))
    except ValueError:  # onnx's table does not list every old opset (2, 3, 4)
        return 7


MICROSOFT = "com.microsoft"


def uses_contrib(case: Case) -> bool:
    return any(each.domain == MICROSOFT for each in case.nodes)


def build_model(case: Case) -> onnx.ModelProto:
    graph_inputs = [helper.make_tensor_value_info(name, numpy_elem_type(value), list(value.shape))
                    for name, value in case.inputs.items()]
    output_names = case.outputs or [name for name in case.nodes[-1].output if name]
    # Output types are filled by shape inference first, then pinned to what onnxruntime produced.
    graph_outputs = []
    for name in output_names:
        value_info = onnx.ValueInfoProto()
        value_info.name = name
        graph_outputs.append(value_info)
    initializers = [numpy_helper.from_array(value, name) for name, value in case.initializers.items()]
    graph = helper.make_graph(case.nodes, case.name, graph_inputs, graph_outputs, initializer=initializers,
                              doc_string=case.description)
    opset_imports = [helper.make_opsetid("", case.opset)]
    if uses_contrib(case):
        opset_imports.append(helper.make_opsetid(MICROSOFT, 1))
    model = helper.make_model(graph, opset_imports=opset_imports, producer_name=PRODUCER,
                              ir_version=ir_version_for(case.opset))
    if uses_contrib(case):  # onnx has no schemas for onnxruntime's contrib operators: types come from its outputs
        return model
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    for output in inferred.graph.output:
        # onnx infers nothing for some opset-1 forms; cases with numpy outputs get their types from those.
        if not output.type.tensor_type.elem_type and case.expected is None:
            raise RuntimeError(f"{case.name}: shape inference gave no type for output {output.name}")
    return inferred


def run_onnxruntime(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # errors only: old opsets make onnxruntime warn on every session
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def write_case(case: Case, root: Path) -> int:
    model = build_model(case)
    results = case.expected if case.expected is not None else run_onnxruntime(model, case.inputs)
    # Pin each output's type to the result (shape inference leaves data-dependent shapes open).
    for output, result in zip(model.graph.output, results):
        output.type.CopyFrom(helper.make_tensor_type_proto(numpy_elem_type(result), list(result.shape)))
    del model.graph.value_info[:]
    onnx.checker.check_model(model, full_check=not uses_contrib(case))
    if case.expected is None:
        again = run_onnxruntime(model, case.inputs)
        for first, second in zip(results, again):
            np.testing.assert_array_equal(first, second)

    folder = root / case.name
    data = folder / "test_data_set_0"
    data.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    for index, (name, value) in enumerate(case.inputs.items()):
        (data / f"input_{index}.pb").write_bytes(numpy_helper.from_array(value, name).SerializeToString())
    for index, (output, result) in enumerate(zip(model.graph.output, results)):
        (data / f"output_{index}.pb").write_bytes(numpy_helper.from_array(result, output.name).SerializeToString())
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent.parent / "models" / "operators")
    parser.add_argument("--only", help="generate only the cases whose name contains this (others are kept)")
    parser.add_argument("--list", action="store_true", help="list the case names and exit")
    arguments = parser.parse_args()

    for builder in (conv_cases, clip_cases, binary_cases, pooling_cases, matrix_cases, shape_cases,
                    cast_and_constant_cases, normalization_cases, pad_cases, activation_cases, flatten_chain_cases,
                    quantized_cases, single_node_cases, block_cases):
        builder()
    selected = [case for case in CASES if arguments.only is None or arguments.only in case.name]
    if arguments.list:
        for case in selected:
            print(f"{case.name}  (opset {case.opset})")
        return 0

    root: Path = arguments.output
    root.mkdir(parents=True, exist_ok=True)
    for case in selected:
        shutil.rmtree(root / case.name, ignore_errors=True)
    if arguments.only is None:  # a full run also removes cases that no longer exist
        for stale in root.iterdir():
            if stale.is_dir():
                shutil.rmtree(stale)

    total = 0
    failures = []
    for case in selected:
        try:
            total += write_case(case, root)
        except Exception as error:  # report every failing case, not just the first
            failures.append(f"{case.name}: {type(error).__name__}: {error}")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print(f"{len(selected) - len(failures)} cases written to {root} ({total / 1024:.0f} KiB)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
