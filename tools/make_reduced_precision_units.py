#!/usr/bin/env python3
"""Writes small reduced-precision models made by onnxruntime's own tools, with onnxruntime's outputs, so the tests
cover the dynamic quantization and float16 paths on every kind of layer MobileNetV2 has (strided stem, depthwise with
Clip, 1x1 with a residual Add, Relu, GlobalAveragePool, MatMul + bias), batch 2, awkward sizes:

  models/dynamic-units-int8/                 quantize_dynamic(weight_type=QInt8) (per tensor, zero points 0)
  models/dynamic-units-uint8-per-channel/    quantize_dynamic(weight_type=QUInt8, per_channel=True) (uint8 weights
                                             with zero points; MatMulInteger per column)
  models/float16-units/                      convert_float_to_float16(keep_io_types=True)

The float model has seeded random weights; each folder gets two test sets of seeded uniform [-1, 1) inputs.

    /work/venv/bin/python tools/make_reduced_precision_units.py [--output-root models]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.float16 import convert_float_to_float16

ROOT = Path(__file__).resolve().parent.parent
INPUT_SHAPE = [2, 3, 11, 13]


def float_model() -> onnx.ModelProto:
    random = np.random.default_rng(20261130)

    def tensor(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array((random.standard_normal(shape) * 0.5).astype(np.float32), name)

    initializers = [tensor("w1", 24, 3, 3, 3), tensor("b1", 24), tensor("w2", 24, 1, 3, 3), tensor("b2", 24),
                    tensor("w3", 24, 24, 1, 1), tensor("b3", 24), tensor("m", 24, 10), tensor("mb", 10),
                    numpy_helper.from_array(np.array(0, np.float32), "low"),
                    numpy_helper.from_array(np.array(6, np.float32), "high")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["stem"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["stem"], ["stem_relu"]),
             helper.make_node("Conv", ["stem_relu", "w2", "b2"], ["depthwise"], pads=[1, 1, 1, 1], group=24),
             helper.make_node("Clip", ["depthwise", "low", "high"], ["depthwise_clip"]),
             helper.make_node("Conv", ["depthwise_clip", "w3", "b3"], ["projection"]),
             helper.make_node("Add", ["projection", "stem_relu"], ["sum"]),
             helper.make_node("GlobalAveragePool", ["sum"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["flat"]),
             helper.make_node("MatMul", ["flat", "m"], ["product"]),
             helper.make_node("Add", ["product", "mb"], ["y"])]
    graph = helper.make_graph(nodes, "reduced_precision_units",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, INPUT_SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [INPUT_SHAPE[0], 10])],
                              initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def write_references(model_path: Path, folder: Path) -> None:
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    random = np.random.default_rng(42)
    for index in range(2):
        feed = random.uniform(-1, 1, INPUT_SHAPE).astype(np.float32)
        output = session.run(None, {"x": feed})[0]
        data = folder / f"test_data_set_{index}"
        data.mkdir(parents=True, exist_ok=True)
        (data / "input_0.pb").write_bytes(numpy_helper.from_array(feed, "x").SerializeToString())
        (data / "output_0.pb").write_bytes(numpy_helper.from_array(output, "y").SerializeToString())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-root", type=Path, default=ROOT / "models")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "model.onnx"
        onnx.save(float_model(), str(source))
        variants = {"dynamic-units-int8": dict(weight_type=QuantType.QInt8),
                    "dynamic-units-uint8-per-channel": dict(weight_type=QuantType.QUInt8, per_channel=True)}
        for name, options in variants.items():
            folder = arguments.output_root / name
            folder.mkdir(parents=True, exist_ok=True)
            quantize_dynamic(str(source), str(folder / "model.onnx"), **options)
            write_references(folder / "model.onnx", folder)
        folder = arguments.output_root / "float16-units"
        folder.mkdir(parents=True, exist_ok=True)
        onnx.save(convert_float_to_float16(onnx.load(str(source)), keep_io_types=True), str(folder / "model.onnx"))
        write_references(folder / "model.onnx", folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
