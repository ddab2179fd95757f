#!/usr/bin/env python3
"""Writes models/patterns/<case>/: tiny torch modules, exported by torch's TorchScript exporter at opset 13 (the
`_dynamo` cases by its dynamo exporter at opset 18), that contain the graph patterns the optimizer rewrites
(ConvNeXt's block with its decomposed LayerNorm, GELU and Linear layers on NHWC tensors, EfficientNet's MBConv
blocks with SiLU and squeeze-excite, ShuffleNet's channel shuffle and channel split, DenseNet's concat + BatchNorm +
ReLU, upsampling Resize, attention's batched MatMuls), with seeded random weights (BatchNorm calibrated as in export_torchvision.py)
and onnxruntime's outputs in test_data_set_0. The `keras_` cases are graphs built as tf2onnx writes Keras models
(Transposes around every Conv, BatchNorm as Mul/Add, Pads on NHWC tensors). A few KB each; the Swift tests run them optimized.

    /work/venv/bin/python tools/make_pattern_models.py [--only CASE] [--output models/patterns]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torch.nn import functional
from torchvision.models.convnext import CNBlock, LayerNorm2d
from torchvision.models.densenet import _DenseBlock
from torchvision.models.efficientnet import MBConv, MBConvConfig
from torchvision.models.shufflenetv2 import InvertedResidual

from export_torchvision import calibrate
from onnx_export_common import write_model


class ConvNeXtPiece(nn.Module):
    """Patchify stem, one ConvNeXt block (depthwise 7x7, permute, LayerNorm, Linear, GELU, Linear, layer scale),
    a channels-first LayerNorm and a downsampling conv."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, 4)
        self.block = CNBlock(16, layer_scale=0.5, stochastic_depth_prob=0.0)
        self.norm = LayerNorm2d(16)
        self.down = nn.Conv2d(16, 24, 2, 2)

    def forward(self, x):
        return self.down(self.norm(self.block(self.stem(x))))


class EfficientNetPiece(nn.Module):
    """A stem conv with SiLU and two MBConv blocks (expansion, depthwise, squeeze-excite, projection; the first with
    its residual Add, the second 5x5 with stride 2)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU())
        self.blocks = nn.Sequential(MBConv(MBConvConfig(4, 3, 1, 16, 16, 1), 0.0, nn.BatchNorm2d),
                                    MBConv(MBConvConfig(4, 5, 2, 16, 24, 1), 0.0, nn.BatchNorm2d))

    def forward(self, x):
        return self.blocks(self.stem(x))


class ShuffleNetPiece(nn.Module):
    """A stem conv, a downsampling and a channel-splitting ShuffleNetV2 unit (concat, channel shuffle, chunk)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU())
        self.units = nn.Sequential(InvertedResidual(24, 48, 2), InvertedResidual(48, 48, 1))

    def forward(self, x):
        return self.units(self.stem(x))


class DenseNetPiece(nn.Module):
    """A stem conv and a three-layer dense block: concat, BatchNorm + ReLU that no conv absorbs, 1x1 and 3x3 convs."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1)
        self.block = _DenseBlock(num_layers=3, num_input_features=8, bn_size=2, growth_rate=4, drop_rate=0)

    def forward(self, x):
        return self.block(self.stem(x))


class UpsamplingPiece(nn.Module):
    """Nearest x2 and bilinear-to-size upsampling between convs (a detector's neck)."""

    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(3, 8, 3, 2, 1)
        self.second = nn.Conv2d(8, 8, 1)
        self.third = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        x = self.second(functional.interpolate(self.first(x), scale_factor=2.0, mode="nearest"))
        x = functional.interpolate(x, size=(23, 29), mode="bilinear", align_corners=False)
        return self.third(functional.relu(x))


class AttentionPiece(nn.Module):
    """Self-attention over 10 tokens of 16 features in 2 heads: Linear layers on 3-D tensors, Q @ K^T, P @ V."""

    def __init__(self):
        super().__init__()
        self.heads = 2
        self.qkv = nn.Linear(16, 48)
        self.projection = nn.Linear(16, 16)

    def forward(self, x):
        batch, tokens, features = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, features // self.heads).permute(2, 0, 3, 1, 4)
        scores = torch.softmax(q @ k.transpose(-2, -1) / (features // self.heads) ** 0.5, dim=-1)
        return self.projection((scores @ v).transpose(1, 2).reshape(batch, tokens, features))


CASES = {
    "convnext_block": (ConvNeXtPiece, (1, 3, 32, 32)),
    "convnext_block_dynamo": (ConvNeXtPiece, (1, 3, 32, 32)),
    "efficientnet_blocks": (EfficientNetPiece, (1, 3, 24, 24)),
    "efficientnet_blocks_dynamo": (EfficientNetPiece, (1, 3, 24, 24)),
    "shufflenet_units": (ShuffleNetPiece, (1, 3, 32, 32)),
    "densenet_block": (DenseNetPiece, (1, 3, 12, 12)),
    "upsampling": (UpsamplingPiece, (1, 3, 15, 17)),
    "attention": (AttentionPiece, (1, 10, 16)),
}


class KerasGraph:
    """Builds graphs as tf2onnx writes Keras (NHWC) models: every Conv wrapped in Transposes to NCHW and back,
    BatchNorm as Mul -> Add by [C] constants on the NHWC tensor, activations, Pads and squeeze-excite between the
    Transposes (MobileNetV3's `correct_pad` zero Pad before stride-2 depthwise convs), opset 13."""

    def __init__(self, seed: int):
        self.random = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def value(self, prefix: str) -> str:
        return f"{prefix}_{len(self.nodes)}"

    def constant(self, array: np.ndarray) -> str:
        name = f"c{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], **attributes) -> str:
        output = self.value(op.lower())
        self.nodes.append(onnx.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def floats(self, *shape: int, scale: float = 1.0) -> str:
        return self.constant((self.random.standard_normal(shape) * scale).astype(np.float32))

    def conv(self, x: str, channels_in: int, channels_out: int, kernel: int, stride: int = 1, pads=(0, 0, 0, 0),
             group: int = 1) -> str:
        """Conv of an NHWC tensor, transposed to NCHW and back as tf2onnx does; BatchNorm's Mul -> Add after it."""
        nchw = self.node("Transpose", [x], perm=[0, 3, 1, 2])
        weights = self.floats(channels_out, channels_in // group, kernel, kernel,
                              scale=(kernel * kernel * channels_in / group) ** -0.5)
        y = self.node("Conv", [nchw, weights], kernel_shape=[kernel, kernel], strides=[stride, stride],
                      pads=list(pads), group=group)
        nhwc = self.node("Transpose", [y], perm=[0, 2, 3, 1])
        scaled = self.node("Mul", [nhwc, self.constant(self.random.uniform(0.5, 1.5, channels_out).astype(np.float32))])
        return self.node("Add", [scaled, self.floats(channels_out, scale=0.1)])

    def hard_sigmoid(self, x: str) -> str:
        shifted = self.node("Add", [x, self.constant(np.float32(3))])
        clipped = self.node("Clip", [shifted, self.constant(np.float32(0)), self.constant(np.float32(6))])
        return self.node("Mul", [clipped, self.constant(np.float32(1 / 6))])

    def pad(self, x: str, pads: list[int], mode: str = "constant", value: float = 0.0) -> str:
        return self.node("Pad", [x, self.constant(np.array(pads, np.int64)), self.constant(np.float32(value))],
                         mode=mode)

    def model(self, name: str, input_shape: tuple[int, ...], output: str,
              output_shape: tuple[int, ...]) -> onnx.ModelProto:
        self.nodes.append(onnx.helper.make_node("Identity", [output], ["output"], name="output"))
        graph = onnx.helper.make_graph(
            self.nodes, name, [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, input_shape)],
            [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, output_shape)], self.initializers)
        return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)], ir_version=8)


def keras_mobilenetv3_block(seed: int) -> tuple[onnx.ModelProto, tuple[int, ...]]:
    """An RGB input's rescaling and per-channel normalization, a stem conv with hard-swish, Keras' asymmetric
    `correct_pad` before a stride-2 depthwise conv, squeeze-excite with ReduceMean over H, W, a projection with a
    residual Add: what tf2onnx writes for MobileNetV3 and EfficientNet."""
    shape = (1, 10, 11, 3)
    g = KerasGraph(seed)
    x = g.node("Mul", ["input", g.constant(np.float32(1 / 127.5))])
    x = g.node("Add", [x, g.constant(np.array([-1.0, -0.5, 0.25], np.float32))])
    x = g.node("Mul", [x, g.constant(np.array([1.5, 0.75, 2.0], np.float32))])
    stem = g.conv(x, 3, 8, 3, pads=(1, 1, 1, 1))
    stem = g.node("Mul", [stem, g.hard_sigmoid(stem)])
    padded = g.pad(stem, [0, 0, 1, 0, 0, 1, 1, 0])
    depthwise = g.node("Relu", [g.conv(padded, 8, 8, 3, stride=2, group=8)])
    squeezed = g.node("ReduceMean", [depthwise], axes=[1, 2], keepdims=1)
    excite = g.node("Relu", [g.conv(squeezed, 8, 4, 1)])
    excite = g.hard_sigmoid(g.conv(excite, 4, 8, 1))
    scaled = g.node("Mul", [depthwise, excite])
    projected = g.conv(scaled, 8, 8, 1)
    return g.model("keras_mobilenetv3_block", shape, g.node("Add", [projected, depthwise]),
                   (1, 5, 6, 8)), shape


def keras_pads_kept(seed: int) -> tuple[onnx.ModelProto, tuple[int, ...]]:
    """Pads before tf2onnx's Transpose -> Conv that must not fold: a nonzero value, reflect mode, the channel axis,
    and a zero Pad that another operator reads too."""
    shape = (1, 7, 8, 4)
    g = KerasGraph(seed)
    x = g.conv(g.pad("input", [0, 1, 0, 0, 0, 1, 1, 0], value=0.5), 4, 6, 3)
    x = g.conv(g.pad(x, [0, 1, 1, 0, 0, 1, 1, 0], mode="reflect"), 6, 6, 3)
    x = g.conv(g.pad(x, [0, 0, 0, 1, 0, 0, 0, 1]), 8, 5, 1)
    padded = g.pad(x, [0, 1, 0, 0, 0, 0, 2, 0])
    return g.model("keras_pads_kept", shape, g.node("Add", [g.conv(padded, 5, 5, 1), padded]),
                   (1, 8, 9, 5)), shape


GRAPH_CASES = {
    "keras_mobilenetv3_block": keras_mobilenetv3_block,
    "keras_pads_kept": keras_pads_kept,
}


def make_graph_case(name: str, output: Path, seed: int = 0) -> None:
    model, shape = GRAPH_CASES[name](seed)
    session = write_model(model, output, f"{name}: made by onnxrun tools/make_pattern_models.py", {})
    example = np.random.default_rng(seed + 100).uniform(0, 255, shape).astype(np.float32)
    (result,) = session.run(["output"], {"input": example})
    write_test_data(output, example, result)
    report(name, output, model)


def write_test_data(output: Path, example: np.ndarray, result: np.ndarray) -> None:
    folder = output / "test_data_set_0"
    folder.mkdir()
    for tensor_name, value, stem in [("input", example, "input_0"), ("output", result, "output_0")]:
        (folder / f"{stem}.pb").write_bytes(numpy_helper.from_array(value, tensor_name).SerializeToString())


def report(name: str, output: Path, model: onnx.ModelProto) -> None:
    size = sum(path.stat().st_size for path in output.rglob("*") if path.is_file())
    print(f"{name}: {size} bytes, ops {sorted({node.op_type for node in model.graph.node})}")


def make(name: str, output: Path, seed: int = 0) -> None:
    builder, shape = CASES[name]
    torch.manual_seed(seed)
    module = builder()
    module = calibrate(module, seed, shape[-1]) if len(shape) == 4 else calibrate(module, seed, 0).eval()
    example = torch.from_numpy(np.random.default_rng(seed + 100).standard_normal(shape).astype(np.float32))
    if name.endswith("_dynamo"):
        model = torch.onnx.export(module, (example,), dynamo=True, opset_version=18, input_names=["input"],
                                  output_names=["output"], external_data=False, verbose=False).model_proto
    else:
        buffer = io.BytesIO()
        torch.onnx.export(module, (example,), buffer, dynamo=False, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)
        model = onnx.load_from_string(buffer.getvalue())
    session = write_model(model, output, f"{name}: made by onnxrun tools/make_pattern_models.py", {})
    (result,) = session.run(["output"], {"input": example.numpy()})
    with torch.no_grad():
        expected = module(example).numpy()
    difference = float(np.abs(result - expected).max())
    if difference > 1e-4:
        raise RuntimeError(f"{name}: onnxruntime differs from torch by {difference:g}")
    write_test_data(output, example.numpy(), result)
    report(name, output, model)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(CASES) + sorted(GRAPH_CASES))
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent.parent / "models" / "patterns")
    arguments = parser.parse_args()
    for name in [arguments.only] if arguments.only else list(CASES) + list(GRAPH_CASES):
        (make_graph_case if name in GRAPH_CASES else make)(name, arguments.output / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
