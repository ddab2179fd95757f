"""Tests of tools/compare_onnxruntime.py against the fake onnxrun (run: /work/venv/bin/python -m unittest discover tools/tests)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent.parent
SCRIPT = ROOT / "tools" / "compare_onnxruntime.py"
FAKE = TESTS / "fake_onnxrun.py"
MODEL = ROOT / "models" / "operators" / "conv_3x3_group1_bias_pads1"
DYNAMIC_MODEL = ROOT / "models" / "mobilenetv2-0.35-96"

sys.path.insert(0, str(ROOT / "tools"))
import compare_onnxruntime  # noqa: E402


def run(*arguments, mode="ok", timeout=300):
    environment = dict(os.environ, FAKE_ONNXRUN_MODE=mode)
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, arguments)], capture_output=True, text=True,
                          env=environment, timeout=timeout)


class SeededInputTests(unittest.TestCase):
    def test_matches_swift_float_random(self):
        # Printed by Swift 6.3 for onnxrun's SeededGenerator(seed: 42): six Float.random(in: -1..<1), then three
        # Double.random(in: -1..<1) from the same generator.
        class Input:
            def __init__(self, name, type, shape):
                self.name, self.type, self.shape = name, type, shape

        class Session:
            def get_inputs(self):
                return [Input("a", "tensor(float)", ["batch", 3]), Input("b", "tensor(int64)", [2]),
                        Input("c", "tensor(double)", [3])]

        feeds = compare_onnxruntime.bench_inputs(Session(), batch=2, named_sizes={}, seed=42)
        self.assertEqual(feeds["a"].shape, (2, 3))
        self.assertEqual([float(value) for value in feeds["a"].reshape(-1)],
                         [float(value) for value in __import__("numpy").float32(
                             [0.8393122, -0.1957699, -0.87795043, -0.41492987, -0.43640304, 0.006684065])])
        self.assertEqual(feeds["b"].tolist(), [0, 0])
        self.assertEqual(feeds["c"].tolist(), [-0.4123265548925381, 0.3881670185100825, -0.6424645958833348])


class ComparisonTests(unittest.TestCase):
    def test_compares_and_writes_markdown_and_json(self):
        with tempfile.TemporaryDirectory() as folder:
            markdown, raw = Path(folder) / "table.md", Path(folder) / "raw.json"
            result = run(MODEL, DYNAMIC_MODEL, "--threads", "1,2", "--rounds", 2, "--runs", 3, "--warmup", 1,
                         "--batch", 2, "--onnxrun", FAKE, "--markdown", markdown, "--json", raw)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("ratio", result.stdout)
            table = markdown.read_text()
            self.assertIn("| conv_3x3_group1_bias_pads1 | 2 |", table)
            self.assertIn("| mobilenetv2-0.35-96 | 1 |", table)
            self.assertIn("onnxruntime 1.", table)
            data = json.loads(raw.read_text())
            self.assertEqual(len(data["summary"]), 4)
            self.assertEqual(len(data["measurements"]), 4 * 2 * 2)  # models x threads x rounds x runtimes
            for measurement in data["measurements"]:
                self.assertGreater(measurement["peak_rss_mib"], 10)
                self.assertGreater(measurement["median_ms"], 0)

    def test_missing_executable_says_how_to_build(self):
        result = run(MODEL, "--onnxrun", "/nonexistent/onnxrun")
        self.assertEqual(result.returncode, 1)
        self.assertIn("swift build -c release", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_missing_model(self):
        result = run("/nonexistent/model.onnx", "--onnxrun", FAKE)
        self.assertEqual(result.returncode, 1)
        self.assertIn("model not found", result.stderr)

    def test_crash_shows_the_command_and_its_message(self):
        result = run(MODEL, "--onnxrun", FAKE, "--rounds", 1, "--runs", 1, mode="crash")
        self.assertEqual(result.returncode, 1)
        self.assertIn("exit status 3", result.stderr)
        self.assertIn("fake crash in node 'conv_1'", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_output_without_json(self):
        result = run(MODEL, "--onnxrun", FAKE, "--rounds", 1, "--runs", 1, mode="no-json")
        self.assertEqual(result.returncode, 1)
        self.assertIn("printed no JSON object", result.stderr)

    def test_json_without_a_required_key(self):
        result = run(MODEL, "--onnxrun", FAKE, "--rounds", 1, "--runs", 1, mode="missing-key")
        self.assertEqual(result.returncode, 1)
        self.assertIn("JSON lacks median_ms", result.stderr)

    def test_timeout(self):
        result = run(MODEL, "--onnxrun", FAKE, "--rounds", 1, "--runs", 1, "--timeout", 2, mode="hang")
        self.assertEqual(result.returncode, 1)
        self.assertIn("timed out after 2 s", result.stderr)


if __name__ == "__main__":
    unittest.main()
