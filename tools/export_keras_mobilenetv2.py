#!/usr/bin/env python3
"""Exports Keras's MobileNetV2 (or, with --application, another tf.keras.applications classifier: EfficientNetB0,
MobileNetV3Small/Large, ResNet50, ...) with seeded random weights to ONNX through tf2onnx.

The third exporter family next to torchvision (TorchScript and dynamo): the graph keeps Keras's NHWC input, so
tf2onnx wraps the NCHW Conv stack in Transposes, writes Relu6 as Clip, BatchNorm as Mul/Add (or folds it), and the
classifier as MatMul + Add + Softmax. Any width Keras allows (alpha 0.35, 0.5, 0.75, 1.0, 1.3, 1.4) and input size,
opsets 13/17 (anything tf2onnx accepts).

Needs its own venv (TensorFlow does not share one with torch here):
    python3 -m venv /work/venv-tf && /work/venv-tf/bin/pip install tensorflow-cpu tf2onnx onnxruntime numpy pillow

Weights are random (`weights=None`, nothing is downloaded): BatchNorm scale and shift randomized, running
statistics measured on random inputs so that activations stay near unit scale (else the logits come out the same
for every input, see models/README.md), then perturbed so that folding them is not an identity; the classifier is
re-initialised at unit output scale. Writes `<output>/model.onnx` and `<output>/test_data_set_0` (batch 1) with
onnxruntime's outputs (TensorProto `.pb`, named as the graph's input/output), plus `test_data_set_1` (batch 3)
with `--dynamic-batch`. Input values are uniform in [-1, 1], the range of Keras's `inception` preprocessing, which
the `onnxrun.preprocess.*` metadata describes (layout NHWC); `--photos` adds one more test set per image, made with
that preprocessing (PIL), for checking the vision pipeline end to end.

    /work/venv-tf/bin/python tools/export_keras_mobilenetv2.py --alpha 0.35 --size 96 --opset 13 --classes 10 \
        --dynamic-batch --photos models/images/chelsea.png models/images/coffee.png \
        --output models/keras-mobilenetv2-0.35-96
    /work/venv-tf/bin/python tools/export_keras_mobilenetv2.py --application EfficientNetB0 --output DIR
    /work/venv-tf/bin/python tools/export_keras_mobilenetv2.py --grid --output /work/exports-keras
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter

import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx
from onnx import numpy_helper

from onnx_export_common import write_model

INPUT_NAME = "input"
KERAS_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# The applications that take a width multiplier (alpha); the others are built at their one width.
WIDTH_APPLICATIONS = ("MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large")


# MARK: - The network


def build_network(alpha: float, size: int, classes: int, activation: str | None, seed: int,
                  application: str = "MobileNetV2") -> tf.keras.Model:
    """A Keras application (MobileNetV2 by default) with seeded random weights whose output depends on its input.

    Keras initialises BatchNorm to gamma 1, beta 0, mean 0, variance 1; with those the activations shrink stage
    after stage and every input gives the same logits. So: random gamma and beta, then the moving statistics set to
    the statistics of a random batch (one training-mode call with momentum 0 sets each layer's moving mean and
    variance to exactly the batch statistics that layer normalised with), then perturbed (mean shifted by 0.2
    sigma, variance scaled by 0.7...1.4).
    """
    tf.keras.utils.set_random_seed(seed)
    width = {"alpha": alpha} if application in WIDTH_APPLICATIONS else {}
    network = getattr(tf.keras.applications, application)(input_shape=(size, size, 3), weights=None,
                                                           classes=classes, classifier_activation=activation, **width)
    rng = np.random.default_rng(seed + 1)
    batch_norms = [layer for layer in network.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
    for layer in batch_norms:
        count = layer.gamma.shape[0]
        layer.gamma.assign(rng.uniform(0.5, 1.5, count).astype(np.float32))
        layer.beta.assign((rng.standard_normal(count) * 0.2).astype(np.float32))
    # The classifier (a Dense layer, or MobileNetV3's 1x1 Conv2D "Logits"): the last layer with a kernel.
    dense = [layer for layer in network.layers if getattr(layer, "kernel", None) is not None][-1]
    shape = tuple(dense.kernel.shape)
    features = int(np.prod(shape[:-1]))
    dense.kernel.assign((rng.standard_normal(shape) / np.sqrt(features)).astype(np.float32))
    dense.bias.assign((rng.standard_normal(classes) * 0.1).astype(np.float32))

    momenta = [layer.momentum for layer in batch_norms]
    for layer in batch_norms:
        layer.momentum = 0.0
    network(rng.uniform(-1, 1, (8, size, size, 3)).astype(np.float32), training=True)
    for layer, momentum in zip(batch_norms, momenta):
        layer.momentum = momentum
        mean, variance = layer.moving_mean.numpy(), layer.moving_variance.numpy()
        count = mean.shape[0]
        layer.moving_mean.assign((mean + rng.standard_normal(count) * 0.2 * np.sqrt(variance)).astype(np.float32))
        layer.moving_variance.assign((variance * rng.uniform(0.7, 1.4, count)).astype(np.float32))
    return network


# MARK: - Export


def preprocessing_metadata(size: int, activation: str | None) -> dict[str, str]:
    """Keras's `mobilenet_v2.preprocess_input` (x / 127.5 - 1) on an NHWC RGB image, centre-cropped like ImageNet."""
    return {
        "onnxrun.preprocess.resize": str(int(round(size / 0.875))),
        "onnxrun.preprocess.crop": str(size),
        "onnxrun.preprocess.normalization": "inception",
        "onnxrun.preprocess.layout": "NHWC",
        "onnxrun.preprocess.channel_order": "RGB",
        "onnxrun.postprocess.output": "probabilities" if activation == "softmax" else "logits",
    }


def export_onnx(network: tf.keras.Model, size: int, opset: int, dynamic_batch: bool) -> onnx.ModelProto:
    """tf2onnx's Keras path, or through a tf.function where that path does not take the model (Keras 3)."""
    signature = [tf.TensorSpec((None if dynamic_batch else 1, size, size, 3), tf.float32, name=INPUT_NAME)]
    try:
        model, _ = tf2onnx.convert.from_keras(network, input_signature=signature, opset=opset)
        return model
    except Exception as error:  # Keras 3 models lack attributes tf2onnx's Keras path reads
        print(f"note: tf2onnx.convert.from_keras failed ({type(error).__name__}: {error}); using from_function",
              file=sys.stderr)
    function = tf.function(lambda image: network(image, training=False))
    model, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=opset)
    return model


def write_test_set(session: onnxruntime.InferenceSession, network: tf.keras.Model, folder: Path, batch: int,
                   size: int, seed: int) -> tuple[float, np.ndarray]:
    """Writes one test_data_set from a seeded uniform [-1, 1] input; returns (max |onnxruntime - Keras|, output)."""
    rng = np.random.default_rng(seed)
    image = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
    input_name = session.get_inputs()[0].name
    output_name = session.get_outputs()[0].name
    (output,) = session.run([output_name], {input_name: image})
    expected = network(image, training=False).numpy()
    folder.mkdir(parents=True, exist_ok=True)
    for name, value, stem in [(input_name, image, "input_0"), (output_name, output, "output_0")]:
        (folder / f"{stem}.pb").write_bytes(numpy_helper.from_array(value, name).SerializeToString())
    return float(np.abs(output - expected).max()), output


def write_photo_sets(session: onnxruntime.InferenceSession, output: Path, size: int, photos: list[Path],
                     first_index: int) -> None:
    """One test_data_set per photo, preprocessed as the metadata says, so the vision pipeline can be checked too.

    PIL bilinear resize of the shorter side to round(size / 0.875), the longer side rounded to nearest; centre
    crop (offset floor((side - size) / 2)); x / 127.5 - 1 in float32; NHWC, batch 1.
    """
    from PIL import Image

    input_name, output_name = session.get_inputs()[0].name, session.get_outputs()[0].name
    shorter_target = int(round(size / 0.875))
    for offset, photo in enumerate(photos):
        image = Image.open(photo).convert("RGB")
        width, height = image.size
        scale = shorter_target / min(width, height)
        resized = image.resize((int(round(width * scale)) if width > height else shorter_target,
                                int(round(height * scale)) if height > width else shorter_target), Image.BILINEAR)
        left, top = (resized.width - size) // 2, (resized.height - size) // 2
        pixels = np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.float32)
        tensor = (pixels / np.float32(127.5) - np.float32(1))[None]
        (result,) = session.run([output_name], {input_name: tensor})
        folder = output / f"test_data_set_{first_index + offset}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, value, stem in [(input_name, tensor, "input_0"), (output_name, result, "output_0")]:
            (folder / f"{stem}.pb").write_bytes(numpy_helper.from_array(value, name).SerializeToString())


def export(alpha: float, size: int, opset: int, output: Path, classes: int = 1000, activation: str | None = "softmax",
           dynamic_batch: bool = False, seed: int = 0, photos: list[Path] | None = None,
           application: str = "MobileNetV2") -> dict:
    started = time.monotonic()
    network = build_network(alpha, size, classes, activation, seed, application)
    model = export_onnx(network, size, opset, dynamic_batch)
    description = (f"Keras {application} alpha {alpha}, {size}x{size}, {classes} classes, classifier activation "
                   f"{activation}, seeded random weights (seed {seed}) with randomized BatchNorm statistics; "
                   f"tf2onnx {tf2onnx.__version__} from TensorFlow {tf.__version__}; "
                   f"exported by onnxrun tools/export_keras_mobilenetv2.py")
    session = write_model(model, output, description, preprocessing_metadata(size, activation))
    batches = [1, 3] if dynamic_batch else [1]
    results = [write_test_set(session, network, output / f"test_data_set_{index}", batch, size, seed + 100 + index)
               for index, batch in enumerate(batches)]
    difference = max(result[0] for result in results)
    if difference > 1e-3:
        raise RuntimeError(f"{output}: onnxruntime differs from Keras by {difference:g}")
    # Two different inputs must give clearly different outputs, else a runtime ignoring its input would pass.
    first, second = results[0][1][0], write_test_set(session, network, output / "scratch", 1, size, seed + 7)[1][0]
    shutil.rmtree(output / "scratch")
    spread = float(np.abs(first - second).max())
    if spread < 1e-2 * float(np.abs(first).max()):
        raise RuntimeError(f"{output}: the output hardly depends on the input (max change {spread:g})")
    if photos:
        write_photo_sets(session, output, size, photos, len(batches))
    summary = {
        "path": str(output), "application": application, "alpha": alpha, "size": size, "opset": opset, "classes": classes,
        "activation": activation, "dynamic_batch": dynamic_batch, "batches": batches,
        "model_bytes": (output / "model.onnx").stat().st_size, "max_abs_onnxruntime_minus_keras": difference,
        "max_change_between_inputs": spread, "ops": sorted({node.op_type for node in model.graph.node}),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary), flush=True)
    return summary


# MARK: - The variant grid


def grid(full: bool) -> list[tuple[float, int, int, str | None]]:
    """(alpha, size, opset, activation). Full: every alpha x size x opset 13/17; subset: every alpha at 224 with
    both opsets, every size at 0.35 and 1.0 (opset 13) and at 0.5 (opset 17). Both add two logits variants."""
    sizes, opsets = [96, 128, 160, 224], [13, 17]
    if full:
        variants = [(a, s, o, "softmax") for a in KERAS_ALPHAS for s in sizes for o in opsets]
    else:
        variants = [(a, 224, o, "softmax") for a in KERAS_ALPHAS for o in opsets] + \
                   [(a, s, 13, "softmax") for a in (0.35, 1.0) for s in sizes] + \
                   [(0.5, s, 17, "softmax") for s in sizes]
    variants += [(1.0, 224, 13, None), (0.35, 96, 17, None)]
    unique = []
    for variant in variants:
        if variant not in unique:
            unique.append(variant)
    return unique


def variant_name(alpha: float, size: int, opset: int, activation: str | None, dynamic_batch: bool) -> str:
    name = f"keras-mobilenetv2-{alpha:g}-{size}-op{opset}" + ("" if activation == "softmax" else "-logits")
    return name + ("-dynbatch" if dynamic_batch else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--application", default="MobileNetV2",
                        help="a tf.keras.applications classifier (default MobileNetV2; --grid is MobileNetV2's)")
    parser.add_argument("--alpha", type=float, default=1.0, help=f"width, one of {KERAS_ALPHAS} (default 1.0)")
    parser.add_argument("--size", type=int, default=224, help="input height and width, at least 32 (default 224)")
    parser.add_argument("--opset", type=int, default=13, help="ONNX opset for tf2onnx (default 13)")
    parser.add_argument("--classes", type=int, default=1000, help="classifier outputs (default 1000)")
    parser.add_argument("--logits", action="store_true", help="no softmax at the end (classifier_activation=None)")
    parser.add_argument("--dynamic-batch", action="store_true", help="symbolic batch; adds test_data_set_1 at batch 3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--photos", type=Path, nargs="*", default=[],
                        help="images to add as further test sets, preprocessed as the metadata says (needs pillow)")
    parser.add_argument("--output", type=Path, required=True,
                        help="the model folder (replaced), or with --grid the folder holding one per variant")
    parser.add_argument("--grid", choices=["subset", "full"], nargs="?", const="full",
                        help="export the variants into --output/<name>/ (default: full)")
    arguments = parser.parse_args()

    if arguments.alpha not in KERAS_ALPHAS or arguments.size < 32:
        parser.error(f"--alpha must be one of {KERAS_ALPHAS} and --size at least 32")
    activation = None if arguments.logits else "softmax"
    if arguments.grid:
        summaries, failures = [], []
        for alpha, size, opset, variant_activation in grid(arguments.grid == "full"):
            name = variant_name(alpha, size, opset, variant_activation, arguments.dynamic_batch)
            try:
                summaries.append(export(alpha, size, opset, arguments.output / name, arguments.classes,
                                        variant_activation, arguments.dynamic_batch, arguments.seed))
            except Exception as error:
                failures.append(f"{name}: {type(error).__name__}: {error}")
                print(f"FAILED {failures[-1]}", file=sys.stderr, flush=True)
        arguments.output.mkdir(parents=True, exist_ok=True)
        (arguments.output / "index.json").write_text(json.dumps(summaries, indent=1) + "\n")
        print(f"{len(summaries)} variants in {arguments.output}, {len(failures)} failed")
        return 1 if failures else 0
    export(arguments.alpha, arguments.size, arguments.opset, arguments.output, arguments.classes, activation,
           arguments.dynamic_batch, arguments.seed, arguments.photos, arguments.application)
    return 0


if __name__ == "__main__":
    sys.exit(main())
