#!/usr/bin/env python3
"""Writes models/qdq-units/: a small float model whose QDQ form (onnxruntime's quantize_static) has one unit of each
kind onnxruntime fuses into an integer operator besides those of MobileNetV2 — Concat of two Convs (QLinearConcat),
AveragePool with padding (QLinearAveragePool), Softmax (QLinearSoftmax) — with onnxruntime's outputs.

The float model (seeded random weights, input [1, 3, 8, 8]) is built here and quantized by tools/quantize.py
(calibrated on the bundled photos, cropped to 8x8 by the default recipe); its test sets are those photos.

    /work/venv/bin/python tools/make_qdq_units.py [--output models/qdq-units]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent


def float_model() -> onnx.ModelProto:
    random = np.random.default_rng(20261130)
    weights = [numpy_helper.from_array(random.standard_normal((4, 3, 3, 3)).astype(np.float32), "w1"),
               numpy_helper.from_array(random.standard_normal((5, 3, 1, 1)).astype(np.float32), "w2")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "w2"], ["b"]),
             helper.make_node("Concat", ["a", "b"], ["c"], axis=1),
             helper.make_node("AveragePool", ["c"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Softmax", ["p"], ["y"], axis=1)]
    graph = helper.make_graph(nodes, "qdq_units", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 9, 4, 4])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=ROOT / "models" / "qdq-units")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "model.onnx"
        onnx.save(float_model(), str(source))
        photos = [str(ROOT / "models" / "images" / name) for name in ("chelsea.png", "coffee.png")]
        return subprocess.call([sys.executable, str(ROOT / "tools" / "quantize.py"), str(source), "--mode", "qdq",
                                "--calibration", *photos, "--test-photo", *photos, "--output", str(arguments.output)])


if __name__ == "__main__":
    sys.exit(main())
