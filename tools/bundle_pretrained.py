#!/usr/bin/env python3
"""Builds models/efficientnet-lite0/ and models/images/ from ../shared: the bundled pretrained model and photos.

- models/efficientnet-lite0/: ../shared's `efficientnet-lite0-imagenet-torch-op13-padfused` (pads folded into
  Conv) with its LICENSE, plus `onnxrun.preprocess.*` metadata_props for its recipe; test_data_set_0 is chelsea.png
  (../shared's, checked bit for bit against the recipe), test_data_set_1 is coffee.png preprocessed the same way.
- models/images/: chelsea.png, coffee.png (CC0, scikit-image) and expected-top5.json, copied.

The recipe is checked, not assumed: PIL resize of the shorter side to 256 (bilinear), centre crop 224 (left/top
offset = floor((side - 224) / 2)), then (x - 127) / 128 on 0..255 values, i.e. mean 127/255 and std 128/255 on the
0..1 scale. The script fails if that does not reproduce ../shared's input exactly, if onnxruntime's output changes
with the metadata added, or if the top-5 of either photo differs from expected-top5.json.

    /work/venv/bin/python tools/bundle_pretrained.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper
from PIL import Image

SOURCE_MODEL = "models/efficientnet-lite0-imagenet-torch-op13-padfused"
RESIZE, CROP = 256, 224
# (x/255 - 127/255) / (128/255) == (x - 127) / 128: the model was trained with the latter on 0..255 values.
MEAN, STD = 127.0 / 255.0, 128.0 / 255.0
METADATA = {
    "onnxrun.preprocess.resize": str(RESIZE),
    "onnxrun.preprocess.crop": str(CROP),
    "onnxrun.preprocess.mean": ",".join([repr(MEAN)] * 3),
    "onnxrun.preprocess.std": ",".join([repr(STD)] * 3),
    "onnxrun.preprocess.layout": "NCHW",
    "onnxrun.preprocess.channel_order": "RGB",
}


def preprocess(path: Path) -> np.ndarray:
    """The recipe, with PIL: [1, 3, 224, 224] float32."""
    image = Image.open(path).convert("RGB")
    width, height = image.size
    scale = RESIZE / min(width, height)
    resized = image.resize((round(width * scale), round(height * scale)), Image.BILINEAR)
    left, top = (resized.width - CROP) // 2, (resized.height - CROP) // 2
    pixels = np.asarray(resized.crop((left, top, left + CROP, top + CROP)), dtype=np.float32)
    normalized = (pixels / 255.0 - np.float32(MEAN)) / np.float32(STD)
    return normalized.transpose(2, 0, 1)[None].astype(np.float32)


def top5(logits: np.ndarray) -> list[int]:
    return [int(index) for index in np.argsort(-logits[0])[:5]]


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=root.parent / "shared")
    parser.add_argument("--models", type=Path, default=root / "models")
    arguments = parser.parse_args()
    shared: Path = arguments.shared
    source = shared / SOURCE_MODEL
    if not (source / "model.onnx").is_file():
        print(f"error: {source}/model.onnx not found (pass --shared)", file=sys.stderr)
        return 1

    # Images.
    images = arguments.models / "images"
    images.mkdir(parents=True, exist_ok=True)
    for name in ("chelsea.png", "coffee.png", "expected-top5.json"):
        shutil.copyfile(shared / "images" / name, images / name)
    expected = json.loads((images / "expected-top5.json").read_text())["photos"]

    # The recipe reproduces ../shared's input exactly.
    reference_input = numpy_helper.to_array(onnx.load_tensor(str(source / "test_data_set_0" / "input_0.pb")))
    reference_output = numpy_helper.to_array(onnx.load_tensor(str(source / "test_data_set_0" / "output_0.pb")))
    chelsea = preprocess(images / "chelsea.png")
    difference = float(np.abs(chelsea - reference_input).max())
    if difference > 1e-6:
        print(f"error: the recipe gives an input {difference:g} away from ../shared's", file=sys.stderr)
        return 1
    print(f"recipe reproduces ../shared's chelsea input (max difference {difference:g})")

    # The model with metadata.
    model = onnx.load(str(source / "model.onnx"))
    for key in list(METADATA):
        for index in reversed(range(len(model.metadata_props))):
            if model.metadata_props[index].key == key:
                del model.metadata_props[index]
    for key, value in METADATA.items():
        model.metadata_props.add(key=key, value=value)
    output_folder = arguments.models / "efficientnet-lite0"
    shutil.rmtree(output_folder, ignore_errors=True)
    output_folder.mkdir(parents=True)
    onnx.save(model, str(output_folder / "model.onnx"))
    shutil.copyfile(source / "LICENSE", output_folder / "LICENSE")

    session = onnxruntime.InferenceSession(str(output_folder / "model.onnx"), providers=["CPUExecutionProvider"])
    input_name, output_name = session.get_inputs()[0].name, session.get_outputs()[0].name
    for index, photo in enumerate(("chelsea", "coffee")):
        image = reference_input if photo == "chelsea" else preprocess(images / f"{photo}.png")
        (logits,) = session.run([output_name], {input_name: image})
        if photo == "chelsea":
            change = float(np.abs(logits - reference_output).max())
            if change > 1e-5:
                print(f"error: output changed by {change:g} with the metadata added", file=sys.stderr)
                return 1
            print(f"onnxruntime output unchanged with the metadata (max difference {change:g})")
            logits = reference_output  # keep ../shared's reference bytes
        wanted = [entry[0] for entry in expected[photo]]
        if top5(logits) != wanted:
            print(f"error: {photo} top-5 {top5(logits)} != expected {wanted}", file=sys.stderr)
            return 1
        folder = output_folder / f"test_data_set_{index}"
        folder.mkdir()
        (folder / "input_0.pb").write_bytes(numpy_helper.from_array(image, input_name).SerializeToString())
        (folder / "output_0.pb").write_bytes(numpy_helper.from_array(logits, output_name).SerializeToString())
        print(f"{photo}: top-5 {top5(logits)} as expected -> {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
