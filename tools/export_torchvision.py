#!/usr/bin/env python3
"""Exports any torchvision classifier with seeded random weights and calibrated normalization to ONNX, with
onnxruntime reference outputs.

Seeded random weights, not pretrained ones (nothing to download, nothing large to commit), made input-sensitive:
BatchNorm scale and shift randomized, running statistics measured on random inputs (activations stay near unit
scale), then perturbed (so the exporter's BatchNorm folding is not an identity); every Linear layer scaled to
1/sqrt(fan-in); LayerNorm/GroupNorm affine parameters randomized; ConvNeXt's layer scale (1e-6 at init, which would
hide its blocks' MatMuls below any tolerance) set to 0.3...1. The summary line reports `input_sensitivity`: how much
the logits of two random inputs differ, relative to their size (a value near 0 means a test on this model could not
catch a runtime that mishandles its input).

Writes `<output>/model.onnx`, `<output>/test_data_set_0/{input_0,output_0}.pb` (+ `.npy` unless --no-npy), with
`--dynamic-batch` a `test_data_set_1` at batch 3. TorchScript exporter at opset 11...17 (default 13), or `--dynamo`
for opset 18+ (needs onnxscript).

    /work/venv/bin/python tools/export_torchvision.py convnext_tiny --output /work/exports/convnext_tiny
    /work/venv/bin/python tools/export_torchvision.py shufflenet_v2_x0_5 --size 64 --num-classes 10 --output DIR
    /work/venv/bin/python tools/export_torchvision.py --grid issue8 --output /work/exports   # issue 8's 12 models
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import numpy_helper
from torch import nn

from onnx_export_common import write_model

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
IMAGENET_MEAN = "0.485,0.456,0.406"
IMAGENET_STD = "0.229,0.224,0.225"

# The models of issue 8's table, in its order.
ISSUE8_MODELS = ["mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "resnet18", "resnet50",
                 "squeezenet1_1", "shufflenet_v2_x0_5", "densenet121", "mnasnet1_0", "regnet_y_400mf",
                 "convnext_tiny", "googlenet"]

# Constructor arguments some classifiers need to export as one plain forward pass.
MODEL_ARGUMENTS = {
    "googlenet": {"aux_logits": False, "transform_input": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "transform_input": False, "init_weights": True},
}


# MARK: - The network


def torchvision_network(name: str, num_classes: int) -> nn.Module:
    import torchvision

    return torchvision.models.get_model(name, weights=None, num_classes=num_classes, **MODEL_ARGUMENTS.get(name, {}))


def calibrate(network: nn.Module, seed: int, size: int) -> nn.Module:
    """Makes a randomly initialised network's output depend on its input, with non-trivial normalization to fold.

    With torchvision's initialisation and made-up BatchNorm statistics, the input-dependent part of the
    activations shrinks about tenfold at every stage and the logits end up the same for every input (to 1e-7), so
    a runtime that mishandled its input would still match. Instead: random BatchNorm scale and shift, then running
    statistics measured on random inputs (so activations stay near unit scale), then those statistics perturbed (so
    folding them into the Conv is not an identity). The generator is drawn in the same order as
    export_mobilenetv2.py always did, so MobileNetV2 exports stay byte-identical.
    """
    generator = torch.Generator().manual_seed(seed + 1)
    batch_norms = [module for module in network.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for module in batch_norms:
            count = module.num_features
            module.weight.copy_(torch.empty(count).uniform_(0.5, 1.5, generator=generator))
            module.bias.copy_(torch.randn(count, generator=generator) * 0.2)
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batches
        for module in network.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, 1.0 / module.in_features ** 0.5, generator=generator)
                if module.bias is not None:
                    module.bias.normal_(0.0, 0.1, generator=generator)
            elif isinstance(module, (nn.LayerNorm, nn.GroupNorm)) and module.weight is not None:
                module.weight.copy_(torch.empty(module.weight.shape).uniform_(0.5, 1.5, generator=generator))
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.2)
        for name, parameter in network.named_parameters():
            if name.endswith("layer_scale"):
                parameter.copy_(torch.empty(parameter.shape).uniform_(0.3, 1.0, generator=generator))
        if batch_norms:
            network.train()
            for _ in range(2):
                network(torch.randn(8, 3, size, size, generator=generator))
            for module in batch_norms:
                count = module.num_features
                module.running_mean.add_(torch.randn(count, generator=generator) * 0.2 * module.running_var.sqrt())
                module.running_var.mul_(torch.empty(count).uniform_(0.7, 1.4, generator=generator))
                module.momentum = 0.1
    return network.eval()


# MARK: - Export


def preprocessing_metadata(size: int) -> dict[str, str]:
    """ImageNet recipe: resize the shorter side to size / 0.875 (256 for 224), centre-crop size."""
    return {
        "onnxrun.preprocess.resize": str(int(round(size / 0.875))),
        "onnxrun.preprocess.crop": str(size),
        "onnxrun.preprocess.mean": IMAGENET_MEAN,
        "onnxrun.preprocess.std": IMAGENET_STD,
        "onnxrun.preprocess.layout": "NCHW",
        "onnxrun.preprocess.channel_order": "RGB",
    }


def export_onnx(network: nn.Module, size: int, opset: int, dynamo: bool, dynamic_batch: bool) -> onnx.ModelProto:
    example = torch.zeros(1, 3, size, size)
    if dynamo:
        dynamic_shapes = {"x": {0: torch.export.Dim("batch", min=1, max=1024)}} if dynamic_batch else None
        program = torch.onnx.export(network, (example,), dynamo=True, opset_version=opset,
                                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                    dynamic_shapes=dynamic_shapes, external_data=False, verbose=False)
        return program.model_proto
    buffer = io.BytesIO()
    dynamic_axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic_batch else None
    torch.onnx.export(network, (example,), buffer, dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
                      output_names=[OUTPUT_NAME], dynamic_axes=dynamic_axes, do_constant_folding=True)
    return onnx.load_from_string(buffer.getvalue())


def random_image(batch: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, 3, size, size)).astype(np.float32)


def write_test_set(session: onnxruntime.InferenceSession, folder: Path, batch: int, size: int, seed: int,
                   network: nn.Module, npy: bool) -> float:
    """Writes one test_data_set from a seeded random input; returns max |onnxruntime - torch|."""
    image = random_image(batch, size, seed)
    (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: image})
    with torch.no_grad():
        expected = network(torch.from_numpy(image)).numpy()
    folder.mkdir(parents=True, exist_ok=True)
    for name, value, stem in [(INPUT_NAME, image, "input_0"), (OUTPUT_NAME, logits, "output_0")]:
        (folder / f"{stem}.pb").write_bytes(numpy_helper.from_array(value, name).SerializeToString())
        if npy:
            np.save(folder / f"{stem}.npy", value)
    return float(np.abs(logits - expected).max() / max(1.0, float(np.abs(expected).max())))


def input_sensitivity(session: onnxruntime.InferenceSession, size: int, seed: int) -> float:
    """max |logits(a) - logits(b)| / max |logits(a)| for two random inputs a, b."""
    first, second = (session.run([OUTPUT_NAME], {INPUT_NAME: random_image(1, size, seed + offset)})[0]
                     for offset in (0, 1))
    return float(np.abs(first - second).max() / max(1e-30, float(np.abs(first).max())))


def export_network(network: nn.Module, output: Path, description: str, size: int, opset: int, dynamo: bool = False,
                   dynamic_batch: bool = False, seed: int = 0, npy: bool = True) -> dict:
    """Exports a calibrated network, writes its test data sets and returns the summary (also printed)."""
    started = time.monotonic()
    model = export_onnx(network, size, opset, dynamo, dynamic_batch)
    model.producer_name = model.producer_name or "pytorch"
    session = write_model(model, output, description, preprocessing_metadata(size))
    batches = [1, 3] if dynamic_batch else [1]
    differences = [write_test_set(session, output / f"test_data_set_{index}", batch, size, seed + 100 + index,
                                  network, npy) for index, batch in enumerate(batches)]
    if max(differences) > 1e-3:
        raise RuntimeError(f"{output}: onnxruntime differs from torch by {max(differences):g} (relative)")
    summary = {
        "path": str(output), "size": size, "opset": opset, "exporter": "dynamo" if dynamo else "torchscript",
        "dynamic_batch": dynamic_batch, "batches": batches, "model_bytes": (output / "model.onnx").stat().st_size,
        "max_relative_onnxruntime_minus_torch": max(differences),
        "input_sensitivity": round(input_sensitivity(session, size, seed + 200), 4),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary))
    return summary


def export(name: str, size: int, opset: int, output: Path, dynamo: bool = False, dynamic_batch: bool = False,
           num_classes: int = 1000, seed: int = 0, npy: bool = True,
           builder: Callable[[str, int], nn.Module] = torchvision_network) -> dict:
    torch.manual_seed(seed)
    network = calibrate(builder(name, num_classes), seed, size)
    description = (f"torchvision {name}, {size}x{size}, seeded random weights (seed {seed}) with calibrated "
                   f"normalization; exported by onnxrun tools/export_torchvision.py")
    return {"model": name} | export_network(network, output, description, size, opset, dynamo, dynamic_batch, seed,
                                            npy)


def export_grid(variants: list[tuple[str, Callable[[Path], dict]]], output: Path) -> int:
    """Exports each (name, export into a folder) into output/name, writes output/index.json with the summaries;
    returns the exit status (1 when any failed, after trying all)."""
    summaries, failures = [], []
    for name, export_variant in variants:
        try:
            summaries.append(export_variant(output / name))
        except Exception as error:
            failures.append(f"{name}: {type(error).__name__}: {error}")
            print(f"FAILED {failures[-1]}", file=sys.stderr)
    (output / "index.json").write_text(json.dumps(summaries, indent=1) + "\n")
    print(f"{len(summaries)} variants in {output}, {len(failures)} failed")
    return 1 if failures else 0


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every torch export script takes: size, opset, exporter, batch, classes, seed, data, output."""
    parser.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    parser.add_argument("--opset", type=int, default=13, help="11...17 (TorchScript) or 18+ with --dynamo")
    parser.add_argument("--dynamo", action="store_true", help="use torch.onnx.export(dynamo=True) (needs onnxscript)")
    parser.add_argument("--dynamic-batch", action="store_true", help="symbolic batch; adds test_data_set_1 at batch 3")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-npy", action="store_true", help="write only the .pb test data, no .npy copies")
    parser.add_argument("--output", type=Path, required=True,
                        help="the model folder (replaced), or with --grid the folder holding one per variant")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="a torchvision classifier name (torchvision.models.list_models())")
    add_export_arguments(parser)
    parser.add_argument("--grid", choices=["issue8"], help="export a set of models into --output/<name>/")
    arguments = parser.parse_args()

    if arguments.size < 32:
        parser.error("--size must be at least 32")
    if bool(arguments.grid) == bool(arguments.model):
        parser.error("give a model name or --grid, not both")
    if arguments.grid:
        return export_grid([(name, lambda folder, name=name: export(
            name, arguments.size, arguments.opset, folder, arguments.dynamo, arguments.dynamic_batch,
            arguments.num_classes, arguments.seed, not arguments.no_npy)) for name in ISSUE8_MODELS], arguments.output)
    export(arguments.model, arguments.size, arguments.opset, arguments.output, arguments.dynamo,
           arguments.dynamic_batch, arguments.num_classes, arguments.seed, not arguments.no_npy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
