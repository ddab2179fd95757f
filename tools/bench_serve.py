#!/usr/bin/env python3
"""Requests/s and p50/p99 latency of `onnxrun serve` at 1, 8 and 64 concurrent clients, with and without dynamic
batching, measured with wrk (Debian's `wrk`) posting binary-tensor infer requests over loopback.

    /work/venv/bin/python tools/bench_serve.py --onnxrun .build/release/onnxrun \
        --model /work/exports/mobilenetv2-1.0-224-dynbatch/model.onnx [--seconds 10] [--threads 2]

Prints a Markdown table. wrk runs on the same machine and takes CPU from the server: state that with the numbers.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx

LUA = """
local file = io.open(os.getenv("ONNXRUN_BODY"), "rb")
wrk.body = file:read("*all")
file:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = os.getenv("ONNXRUN_HEADER_LENGTH")
"""


def request_body(model_path):
    graph = onnx.load(model_path, load_external_data=False).graph
    initializers = {i.name for i in graph.initializer}
    tensor = next(i for i in graph.input if i.name not in initializers)
    dims = [d.dim_value if d.dim_value > 0 else 1 for d in tensor.type.tensor_type.shape.dim]
    values = np.random.default_rng(1).standard_normal(dims).astype(np.float32)
    header = json.dumps({"inputs": [{"name": tensor.name, "shape": dims, "datatype": "FP32",
                                     "parameters": {"binary_data_size": values.nbytes}}],
                         "outputs": [{"name": graph.output[0].name, "parameters": {"binary_data": True}}]}).encode()
    return header + values.tobytes(), len(header)


def parse_seconds(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"cannot read wrk's latency {text!r}")
    number, unit = match.groups()
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(url, connections, seconds, environment, script):
    output = subprocess.run(
        ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-s", script, url], capture_output=True, text=True, env=environment, check=True).stdout
    if "Requests/sec" not in output or "50%" not in output:
        raise RuntimeError(f"wrk printed no latency distribution:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = parse_seconds(re.search(r"^\s*50%\s+(\S+)", output, re.M).group(1))
    p99 = parse_seconds(re.search(r"^\s*99%\s+(\S+)", output, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, p50, p99, int(errors.group(1)) if errors else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnxrun", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", default="1,8,64")
    arguments = parser.parse_args()

    body, header_length = request_body(arguments.model)
    folder = tempfile.mkdtemp()
    body_path = os.path.join(folder, "body.bin")
    with open(body_path, "wb") as file:
        file.write(body)
    script = os.path.join(folder, "post.lua")
    with open(script, "w") as file:
        file.write(LUA)
    environment = dict(os.environ, ONNXRUN_BODY=body_path, ONNXRUN_HEADER_LENGTH=str(header_length))

    print("| dynamic batching | clients | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for max_batch in [1, 8]:
        server = subprocess.Popen(
            [arguments.onnxrun, "serve", "--model", f"m={arguments.model}", "--port", "0", "--threads",
             str(arguments.threads), "--max-batch", str(max_batch)], stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        url = line[line.index("http://"):].strip() + "/v2/models/m/infer"
        try:
            run_wrk(url, 1, 2, environment, script)  # warm-up
            for clients in [int(c) for c in arguments.clients.split(",")]:
                rate, p50, p99, errors = run_wrk(url, clients, arguments.seconds, environment, script)
                label = f"up to {max_batch}" if max_batch > 1 else "off"
                print(f"| {label} | {clients} | {rate:.1f} | {p50 * 1e3:.1f} | {p99 * 1e3:.1f} | {errors} |",
                      flush=True)
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
