#!/usr/bin/env python3
"""Latency of `onnxrun bench` against OpenVINO's CPU plugin, interleaved, and the deviation of reduced precision.

For every model and thread count, runs R rounds; each round starts one `onnxrun bench MODEL --threads T --json
[--precision P]` process and then one OpenVINO process (this script with --openvino-worker, run by the Python of
--openvino-python: compile_model on "CPU" with INFERENCE_NUM_THREADS=T, NUM_STREAMS=1, PERFORMANCE_HINT=LATENCY and
the plugin's **default** INFERENCE_PRECISION_HINT, which is bf16 on CPUs with AVX512-BF16 or AMX, unless
--openvino-precision says otherwise) doing the same warmup and timed runs (A B A B ...). Both get onnxrun bench's
seeded input (tools/compare_onnxruntime.py reproduces it). Reported: median over rounds of each round's median,
the ratio onnxrun / OpenVINO (below 1: onnxrun is faster), and the precision OpenVINO ran.

With --deviation, also runs each model once more on that input in four ways — onnxrun fp32 and `--precision P`,
OpenVINO with an f32 hint and with its default — and prints the max abs deviation of each reduced-precision output
from the same engine's fp32 output, and whether the argmax agrees.

OpenVINO goes in its own venv (it is not a test dependency):

    python3 -m venv /work/venv-openvino && /work/venv-openvino/bin/pip install openvino
    swift build -c release --product onnxrun
    /work/venv/bin/python tools/compare_openvino.py ../shared/models/mobilenetv2-1.0-224-torch-op13 \
        models/efficientnet-lite0 --precision bf16 --threads 1 --rounds 7 --runs 40 --deviation
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_onnxruntime import (  # noqa: E402  (the shared input generator and process measurement)
    ROOT, ComparisonError, bench_inputs, machine_description, model_label, model_path, parse_dimensions,
    run_comparison, run_measured)

DEFAULT_OPENVINO_PYTHON = "/work/venv-openvino/bin/python"


# MARK: - The OpenVINO worker (a separate process, run by the OpenVINO venv's Python)


class OpenVINOInputs:
    """The declared inputs of an OpenVINO model in the form bench_inputs reads (onnxruntime's get_inputs())."""

    class Input:
        def __init__(self, port):
            self.name = port.get_any_name()
            shape = port.get_partial_shape()
            self.shape = [dimension.get_length() if dimension.is_static else f"dim{axis}"
                          for axis, dimension in enumerate(shape)]
            types = {"f32": "tensor(float)", "f64": "tensor(double)", "f16": "tensor(float16)",
                     "i64": "tensor(int64)", "i32": "tensor(int32)", "i8": "tensor(int8)", "u8": "tensor(uint8)",
                     "boolean": "tensor(bool)"}
            self.type = types.get(port.get_element_type().get_type_name(), str(port.get_element_type()))

    def __init__(self, model):
        self.inputs = [self.Input(port) for port in model.inputs]

    def get_inputs(self):
        return self.inputs


def openvino_worker(arguments: argparse.Namespace) -> int:
    import numpy as np
    import openvino

    core = openvino.Core()
    config = {"INFERENCE_NUM_THREADS": arguments.threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if arguments.openvino_precision:
        config["INFERENCE_PRECISION_HINT"] = arguments.openvino_precision
    started = time.perf_counter()
    model = core.read_model(arguments.model)
    feeds = bench_inputs(OpenVINOInputs(model), arguments.batch, parse_dimensions(arguments.dim), arguments.seed)
    if any(not port.get_partial_shape().is_static for port in model.inputs):
        model.reshape({name: list(value.shape) for name, value in feeds.items()})
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    load = time.perf_counter() - started
    started = time.perf_counter()
    request.infer(feeds)
    first_run = time.perf_counter() - started
    for _ in range(arguments.warmup):
        request.infer(feeds)
    latencies = []
    for _ in range(arguments.runs):
        started = time.perf_counter()
        request.infer(feeds)
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    rank = max(1, min(len(latencies), int(np.ceil(0.9 * len(latencies)))))
    if arguments.save_output:
        np.save(arguments.save_output, np.asarray(request.get_output_tensor(0).data, dtype=np.float32))
    print(json.dumps({
        "load_ms": load * 1000, "first_run_ms": first_run * 1000, "median_ms": statistics.median(latencies) * 1000,
        "p90_ms": latencies[rank - 1] * 1000, "min_ms": latencies[0] * 1000, "runs": arguments.runs,
        "threads": arguments.threads, "batch": arguments.batch,
        "precision": precision_name(compiled.get_property("INFERENCE_PRECISION_HINT")),
        "openvino_version": openvino.__version__,
    }))
    return 0


def precision_name(element_type) -> str:
    """OpenVINO's element type as its short name ("bf16", "f32")."""
    return element_type.get_type_name() if hasattr(element_type, "get_type_name") else str(element_type)


# MARK: - The comparison


def onnxrun_executable(arguments: argparse.Namespace) -> Path:
    onnxrun = Path(arguments.onnxrun)
    if not onnxrun.is_file() or not os.access(onnxrun, os.X_OK):
        raise ComparisonError(f"onnxrun executable not found at {onnxrun}: build it with "
                              f"`swift build -c release --product onnxrun`, or pass --onnxrun PATH")
    return onnxrun


def worker_command(arguments: argparse.Namespace, model: Path, threads: int, common: list[str],
                   precision: str | None = None, save_output: str | None = None) -> list[str]:
    command = [arguments.openvino_python, str(Path(__file__).resolve()), "--openvino-worker", str(model),
               "--threads", str(threads), *common]
    if precision:
        command += ["--openvino-precision", precision]
    if save_output:
        command += ["--save-output", save_output]
    return command


def compare(arguments: argparse.Namespace) -> int:
    onnxrun = onnxrun_executable(arguments)
    if not os.access(arguments.openvino_python, os.X_OK):
        raise ComparisonError(f"no Python at {arguments.openvino_python}: create the OpenVINO venv "
                              f"(python3 -m venv /work/venv-openvino && /work/venv-openvino/bin/pip install openvino)")
    models = [model_path(argument) for argument in arguments.models]
    thread_counts = [int(value) for value in arguments.threads.split(",") if value.strip()]
    if not thread_counts or min(thread_counts) < 1:
        raise ComparisonError(f"--threads expects positive counts like 1,2 (got {arguments.threads!r})")
    parse_dimensions(arguments.dim)
    machine = machine_description()
    print(f"{machine['date']}, {machine['cpu']} ({machine['cores']} cores), onnxrun --precision "
          f"{arguments.precision}, {arguments.rounds} rounds x {arguments.runs} runs (+{arguments.warmup} warmup), "
          f"batch {arguments.batch}")
    common = ["--warmup", str(arguments.warmup), "--runs", str(arguments.runs), "--batch", str(arguments.batch),
              "--seed", str(arguments.seed)] + [part for value in arguments.dim for part in ("--dim", value)]
    rows = []
    for model in models:
        for threads in thread_counts:
            label = f"{model_label(model)} threads={threads}"
            commands = {
                "onnxrun": [str(onnxrun), "bench", str(model), "--threads", str(threads), "--json",
                            "--precision", arguments.precision, *common],
                "openvino": worker_command(arguments, model, threads, common, arguments.openvino_precision),
            }
            medians: dict[str, list[float]] = {"onnxrun": [], "openvino": []}
            openvino_precision = "?"
            for _ in range(arguments.rounds):
                for runtime in ("onnxrun", "openvino"):
                    result, _, _ = run_measured(commands[runtime], f"{runtime} on {label}", arguments.timeout)
                    medians[runtime].append(result["median_ms"])
                    if runtime == "openvino":
                        openvino_precision = result.get("precision", "?")
            row = {"model": model_label(model), "threads": threads,
                   "onnxrun_ms": statistics.median(medians["onnxrun"]),
                   "openvino_ms": statistics.median(medians["openvino"]), "openvino_precision": openvino_precision,
                   "onnxrun_rounds_ms": medians["onnxrun"], "openvino_rounds_ms": medians["openvino"]}
            row["ratio"] = row["onnxrun_ms"] / row["openvino_ms"]
            rows.append(row)
            print(f"{label}: onnxrun ({arguments.precision}) {row['onnxrun_ms']:.3f} ms, OpenVINO "
                  f"({openvino_precision}) {row['openvino_ms']:.3f} ms, ratio {row['ratio']:.3f}", flush=True)
        if arguments.deviation:
            deviation(arguments, onnxrun, model, common)
    print()
    print(f"| model | threads | onnxrun {arguments.precision} ms | OpenVINO ms (precision) | onnxrun / OpenVINO |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['model']} | {row['threads']} | {row['onnxrun_ms']:.3f} | {row['openvino_ms']:.3f} "
              f"({row['openvino_precision']}) | **{row['ratio']:.2f}** |")
    if arguments.json:
        Path(arguments.json).write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
        print(f"wrote {arguments.json}")
    return 0


def deviation(arguments: argparse.Namespace, onnxrun: Path, model: Path, common: list[str]) -> None:
    """Max abs deviation of each engine's reduced-precision output from its own fp32 output, on bench's input."""
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    feeds = bench_inputs(session, arguments.batch, parse_dimensions(arguments.dim), arguments.seed)
    if len(feeds) != 1:
        raise ComparisonError(f"--deviation handles one-input models; {model} has {len(feeds)}")
    with tempfile.TemporaryDirectory() as folder:
        input_path = Path(folder) / "input.npy"
        np.save(input_path, next(iter(feeds.values())))
        outputs = {}
        for precision in ("fp32", arguments.precision):
            out = Path(folder) / f"onnxrun-{precision}"
            subprocess.run([str(onnxrun), "run", str(model), "--input", str(input_path), "--output-dir", str(out),
                            "--threads", "1", "--precision", precision], check=True, capture_output=True)
            outputs[f"onnxrun {precision}"] = np.load(sorted(out.glob("*.npy"))[0])
        for hint in ("f32", arguments.openvino_precision):
            saved = Path(folder) / f"openvino-{hint or 'default'}.npy"
            result, _, _ = run_measured(worker_command(arguments, model, 1, common, hint, str(saved)),
                                        f"openvino on {model_label(model)}", arguments.timeout)
            outputs[f"openvino {hint or 'default (' + result.get('precision', '?') + ')'}"] = np.load(saved)
    names = list(outputs)
    for reference, reduced in ((names[0], names[1]), (names[2], names[3])):
        a, b = outputs[reference].reshape(-1), outputs[reduced].reshape(-1)
        print(f"{model_label(model)}: {reduced} vs {reference}: max abs deviation {np.max(np.abs(a - b)):.4g}, "
              f"argmax {'same' if np.argmax(a) == np.argmax(b) else 'DIFFERENT'} ({np.argmax(a)} / {np.argmax(b)})",
              flush=True)


# MARK: - Command line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help=".onnx files or folders holding model.onnx")
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16"], help="onnxrun's --precision")
    parser.add_argument("--openvino-precision", default=None,
                        help="OpenVINO's INFERENCE_PRECISION_HINT (default: the plugin's own default)")
    parser.add_argument("--threads", default="1", help="comma-separated thread counts (default 1)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per model and thread count")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per process")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs after the first, per process")
    parser.add_argument("--batch", type=int, default=1, help="size of a symbolic first dimension")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE",
                        help="size of another symbolic dimension (repeatable)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the inputs (onnxrun bench's default: 42)")
    parser.add_argument("--onnxrun", default=str(ROOT / ".build" / "release" / "onnxrun"),
                        help="the onnxrun executable (default .build/release/onnxrun)")
    parser.add_argument("--openvino-python", default=DEFAULT_OPENVINO_PYTHON,
                        help=f"the Python with openvino installed (default {DEFAULT_OPENVINO_PYTHON})")
    parser.add_argument("--deviation", action="store_true",
                        help="also print each engine's reduced-precision deviation from its fp32 output")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one process may take")
    parser.add_argument("--json", help="write the summary here")
    parser.add_argument("--openvino-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save-output", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    return run_comparison(parser, arguments, arguments.openvino_worker, openvino_worker, compare)


if __name__ == "__main__":
    sys.exit(main())
