#!/usr/bin/env python3
"""Exports torchvision's MobileNetV2 with seeded random weights to ONNX, with onnxruntime reference outputs.

Any width (0.25...1.4) and input size, opset 11/13/17 through the TorchScript exporter (`dynamo=False`) or
opset 18+ through the new exporter (`--dynamo`, needs onnxscript), optionally with a symbolic batch dimension.
BatchNorm statistics and affine parameters are randomized before export: the exporter folds BatchNorm into the
Conv weights, and with the default statistics (mean 0, variance 1) a folding bug would go unnoticed.

Writes `<output>/model.onnx`, `<output>/test_data_set_0/{input_0,output_0}.pb` (+ `.npy` copies unless --no-npy), and with
`--dynamic-batch` a `test_data_set_1` at batch 3. Preprocessing hints go into the model's `metadata_props`
(`onnxrun.preprocess.*`: resize, crop, mean, std, layout, channel_order).

    /work/venv/bin/python tools/export_mobilenetv2.py --width 0.35 --size 96 --opset 13 --dynamic-batch \
        --no-npy --output models/mobilenetv2-0.35-96
    /work/venv/bin/python tools/export_mobilenetv2.py --grid --output /work/exports    # the benchmark variants
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

from export_torchvision import add_export_arguments, calibrate, export_grid, export_network


# MARK: - The network


def mobilenet_v2_class():
    """torchvision's MobileNetV2 class.

    `torchvision.models.mobilenetv2` is pure Python, but importing torchvision loads its C extension, which in some
    wheels (CUDA builds on a CPU-only machine) fails to load. When the plain import fails, fall back to the
    architecture rebuilt below with torchvision's module layout (same state_dict keys, same ONNX graph).
    """
    try:
        from torchvision.models.mobilenetv2 import MobileNetV2

        return MobileNetV2
    except Exception as error:  # ImportError, OSError or RuntimeError from the extension
        print(f"note: torchvision did not import ({type(error).__name__}: {error}); using the built-in copy",
              file=sys.stderr)
        return FallbackMobileNetV2


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible: round channels to a multiple of 8, never more than 10% down."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvBatchNormReLU6(nn.Sequential):
    def __init__(self, inputs: int, outputs: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 activation: bool = True):
        layers = [nn.Conv2d(inputs, outputs, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(outputs)]
        if activation:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = int(round(inputs * expand_ratio))
        self.use_res_connect = stride == 1 and inputs == outputs
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBatchNormReLU6(inputs, hidden, kernel=1))
        layers += [ConvBatchNormReLU6(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, outputs, 1, 1, 0, bias=False), nn.BatchNorm2d(outputs)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = outputs

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class FallbackMobileNetV2(nn.Module):
    """torchvision 0.29's MobileNetV2 (same layers and names), for when torchvision cannot be imported."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, round_nearest: int = 8):
        super().__init__()
        settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                    [6, 320, 1, 1]]
        channels = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [ConvBatchNormReLU6(3, channels, stride=2)]
        for expand, width, repeats, stride in settings:
            outputs = make_divisible(width * width_mult, round_nearest)
            for index in range(repeats):
                features.append(InvertedResidual(channels, outputs, stride if index == 0 else 1, expand))
                channels = outputs
        features.append(ConvBatchNormReLU6(channels, self.last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(self.last_channel, num_classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


def build_network(width: float, num_classes: int, seed: int, size: int) -> nn.Module:
    """Seeded random MobileNetV2 whose output still depends on its input, with non-trivial BatchNorm to fold
    (see export_torchvision.calibrate)."""
    torch.manual_seed(seed)
    return calibrate(mobilenet_v2_class()(num_classes=num_classes, width_mult=width), seed, size)


# MARK: - Export


def export(width: float, size: int, opset: int, output: Path, dynamo: bool = False, dynamic_batch: bool = False,
           num_classes: int = 1000, seed: int = 0, npy: bool = True) -> dict:
    network = build_network(width, num_classes, seed, size)
    description = (f"torchvision MobileNetV2 width {width}, {size}x{size}, seeded random weights (seed {seed}) "
                   f"with randomized BatchNorm statistics; exported by onnxrun tools/export_mobilenetv2.py")
    return {"width": width} | export_network(network, output, description, size, opset, dynamo, dynamic_batch, seed,
                                             npy)


# MARK: - The benchmark grid


def grid(full: bool) -> list[tuple[float, int, int, bool]]:
    """(width, size, opset, dynamo). Full: every width x size x opset 11/13/17; else the brief's subset."""
    widths, sizes, opsets = [0.25, 0.5, 0.75, 1.0, 1.4], [96, 128, 160, 224], [11, 13, 17]
    if full:
        variants = [(w, s, o, False) for w in widths for s in sizes for o in opsets]
    else:
        variants = [(w, 224, 13, False) for w in widths] + [(1.0, s, 13, False) for s in sizes] + \
                   [(0.5, 160, o, False) for o in opsets]
    variants += [(1.0, 224, 20, True), (0.5, 160, 20, True)]
    unique = []
    for variant in variants:
        if variant not in unique:
            unique.append(variant)
    return unique


def variant_name(width: float, size: int, opset: int, dynamo: bool, dynamic_batch: bool) -> str:
    width_text = f"{width:.2f}".rstrip("0").rstrip(".") if width != int(width) else f"{width:.1f}"  # 0.25, 0.5, 1.0
    name = f"mobilenetv2-{width_text}-{size}-{'dynamo' if dynamo else 'torch'}-op{opset}"
    return name + ("-dynbatch" if dynamic_batch else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier, 0.25...1.4 (default 1.0)")
    add_export_arguments(parser)
    parser.add_argument("--grid", choices=["subset", "full"], nargs="?", const="full",
                        help="export the benchmark variants into --output/<name>/ (default: full)")
    arguments = parser.parse_args()

    if arguments.width <= 0 or arguments.size < 32:
        parser.error("--width must be positive and --size at least 32")
    if arguments.grid:
        variants = [(variant_name(width, size, opset, dynamo, arguments.dynamic_batch),
                     lambda folder, width=width, size=size, opset=opset, dynamo=dynamo: export(
                         width, size, opset, folder, dynamo, arguments.dynamic_batch, arguments.num_classes,
                         arguments.seed, not arguments.no_npy))
                    for width, size, opset, dynamo in grid(arguments.grid == "full")]
        return export_grid(variants, arguments.output)
    export(arguments.width, arguments.size, arguments.opset, arguments.output, arguments.dynamo,
           arguments.dynamic_batch, arguments.num_classes, arguments.seed, not arguments.no_npy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
