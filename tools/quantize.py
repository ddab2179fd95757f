#!/usr/bin/env python3
"""Quantizes a model with onnxruntime's own tool (or converts it to float16) and writes onnxruntime's outputs for it.

Modes (each exactly as a user of onnxruntime would call it):
  qdq        quantize_static(..., quant_format=QDQ, per_channel=True, weight_type=QInt8, activation_type=QUInt8)
  qoperator  the same with quant_format=QOperator (QLinearConv + com.microsoft QLinearAdd, QGemm, ...)
  dynamic    quantize_dynamic(..., weight_type=QInt8) (DynamicQuantizeLinear, ConvInteger, MatMulInteger)
  float16    onnxruntime.transformers.float16.convert_float_to_float16(model, keep_io_types=True)
             (--no-keep-io-types: float16 graph inputs and outputs too)

Static modes calibrate on the photos in --calibration (files or folders of JPEG/PNG), preprocessed exactly as
onnxrun's classify command does for that model: the `onnxrun.preprocess.*` metadata (models/README.md) — PIL
bilinear resize of the shorter side, centre crop (left/top offset floor((side - crop) / 2)), (x / 255 - mean) / std
or the `inception` preset x / 127.5 - 1, RGB or BGR, NCHW or NHWC. Without metadata: crop = the input size, resize =
round(crop / 0.875), ImageNet mean/std, NCHW, RGB.

The output folder gets model.onnx (the source's metadata_props kept) and test_data_set_N/ in the ONNX backend-test
layout: the source model's test_data_set_* inputs (if any), then one set per --test-photo, with onnxruntime's outputs
for the new model (1 thread). It prints the largest difference from the float model and the top-1 agreement.

    /work/venv/bin/python tools/quantize.py models/mobilenetv2-0.35-96/model.onnx --mode qdq \\
        --calibration models/images ../shared/images --output models/mobilenetv2-0.35-96-qdq
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper
from PIL import Image

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


# MARK: - Preprocessing (onnxrun's classify recipe)


class Recipe:
    """The model's preprocessing, from its metadata_props and input shape."""

    def __init__(self, model: onnx.ModelProto):
        metadata = {entry.key: entry.value for entry in model.metadata_props}
        graph_input = model.graph.input[0]
        dims = [d.dim_value for d in graph_input.type.tensor_type.shape.dim]
        self.layout = metadata.get("onnxrun.preprocess.layout", "NHWC" if dims[-1] == 3 else "NCHW")
        crop_default = dims[1] if self.layout == "NHWC" else dims[2]
        self.crop = int(metadata.get("onnxrun.preprocess.crop", crop_default))
        self.resize = int(metadata.get("onnxrun.preprocess.resize", round(self.crop / 0.875)))
        self.inception = metadata.get("onnxrun.preprocess.normalization") == "inception"
        self.mean = np.array([float(v) for v in metadata.get("onnxrun.preprocess.mean", "0.485,0.456,0.406").split(",")],
                             dtype=np.float32)
        self.std = np.array([float(v) for v in metadata.get("onnxrun.preprocess.std", "0.229,0.224,0.225").split(",")],
                            dtype=np.float32)
        self.bgr = metadata.get("onnxrun.preprocess.channel_order", "RGB") == "BGR"
        self.input_name = graph_input.name

    def __call__(self, path: Path) -> np.ndarray:
        image = Image.open(path).convert("RGB")
        width, height = image.size
        scale = self.resize / min(width, height)
        resized = image.resize((round(width * scale), round(height * scale)), Image.BILINEAR)
        left, top = (resized.width - self.crop) // 2, (resized.height - self.crop) // 2
        pixels = np.asarray(resized.crop((left, top, left + self.crop, top + self.crop)), dtype=np.float32)
        if self.inception:
            normalized = pixels / np.float32(127.5) - np.float32(1)
        else:
            normalized = (pixels / np.float32(255) - self.mean) / self.std
        if self.bgr:
            normalized = normalized[:, :, ::-1]
        if self.layout == "NCHW":
            normalized = normalized.transpose(2, 0, 1)
        return np.ascontiguousarray(normalized[None], dtype=np.float32)


def photos(paths: list[Path]) -> list[Path]:
    """The photos in `paths` (files, or folders' JPEG/PNG files), each content once."""
    found, seen = [], set()
    for path in paths:
        candidates = sorted(p for p in path.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES) if path.is_dir() else [path]
        for candidate in candidates:
            content = candidate.read_bytes()
            if candidate.suffix.lower() in PHOTO_SUFFIXES and content not in seen:
                seen.add(content)
                found.append(candidate)
    return found


# MARK: - Quantizing


def quantize(source: Path, mode: str, calibration: list[Path], keep_io_types: bool, destination: Path) -> None:
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)

    if mode == "dynamic":
        quantize_dynamic(str(source), str(destination), weight_type=QuantType.QInt8)
        return
    if mode == "float16":
        from onnxruntime.transformers.float16 import convert_float_to_float16
        onnx.save(convert_float_to_float16(onnx.load(str(source)), keep_io_types=keep_io_types), str(destination))
        return

    recipe = Recipe(onnx.load(str(source)))
    images = photos(calibration)
    if not images:
        raise SystemExit(f"no photos to calibrate on in {[str(p) for p in calibration]}")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.pending = iter(images)

        def get_next(self):
            path = next(self.pending, None)
            return None if path is None else {recipe.input_name: recipe(path)}

    quantize_static(str(source), str(destination), Reader(),
                    quant_format=QuantFormat.QDQ if mode == "qdq" else QuantFormat.QOperator,
                    per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)


def session(path: Path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="the float32 model")
    parser.add_argument("--mode", choices=["qdq", "qoperator", "dynamic", "float16"], required=True)
    parser.add_argument("--calibration", type=Path, nargs="*", default=[], help="photos or folders (static modes)")
    parser.add_argument("--no-keep-io-types", action="store_true", help="float16: float16 graph inputs and outputs")
    parser.add_argument("--test-photo", type=Path, nargs="*", default=[], help="photos to add as test data sets")
    parser.add_argument("--output", type=Path, required=True, help="folder for model.onnx and test_data_set_N")
    arguments = parser.parse_args()

    source_model = onnx.load(str(arguments.model))
    with tempfile.TemporaryDirectory() as scratch:
        written = Path(scratch) / "model.onnx"
        quantize(arguments.model, arguments.mode, arguments.calibration, not arguments.no_keep_io_types, written)
        model = onnx.load(str(written))
    del model.metadata_props[:]
    for entry in source_model.metadata_props:
        model.metadata_props.add(key=entry.key, value=entry.value)
    model.doc_string = (f"{source_model.graph.name or arguments.model.name} made by onnxrun tools/quantize.py "
                        f"--mode {arguments.mode}" + (" --no-keep-io-types" if arguments.no_keep_io_types else "")
                        + f" with onnxruntime {onnxruntime.__version__}")

    shutil.rmtree(arguments.output, ignore_errors=True)
    arguments.output.mkdir(parents=True)
    model_path = arguments.output / "model.onnx"
    model_path.write_bytes(model.SerializeToString())

    # Test inputs: the source model's test sets, then the photos.
    feeds: list[dict[str, np.ndarray]] = []
    for folder in sorted(arguments.model.parent.glob("test_data_set_*")):
        inputs = {}
        for index in range(len(source_model.graph.input)):
            path = folder / f"input_{index}.pb"
            if path.exists():
                tensor = onnx.TensorProto()
                tensor.ParseFromString(path.read_bytes())
                inputs[tensor.name or source_model.graph.input[index].name] = numpy_helper.to_array(tensor)
        feeds.append(inputs)
    recipe = Recipe(source_model)
    feeds += [{recipe.input_name: recipe(path)} for path in photos(arguments.test_photo)]

    reference, converted = session(arguments.model), session(model_path)
    input_types = {i.name: i.type for i in converted.get_inputs()}
    agree = 0
    for index, inputs in enumerate(feeds):
        typed = {name: value.astype(np.float16) if input_types[name] == "tensor(float16)" else value
                 for name, value in inputs.items()}
        outputs = converted.run(None, typed)
        expected = reference.run(None, inputs)
        folder = arguments.output / f"test_data_set_{index}"
        folder.mkdir()
        for position, (name, value) in enumerate(typed.items()):
            (folder / f"input_{position}.pb").write_bytes(numpy_helper.from_array(value, name).SerializeToString())
        for position, (output, value) in enumerate(zip(converted.get_outputs(), outputs)):
            (folder / f"output_{position}.pb").write_bytes(numpy_helper.from_array(value, output.name).SerializeToString())
        difference = float(np.max(np.abs(outputs[0].astype(np.float32) - expected[0])))
        same = bool(np.all(np.argmax(outputs[0], axis=-1) == np.argmax(expected[0], axis=-1)))
        agree += same
        print(f"test_data_set_{index}: max |{arguments.mode} - float32| = {difference:.4g}, "
              f"top-1 {'same' if same else 'DIFFERENT'}")
    size = model_path.stat().st_size / 1e6
    print(f"{arguments.output}: {size:.2f} MB, top-1 as the float model on {agree} of {len(feeds)} test sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
