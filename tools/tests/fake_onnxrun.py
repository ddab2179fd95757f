#!/usr/bin/env python3
"""A stand-in for `onnxrun bench ... --json`, for testing tools/compare_onnxruntime.py before the CLI exists.

Checks it was called as `bench MODEL --threads T --warmup W --runs R --json ...`, reads the model, and "runs" it
(1 ms sleeps), printing onnxrun bench's JSON keys. FAKE_ONNXRUN_MODE picks a failure to simulate: crash (exit 3
with a message on stderr), no-json (prints text), missing-key (JSON without median_ms), hang (sleeps for an hour).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    mode = os.environ.get("FAKE_ONNXRUN_MODE", "ok")
    if len(sys.argv) < 2 or sys.argv[1] != "bench":
        print("fake onnxrun: only 'bench' is faked", file=sys.stderr)
        return 64
    parser = argparse.ArgumentParser(prog="fake onnxrun bench")
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dim", action="append", default=[])
    parser.add_argument("--json", action="store_true", required=True)
    arguments = parser.parse_args(sys.argv[2:])
    if mode == "crash":
        print("error: fake crash in node 'conv_1' (Conv, opset 13): shapes [1,3,96,96]", file=sys.stderr)
        return 3
    if mode == "no-json":
        print("latency over 20 runs: median 1.0 ms")
        return 0
    if mode == "hang":
        time.sleep(3600)
    # Plain Python, no onnxruntime (this runs under whichever python3 is on PATH): a "run" is a 1 ms sleep.
    started = time.perf_counter()
    payload = bytearray(Path(arguments.model).read_bytes())  # some memory, like a loaded model
    load = time.perf_counter() - started
    latencies = []
    for index in range(1 + arguments.warmup + arguments.runs):
        started = time.perf_counter()
        time.sleep(0.001)
        latencies.append(time.perf_counter() - started)
    first, timed = latencies[0], sorted(latencies[1 + arguments.warmup:])
    result = {"model": arguments.model, "load_ms": load * 1000, "first_run_ms": first * 1000,
              "median_ms": timed[len(timed) // 2] * 1000, "p90_ms": timed[-1] * 1000, "min_ms": timed[0] * 1000,
              "runs": arguments.runs, "threads": arguments.threads, "batch": arguments.batch,
              "model_bytes": len(payload)}
    if mode == "missing-key":
        result.pop("median_ms")
    print("a line of text before the JSON, which the comparison must skip")
    print(json.dumps(result, indent=2, sort_keys=True))  # pretty-printed, as onnxrun prints it
    return 0


if __name__ == "__main__":
    sys.exit(main())
