#!/usr/bin/env python3
"""Latency, load time and peak memory of `onnxrun bench` against onnxruntime, interleaved, on the same models.

For every model and thread count, runs R rounds; each round starts one `onnxrun bench MODEL --threads T
--warmup W --runs N --json` process and then one onnxruntime process (this script with --onnxruntime-worker:
InferenceSession with intra_op_num_threads=T, inter_op_num_threads=1, sequential execution, default graph
optimizations) doing the same warmup and runs, so that drifts of the machine (other builds, frequency) hit both
alike (A B A B ...). Both get the same input: onnxrun bench's seeded uniform [-1, 1) values (SplitMix64, seed 42,
reproduced here bit for bit), with a symbolic first dimension set to --batch.

Reported per model and thread count: the median over rounds of each round's median latency, the ratio
onnxrun / onnxruntime (below 1: onnxrun is faster), p90 and min, load time and first run, and the peak RSS of each
process (GNU time's maximum resident set size; for onnxruntime also the Python process's RSS before loading the model, since the
interpreter, numpy and the onnxruntime library are counted in its peak). Writes a Markdown table (--markdown) with
date, CPU model (lscpu), core count, and onnxruntime version, and optionally all raw numbers (--json).

    swift build -c release --product onnxrun
    /work/venv/bin/python tools/compare_onnxruntime.py models/mobilenetv2-0.35-96 ../shared/models/*/ \
        --threads 1,2 --rounds 5 --runs 20 --markdown benchmark.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REQUIRED_KEYS = ("load_ms", "first_run_ms", "median_ms", "p90_ms", "min_ms", "runs", "threads", "batch")
ROOT = Path(__file__).resolve().parent.parent


class ComparisonError(Exception):
    """A failure with a message meant for the user (no traceback)."""


# MARK: - onnxrun bench's inputs, reproduced


def splitmix64(seed: int, count: int, offset: int):
    """`count` outputs of onnxrun's SeededGenerator (SplitMix64) after `offset` earlier ones, as uint64."""
    import numpy as np

    with np.errstate(over="ignore"):
        steps = np.arange(offset + 1, offset + count + 1, dtype=np.uint64)
        value = np.uint64(seed) + steps * np.uint64(0x9E3779B97F4A7C15)
        value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return value ^ (value >> np.uint64(31))


def bench_inputs(session, batch: int, named_sizes: dict[str, int], seed: int) -> dict:
    """The feeds onnxrun bench makes: in input order, float uniform [-1, 1) from one generator, other types zeros.

    Swift's `Float.random(in: -1..<1, using:)` takes the low 24 bits of one 64-bit draw, scales by 2^-24 and maps
    to 2u - 1 (Double: the low 53 bits); the value is exact in both precisions.
    """
    import numpy as np

    dtypes = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
              "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
              "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_}
    feeds, drawn = {}, 0
    for declared in session.get_inputs():
        shape = []
        for axis, dimension in enumerate(declared.shape):
            if isinstance(dimension, int) and dimension >= 0:
                shape.append(dimension)
            elif isinstance(dimension, str) and dimension in named_sizes:
                shape.append(named_sizes[dimension])
            elif axis == 0:
                shape.append(batch)
            else:
                raise ComparisonError(f"input '{declared.name}' has the symbolic dimension {dimension!r} at axis "
                                      f"{axis}: give its size with --dim NAME=SIZE")
        if declared.type not in dtypes:
            raise ComparisonError(f"input '{declared.name}' has the unsupported type {declared.type}")
        count = int(np.prod(shape, dtype=np.int64))
        if declared.type == "tensor(float)":
            draws = splitmix64(seed, count, drawn) & np.uint64(0xFFFFFF)
            values = (draws.astype(np.float32) * np.float32(2.0 ** -23) - np.float32(1.0)).astype(np.float32)
            drawn += count
        elif declared.type == "tensor(double)":
            draws = splitmix64(seed, count, drawn) & np.uint64((1 << 53) - 1)
            values = draws.astype(np.float64) * 2.0 ** -52 - 1.0
            drawn += count
        else:
            values = np.zeros(count, dtypes[declared.type])
        feeds[declared.name] = values.reshape(shape)
    return feeds


# MARK: - The onnxruntime worker (a separate process, so its load time and peak RSS are its own)


def onnxruntime_worker(arguments: argparse.Namespace) -> int:
    import numpy as np
    import onnxruntime

    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = arguments.threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    started = time.perf_counter()
    session = onnxruntime.InferenceSession(arguments.model, options, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - started
    feeds = bench_inputs(session, arguments.batch, parse_dimensions(arguments.dim), arguments.seed)

    started = time.perf_counter()
    session.run(None, feeds)
    first_run = time.perf_counter() - started
    for _ in range(arguments.warmup):
        session.run(None, feeds)
    latencies = []
    for _ in range(arguments.runs):
        started = time.perf_counter()
        session.run(None, feeds)
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    rank = max(1, min(len(latencies), int(np.ceil(0.9 * len(latencies)))))  # nearest rank, as onnxrun bench
    print(json.dumps({
        "load_ms": load * 1000, "first_run_ms": first_run * 1000, "median_ms": statistics.median(latencies) * 1000,
        "p90_ms": latencies[rank - 1] * 1000, "min_ms": latencies[0] * 1000, "runs": arguments.runs,
        "threads": arguments.threads, "batch": arguments.batch, "baseline_rss_kib": baseline_kib,
        "onnxruntime_version": onnxruntime.__version__,
    }))
    return 0


def parse_dimensions(values: list[str]) -> dict[str, int]:
    sizes = {}
    for value in values:
        name, _, size = value.partition("=")
        if not name or not size.isdigit() or int(size) < 1:
            raise ComparisonError(f"--dim expects NAME=SIZE with a positive size, got {value!r}")
        sizes[name] = int(size)
    return sizes


# MARK: - Running one process and measuring it


@dataclass
class Measurement:
    runtime: str
    model: str
    threads: int
    round: int
    load_ms: float
    first_run_ms: float
    median_ms: float
    p90_ms: float
    min_ms: float
    peak_rss_mib: float
    baseline_rss_mib: float | None
    wall_s: float


GNU_TIME = "/usr/bin/time"


def run_measured(command: list[str], what: str, timeout: float) -> tuple[dict, float, float]:
    """Runs `command`, returns (its JSON object, peak RSS in MiB, wall seconds); errors name `what` and the command.

    Peak RSS: a child's ru_maxrss on Linux starts at its parent's RSS when it was forked (exec records the old
    address space's high-water mark), so measuring our own child would report at least this Python process's
    size. GNU time forks the command from a small process and reports the command's own maximum (%M, KiB). Without
    /usr/bin/time (Debian package `time`), os.wait4's figure is used, floored at this process's RSS, and says so.
    """
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr, \
            tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as rss_file:
        launcher = [GNU_TIME, "-f", "%M", "-o", rss_file.name] if os.access(GNU_TIME, os.X_OK) else []
        started = time.monotonic()
        try:
            # Its own session, so a timeout can end the command and GNU time together.
            process = subprocess.Popen(launcher + command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        except OSError as error:
            raise ComparisonError(f"{what}: cannot start {command[0]}: {error.strerror}") from None
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
            raise ComparisonError(f"{what}: timed out after {timeout:.0f} s: {' '.join(command)}") from None
        wall = time.monotonic() - started
        stdout.seek(0)
        stderr.seek(0)
        out = stdout.read().decode(errors="replace")
        err = stderr.read().decode(errors="replace")
        if launcher:
            lines = rss_file.read().strip().splitlines()
            try:
                peak_mib = int(lines[-1]) / 1024.0
            except (IndexError, ValueError):
                peak_mib = float("nan")
        else:
            peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
            if not getattr(run_measured, "warned", False):
                print(f"warning: {GNU_TIME} not found (apt-get install time): peak RSS is at least this script's "
                      f"own and covers all processes so far", file=sys.stderr)
                run_measured.warned = True
    if process.returncode != 0:
        tail = "\n".join((err or out).strip().splitlines()[-15:])
        raise ComparisonError(f"{what}: exit status {process.returncode}: {' '.join(command)}\n{tail}")
    result = last_json_object(out)
    if result is None:
        raise ComparisonError(f"{what}: printed no JSON object: {' '.join(command)}\nstdout: {out[-2000:]!r}\n"
                              f"stderr: {err[-2000:]!r}")
    missing = [key for key in REQUIRED_KEYS if key not in result]
    if missing:
        raise ComparisonError(f"{what}: JSON lacks {', '.join(missing)} (has {', '.join(sorted(result))})")
    for key in ("load_ms", "first_run_ms", "median_ms", "p90_ms", "min_ms"):
        if not isinstance(result[key], (int, float)) or result[key] < 0:
            raise ComparisonError(f"{what}: {key} is {result[key]!r}, not a non-negative number")
    return result, peak_mib, wall


def last_json_object(text: str) -> dict | None:
    """The last JSON object in `text` that starts a line and runs to the end (onnxrun pretty-prints it over several
    lines; anything printed before it is skipped)."""
    decoder = json.JSONDecoder()
    starts = [index for index, character in enumerate(text) if character == "{" and (index == 0 or text[index - 1] == "\n")]
    for start in reversed(starts):
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and not text[end:].strip():
            return value
    return None


# MARK: - The comparison


def model_path(argument: str) -> Path:
    path = Path(argument)
    if path.is_dir():
        path = path / "model.onnx"
    if not path.is_file():
        raise ComparisonError(f"model not found: {argument} (give a .onnx file or a folder holding model.onnx)")
    return path


def model_label(path: Path) -> str:
    return path.parent.name if path.name == "model.onnx" else path.stem


def machine_description() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.CalledProcessError):
        pass
    # The version without importing onnxruntime: this process's size would inflate the peak RSS of its children.
    from importlib.metadata import PackageNotFoundError, version

    try:
        onnxruntime_version = version("onnxruntime")
    except PackageNotFoundError:
        raise ComparisonError("onnxruntime is not installed in this Python (use the project's venv)") from None
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
            "cores": str(os.cpu_count()), "onnxruntime": onnxruntime_version, "python": platform.python_version()}


def compare(arguments: argparse.Namespace) -> int:
    onnxrun = Path(arguments.onnxrun)
    if not onnxrun.is_file() or not os.access(onnxrun, os.X_OK):
        raise ComparisonError(f"onnxrun executable not found at {onnxrun}: build it with "
                              f"`swift build -c release --product onnxrun`, or pass --onnxrun PATH")
    models = [model_path(argument) for argument in arguments.models]
    thread_counts = [int(value) for value in arguments.threads.split(",") if value.strip()]
    if not thread_counts or min(thread_counts) < 1:
        raise ComparisonError(f"--threads expects positive counts like 1,2 (got {arguments.threads!r})")
    parse_dimensions(arguments.dim)
    machine = machine_description()
    print(f"{machine['date']}, {machine['cpu']} ({machine['cores']} cores), onnxruntime {machine['onnxruntime']}, "
          f"{arguments.rounds} rounds x {arguments.runs} runs (+{arguments.warmup} warmup), batch {arguments.batch}")

    common = ["--warmup", str(arguments.warmup), "--runs", str(arguments.runs), "--batch", str(arguments.batch),
              "--seed", str(arguments.seed)] + [part for value in arguments.dim for part in ("--dim", value)]
    measurements: list[Measurement] = []
    rows = []
    for model in models:
        for threads in thread_counts:
            label = f"{model_label(model)} threads={threads}"
            commands = {
                "onnxrun": [str(onnxrun), "bench", str(model), "--threads", str(threads), "--json", *common]
                           + arguments.onnxrun_argument,
                "onnxruntime": [sys.executable, str(Path(__file__).resolve()), "--onnxruntime-worker", str(model),
                                "--threads", str(threads), *common],
            }
            per_runtime: dict[str, list[Measurement]] = {"onnxrun": [], "onnxruntime": []}
            for round_index in range(arguments.rounds):
                for runtime in ("onnxrun", "onnxruntime"):
                    result, peak, wall = run_measured(commands[runtime], f"{runtime} on {label}", arguments.timeout)
                    if int(result["threads"]) != threads or int(result["batch"]) != arguments.batch:
                        print(f"warning: {runtime} on {label} reports threads={result['threads']} "
                              f"batch={result['batch']}", file=sys.stderr)
                    baseline = result.get("baseline_rss_kib")
                    measurement = Measurement(runtime, str(model), threads, round_index, result["load_ms"],
                                              result["first_run_ms"], result["median_ms"], result["p90_ms"],
                                              result["min_ms"], peak, baseline / 1024.0 if baseline else None, wall)
                    per_runtime[runtime].append(measurement)
                    measurements.append(measurement)
            row = summarize(model_label(model), threads, per_runtime)
            rows.append(row)
            print(f"{label}: onnxrun {row['onnxrun_median_ms']:.3f} ms, onnxruntime {row['onnxruntime_median_ms']:.3f} ms, "
                  f"ratio {row['ratio']:.3f}; load {row['onnxrun_load_ms']:.1f} / {row['onnxruntime_load_ms']:.1f} ms; "
                  f"peak RSS {row['onnxrun_rss_mib']:.0f} / {row['onnxruntime_rss_mib']:.0f} MiB "
                  f"(onnxruntime process before loading: {row['onnxruntime_baseline_mib']:.0f} MiB)", flush=True)

    table = markdown_table(rows, machine, arguments)
    print()
    print(table)
    if arguments.markdown:
        Path(arguments.markdown).write_text(table + "\n")
        print(f"\nwrote {arguments.markdown}")
    if arguments.json:
        Path(arguments.json).write_text(json.dumps({"machine": machine, "summary": rows,
                                                    "measurements": [asdict(m) for m in measurements]}, indent=1))
        print(f"wrote {arguments.json}")
    return 0


def summarize(label: str, threads: int, per_runtime: dict[str, list[Measurement]]) -> dict:
    row = {"model": label, "threads": threads}
    for runtime, measurements in per_runtime.items():
        row[f"{runtime}_median_ms"] = statistics.median(m.median_ms for m in measurements)
        row[f"{runtime}_p90_ms"] = statistics.median(m.p90_ms for m in measurements)
        row[f"{runtime}_min_ms"] = min(m.min_ms for m in measurements)
        row[f"{runtime}_round_medians_ms"] = [round(m.median_ms, 4) for m in measurements]
        row[f"{runtime}_load_ms"] = statistics.median(m.load_ms for m in measurements)
        row[f"{runtime}_first_run_ms"] = statistics.median(m.first_run_ms for m in measurements)
        row[f"{runtime}_rss_mib"] = max(m.peak_rss_mib for m in measurements)
    baselines = [m.baseline_rss_mib for m in per_runtime["onnxruntime"] if m.baseline_rss_mib is not None]
    row["onnxruntime_baseline_mib"] = max(baselines) if baselines else float("nan")
    row["ratio"] = row["onnxrun_median_ms"] / row["onnxruntime_median_ms"] if row["onnxruntime_median_ms"] else float("inf")
    return row


def markdown_table(rows: list[dict], machine: dict[str, str], arguments: argparse.Namespace) -> str:
    lines = [
        f"Measured {machine['date']} on {machine['cpu']} ({machine['cores']} cores), onnxruntime "
        f"{machine['onnxruntime']} (intra-op threads = T, inter-op 1, sequential, default optimizations); "
        f"{arguments.rounds} interleaved rounds of {arguments.runs} runs after {arguments.warmup} warmup, batch "
        f"{arguments.batch}; latency = median over rounds of each round's median. Peak RSS of each process; "
        f"onnxruntime's includes the Python interpreter (its RSS before loading the model in brackets).",
        "",
        "| model | threads | onnxrun ms | onnxruntime ms | onnxrun / onnxruntime | onnxrun p90 / min ms | "
        "onnxruntime p90 / min ms | load ms (onnxrun / onnxruntime) | first run ms | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['threads']} | {row['onnxrun_median_ms']:.3f} | {row['onnxruntime_median_ms']:.3f} | "
            f"**{row['ratio']:.2f}** | {row['onnxrun_p90_ms']:.3f} / {row['onnxrun_min_ms']:.3f} | "
            f"{row['onnxruntime_p90_ms']:.3f} / {row['onnxruntime_min_ms']:.3f} | "
            f"{row['onnxrun_load_ms']:.1f} / {row['onnxruntime_load_ms']:.1f} | "
            f"{row['onnxrun_first_run_ms']:.1f} / {row['onnxruntime_first_run_ms']:.1f} | "
            f"{row['onnxrun_rss_mib']:.0f} / {row['onnxruntime_rss_mib']:.0f} ({row['onnxruntime_baseline_mib']:.0f}) |")
    return "\n".join(lines)


# MARK: - Command line


def run_comparison(parser: argparse.ArgumentParser, arguments: argparse.Namespace, is_worker: bool,
                   worker, compare) -> int:
    """What both comparison scripts' `main` does after parsing: check the counts, then run this process's part (one
    engine's worker, or the interleaved comparison), turning ComparisonError into one line and status 1."""
    for name in ("rounds", "runs", "batch"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if arguments.warmup < 0:
        parser.error("--warmup must not be negative")
    try:
        if is_worker:
            if len(arguments.models) != 1:
                raise ComparisonError("the worker takes one model")
            arguments.model = str(model_path(arguments.models[0]))
            arguments.threads = int(arguments.threads)
            return worker(arguments)
        return compare(arguments)
    except ComparisonError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help=".onnx files or folders holding model.onnx")
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
    parser.add_argument("--onnxrun-argument", action="append", default=[], metavar="ARG",
                        help="an extra argument for onnxrun bench (repeatable)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one process may take")
    parser.add_argument("--markdown", help="write the Markdown table here")
    parser.add_argument("--json", help="write every measurement here")
    parser.add_argument("--onnxruntime-worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    return run_comparison(parser, arguments, arguments.onnxruntime_worker, onnxruntime_worker, compare)


if __name__ == "__main__":
    sys.exit(main())
