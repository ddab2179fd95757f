#!/usr/bin/env python3
"""Drives `onnxrun serve` with the KServe Python SDK's v2 REST client, as a KServe user would.

Starts the server on a loopback ephemeral port, then checks: server live/ready, model ready and metadata, infer with
JSON data and with binary data (each within 1e-4 of onnxruntime), 64 concurrent requests each with its own input
(each gets its own answer), and SIGTERM (exit 0 within 15 s). Prints one line per check and exits non-zero on any
failure. Traffic goes only to 127.0.0.1.

Needs a venv with `kserve onnxruntime onnx numpy` (e.g. /work/venv-kserve):
    /work/venv-kserve/bin/python tools/check_kserve_client.py --onnxrun .build/release/onnxrun \
        --model models/mobilenetv2-0.35-96/model.onnx [--max-batch 8]
"""

import argparse
import asyncio
import signal
import subprocess
import sys
import time

import httpx
import numpy as np
import onnxruntime
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnxrun", required=True, help="the onnxrun executable")
    parser.add_argument("--model", required=True, help="an image classifier with a symbolic batch dimension")
    parser.add_argument("--max-batch", type=int, default=1)
    arguments = parser.parse_args()

    server = subprocess.Popen(
        [arguments.onnxrun, "serve", "--model", f"m={arguments.model}", "--port", "0",
         "--max-batch", str(arguments.max_batch)],
        stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if "http://" not in line:
        print(f"FAIL: the server did not print its URL: {line!r}")
        server.kill()
        return 1
    url = line[line.index("http://"):].strip()
    print(f"server: {line.strip()}")
    failures = asyncio.run(check(url, arguments.model))

    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        status = server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        status = None
    elapsed = time.monotonic() - started
    report(failures, status == 0, f"SIGTERM: exit status {status} after {elapsed:.2f} s")
    print(f"{'FAILED' if failures else 'all passed'} ({len(failures)} failures)")
    return 1 if failures else 0


def report(failures, ok, message):
    print(("ok    " if ok else "FAIL  ") + message)
    if not ok:
        failures.append(message)


async def check(url, model_path):
    failures = []
    reference = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    input_meta = reference.get_inputs()[0]
    output_name = reference.get_outputs()[0].name
    shape = [1] + [int(d) for d in input_meta.shape[1:]]
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=120))

    report(failures, await client.is_server_live(url), "server live")
    report(failures, await client.is_server_ready(url), "server ready")
    report(failures, await client.is_model_ready(url, "m"), "model ready")
    metadata = httpx.get(f"{url}/v2/models/m").json()
    report(failures, metadata["inputs"][0]["name"] == input_meta.name and metadata["inputs"][0]["shape"][0] == -1,
           f"model metadata: {metadata['inputs']}")

    def request(values, binary):
        tensor = InferInput(name=input_meta.name, shape=list(values.shape), datatype="FP32")
        tensor.set_data_from_numpy(values, binary_data=binary)
        return InferRequest(model_name="m", infer_inputs=[tensor], request_id="r")

    def compare(response, values, what):
        actual = response.outputs[0].as_numpy()
        expected = reference.run([output_name], {input_meta.name: values})[0]
        difference = float(np.abs(actual - expected).max())
        report(failures, actual.shape == expected.shape and difference <= 1e-4,
               f"{what}: max abs difference {difference:.2e} from onnxruntime")

    generator = np.random.default_rng(7)
    values = generator.standard_normal(shape).astype(np.float32)
    compare(await client.infer(url, request(values, False), model_name="m"), values, "infer, JSON data")
    compare(await client.infer(url, request(values, True), model_name="m"), values, "infer, binary data")

    inputs = [generator.standard_normal(shape).astype(np.float32) for _ in range(64)]
    started = time.monotonic()
    responses = await asyncio.gather(*(client.infer(url, request(x, True), model_name="m") for x in inputs))
    elapsed = time.monotonic() - started
    worst = 0.0
    for values, response in zip(inputs, responses):
        expected = reference.run([output_name], {input_meta.name: values})[0]
        worst = max(worst, float(np.abs(response.outputs[0].as_numpy() - expected).max()))
    report(failures, worst <= 1e-4,
           f"64 concurrent requests, each its own input: max abs difference {worst:.2e} ({elapsed:.2f} s)")
    await client.close()
    return failures


if __name__ == "__main__":
    sys.exit(main())
