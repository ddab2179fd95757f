#!/usr/bin/env python3
"""Exports torchvision networks built on activations other than ReLU (MobileNetV3: hard-swish, hard-sigmoid
squeeze-excite; EfficientNet: swish/SiLU, sigmoid squeeze-excite) with seeded random weights and calibrated
BatchNorm, with onnxruntime reference outputs.

The small variants are committed under models/ (tests run them); the full-size ones are for local checks and
profiles (`--full`, written to --output, e.g. /work/exports).

    /work/venv/bin/python tools/export_activation_models.py --output models          # the committed small models
    /work/venv/bin/python tools/export_activation_models.py --full --output /work/exports
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_export_common import write_model  # noqa: E402

INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def tiny_efficientnet(num_classes: int) -> nn.Module:
    """Three EfficientNet stages (MBConv with SiLU and sigmoid squeeze-excite, 3x3 and 5x5, strides 1 and 2)."""
    from functools import partial

    from torchvision.models.efficientnet import EfficientNet, MBConvConfig

    config = partial(MBConvConfig, width_mult=0.5, depth_mult=1.0)
    setting = [config(1, 3, 1, 32, 16, 1), config(6, 3, 2, 16, 24, 2), config(6, 5, 2, 24, 40, 1)]
    return EfficientNet(setting, dropout=0.2, num_classes=num_classes, last_channel=96)


def network_named(name: str, num_classes: int) -> nn.Module:
    import torchvision.models as models

    if name == "efficientnet-tiny":
        return tiny_efficientnet(num_classes)
    if name.startswith("mobilenet_v3_small-"):
        return models.mobilenet_v3_small(num_classes=num_classes, width_mult=float(name.split("-")[1]))
    return getattr(models, name)(num_classes=num_classes)


def calibrate_batch_norm(network: nn.Module, size: int, generator: torch.Generator) -> nn.Module:
    """Random BatchNorm scale and shift, running statistics measured on random inputs (activations stay near unit
    scale, so the output depends on the input), then perturbed (folding them is not an identity)."""
    batch_norms = [module for module in network.modules() if isinstance(module, nn.BatchNorm2d)]
    with torch.no_grad():
        for module in batch_norms:
            count = module.num_features
            module.weight.copy_(torch.empty(count).uniform_(0.5, 1.5, generator=generator))
            module.bias.copy_(torch.randn(count, generator=generator) * 0.2)
            module.reset_running_stats()
            module.momentum = None
        # torchvision initializes the classifier at std 0.01: logits would hardly depend on the input.
        classifier = [module for module in network.modules() if isinstance(module, nn.Linear)][-1]
        classifier.weight.normal_(0.0, 1.0 / classifier.in_features ** 0.5, generator=generator)
        classifier.bias.normal_(0.0, 0.1, generator=generator)
        network.train()
        for _ in range(2):
            network(torch.randn(8, 3, size, size, generator=generator))
        for module in batch_norms:
            count = module.num_features
            module.running_mean.add_(torch.randn(count, generator=generator) * 0.2 * module.running_var.sqrt())
            module.running_var.mul_(torch.empty(count).uniform_(0.7, 1.4, generator=generator))
            module.momentum = 0.1
    return network.eval()


def export(name: str, size: int, opset: int, num_classes: int, output: Path, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    network = calibrate_batch_norm(network_named(name, num_classes), size, torch.Generator().manual_seed(seed + 1))
    buffer = io.BytesIO()
    torch.onnx.export(network, (torch.zeros(1, 3, size, size),), buffer, dynamo=False, opset_version=opset,
                      input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], do_constant_folding=True)
    model = onnx.load_from_string(buffer.getvalue())
    description = (f"torchvision {name}, {size}x{size}, {num_classes} classes, seeded random weights (seed {seed}) "
                   f"with calibrated BatchNorm; exported by onnxrun tools/export_activation_models.py")
    session = write_model(model, output, description, {})
    image = np.random.default_rng(seed + 100).standard_normal((1, 3, size, size)).astype(np.float32)
    (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: image})
    with torch.no_grad():
        expected = network(torch.from_numpy(image)).numpy()
    folder = output / "test_data_set_0"
    folder.mkdir(parents=True)
    for tensor_name, value, stem in [(INPUT_NAME, image, "input_0"), (OUTPUT_NAME, logits, "output_0")]:
        (folder / f"{stem}.pb").write_bytes(numpy_helper.from_array(value, tensor_name).SerializeToString())
    difference = float(np.abs(logits - expected).max())
    if difference > 1e-3:
        raise RuntimeError(f"{output}: onnxruntime differs from torch by {difference:g}")
    ops = sorted({node.op_type for node in model.graph.node})
    summary = {"path": str(output), "opset": opset, "bytes": (output / "model.onnx").stat().st_size,
               "logits_spread": float(logits.std()), "max_abs_onnxruntime_minus_torch": difference, "ops": ops}
    print(json.dumps(summary))
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--full", action="store_true", help="the full-size ImageNet networks at 224")
    arguments = parser.parse_args()
    if arguments.full:
        for name in ["mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0"]:
            export(name, 224, 13, 1000, arguments.output / f"{name}-224")
    else:
        export("mobilenet_v3_small-0.25", 64, 13, 16, arguments.output / "mobilenetv3-small-0.25-64")
        export("efficientnet-tiny", 64, 17, 16, arguments.output / "efficientnet-tiny-64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
