#!/usr/bin/env python3
"""Photos per second: `onnxrun MODEL FOLDER --json` as a whole process against the Python loop people write.

The Python side is the loop a user writes with the model already loaded (its load is not timed): for each photo,
PIL `Image.open(path).convert("RGB")`, bilinear resize of the shorter side to the model's resize size (longer side
rounded), centre crop, normalization as the model's metadata says (onnxrun.preprocess.*; ImageNet defaults
otherwise), NCHW float32, onnxruntime with default threads, one image per run, softmax unless the output already
sums to 1. The onnxrun side is one `onnxrun MODEL FOLDER --json` process per round, timed from start to exit (start,
model load, everything included). Rounds interleave (python, onnxrun, python, ...) so that drifts of a shared machine
hit both alike; reported: median images/s of each, their ratio, and the load average.

Checks, on every round: same top-1 for every photo, and onnxrun's top-k probabilities within --tolerance of the
Python loop's (exit status 1 otherwise).

    swift build -c release --product onnxrun
    /work/venv/bin/python tools/compare_photos_python.py models/efficientnet-lite0/model.onnx /work/photos-48 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def model_recipe(model_path: Path):
    """(resize, crop, mean, std) from the model's onnxrun.preprocess.* metadata, ImageNet defaults otherwise."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    dims = model.graph.input[0].type.tensor_type.shape.dim
    crop = int(metadata.get("onnxrun.preprocess.crop", dims[2].dim_value or 224))
    resize = int(metadata.get("onnxrun.preprocess.resize", round(crop / 0.875)))
    numbers = lambda key, default: [float(x) for x in metadata.get(key, default).split(",")]
    mean = numbers("onnxrun.preprocess.mean", "0.485,0.456,0.406")
    std = numbers("onnxrun.preprocess.std", "0.229,0.224,0.225")
    if metadata.get("onnxrun.preprocess.layout", "NCHW") != "NCHW" or metadata.get(
            "onnxrun.preprocess.channel_order", "RGB") != "RGB":
        sys.exit("this script writes NCHW RGB inputs only")
    return resize, crop, mean, std


def python_loop(session, paths, recipe):
    """The loop people write: per photo, PIL decode + resize + crop + normalize, one onnxruntime run."""
    import numpy as np
    from PIL import Image

    resize, crop, mean, std = recipe
    mean = np.array(mean, dtype=np.float32).reshape(3, 1, 1)
    std = np.array(std, dtype=np.float32).reshape(3, 1, 1)
    input_name = session.get_inputs()[0].name
    results = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        width, height = image.size
        scale = resize / min(width, height)
        size = (resize, round(height * scale)) if width <= height else (round(width * scale), resize)
        image = image.resize(size, Image.BILINEAR)
        left, top = round((size[0] - crop) / 2), round((size[1] - crop) / 2)
        image = image.crop((left, top, left + crop, top + crop))
        pixels = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
        tensor = ((pixels - mean) / std)[np.newaxis].astype(np.float32)
        scores = session.run(None, {input_name: tensor})[0][0].astype(np.float64)
        if not (scores.min() >= 0 and abs(scores.sum() - 1) < 1e-3):
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
        results.append(scores)
    return results


def run_onnxrun(executable, model, folder):
    """Seconds for one whole `onnxrun MODEL FOLDER --json` process, and its per-image results by path."""
    start = time.perf_counter()
    process = subprocess.run([str(executable), str(model), str(folder), "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"onnxrun failed ({process.returncode}): {process.stderr[-2000:]}")
    return seconds, {Path(item["image"]).name: item for item in json.loads(process.stdout)}


def check(python_results, onnxrun_results, paths, tolerance):
    """Problems (strings): a different top-1 or a top-k probability further than `tolerance`."""
    problems = []
    worst = 0.0
    for path, scores in zip(paths, python_results):
        item = onnxrun_results.get(path.name)
        if item is None or "error" in item:
            problems.append(f"{path.name}: onnxrun gave {item}")
            continue
        top = item["top"]
        if top[0]["index"] != int(scores.argmax()):
            problems.append(f"{path.name}: top-1 {top[0]['index']} (onnxrun) vs {int(scores.argmax())} (python)")
        for prediction in top:
            difference = abs(prediction["probability"] - scores[prediction["index"]])
            worst = max(worst, difference)
            if difference > tolerance:
                problems.append(f"{path.name}: class {prediction['index']} {prediction['probability']:.6f} vs "
                                f"{scores[prediction['index']]:.6f}")
    return problems, worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--onnxrun", type=Path, default=ROOT / ".build/release/onnxrun")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    arguments = parser.parse_args()

    import onnxruntime

    paths = sorted(p for p in arguments.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        sys.exit(f"no images in {arguments.folder}")
    recipe = model_recipe(arguments.model)
    session = onnxruntime.InferenceSession(str(arguments.model), providers=["CPUExecutionProvider"])
    python_loop(session, paths[:1], recipe)  # warm up outside the timing, as a loaded model would be

    python_rates, onnxrun_rates, loads, worst = [], [], [], 0.0
    failed = False
    for round_index in range(arguments.rounds):
        start = time.perf_counter()
        python_results = python_loop(session, paths, recipe)
        python_rates.append(len(paths) / (time.perf_counter() - start))
        seconds, onnxrun_results = run_onnxrun(arguments.onnxrun, arguments.model, arguments.folder)
        onnxrun_rates.append(len(paths) / seconds)
        loads.append(os.getloadavg()[0])
        problems, round_worst = check(python_results, onnxrun_results, paths, arguments.tolerance)
        worst = max(worst, round_worst)
        failed = failed or bool(problems)
        for problem in problems[:10]:
            print("MISMATCH", problem)
        print(f"round {round_index + 1}: python {python_rates[-1]:.1f} images/s, onnxrun {onnxrun_rates[-1]:.1f} "
              f"images/s ({onnxrun_rates[-1] / python_rates[-1]:.2f}x), load average {loads[-1]:.2f}", flush=True)

    python_median, onnxrun_median = statistics.median(python_rates), statistics.median(onnxrun_rates)
    print(f"\n{len(paths)} photos, {arguments.rounds} interleaved rounds, {os.cpu_count()} cores, "
          f"onnxruntime {onnxruntime.__version__}, load average {min(loads):.2f}-{max(loads):.2f}")
    print(f"python loop (model loaded):          {python_median:7.1f} images/s (median)")
    print(f"onnxrun --json (whole process):      {onnxrun_median:7.1f} images/s (median)")
    print(f"ratio onnxrun / python:              {onnxrun_median / python_median:7.2f}x")
    print(f"same top-1 for every photo, top-k probabilities within {arguments.tolerance:g}: "
          f"{'yes' if not failed else 'NO'} (largest difference {worst:.2e})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
