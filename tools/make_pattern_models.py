#!/usr/bin/env python3
"""Writes models/patterns/<case>/: tiny torch modules, exported by torch's TorchScript exporter at opset 13 (the
`_dynamo` cases by its dynamo exporter at opset 18), that contain the graph patterns the optimizer rewrites
(ConvNeXt's block with its decomposed LayerNorm, GELU and Linear layers on NHWC tensors, EfficientNet's MBConv
blocks with SiLU and squeeze-excite, ShuffleNet's channel shuffle and channel split, DenseNet's concat + BatchNorm +
ReLU, upsampling Resize, attention's batched MatMuls), with seeded random weights (BatchNorm calibrated as in export_torchvision.py)
and onnxruntime's outputs in test_data_set_0. A few KB each; the Swift tests run them optimized.

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
    folder = output / "test_data_set_0"
    folder.mkdir()
    for tensor_name, value, stem in [("input", example.numpy(), "input_0"), ("output", result, "output_0")]:
        (folder / f"{stem}.pb").write_bytes(numpy_helper.from_array(value, tensor_name).SerializeToString())
    size = sum(path.stat().st_size for path in output.rglob("*") if path.is_file())
    print(f"{name}: {size} bytes, ops {sorted({node.op_type for node in model.graph.node})}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent.parent / "models" / "patterns")
    arguments = parser.parse_args()
    for name in [arguments.only] if arguments.only else CASES:
        make(name, arguments.output / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
