"""Checks the committed models/: every test_data_set matches a fresh onnxruntime run, names and layout are right,
preprocessing metadata is present (run: /work/venv/bin/python -m unittest discover -s tools/tests)."""

import json
import unittest
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper

MODELS = Path(__file__).resolve().parent.parent.parent / "models"
PREPROCESS_KEYS = {f"onnxrun.preprocess.{key}" for key in ("resize", "crop", "mean", "std", "layout", "channel_order")}


def model_folders():
    # models/loader/ holds the loader's fixtures: deliberately broken or reference-less files, not reference models.
    return sorted(path.parent for path in MODELS.rglob("model.onnx") if MODELS / "loader" not in path.parents)


def load_tensor(path: Path):
    tensor = onnx.load_tensor(str(path))
    return tensor.name, numpy_helper.to_array(tensor)


class CommittedModelTests(unittest.TestCase):
    def test_every_test_set_matches_onnxruntime(self):
        folders = model_folders()
        self.assertGreater(len(folders), 290)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        for folder in folders:
            with self.subTest(model=str(folder.relative_to(MODELS))):
                model = onnx.load(str(folder / "model.onnx"))
                onnx.checker.check_model(model)
                if model.graph.doc_string.startswith("numpy"):
                    continue  # an opset form onnxruntime has no kernel for; numpy made its outputs
                session = onnxruntime.InferenceSession(str(folder / "model.onnx"), options,
                                                       providers=["CPUExecutionProvider"])
                input_names = [value.name for value in session.get_inputs()]
                output_names = [value.name for value in session.get_outputs()]
                sets = sorted(folder.glob("test_data_set_*"))
                self.assertTrue(sets, "no test_data_set")
                for data in sets:
                    inputs = [load_tensor(path) for path in sorted(data.glob("input_*.pb"))]
                    outputs = [load_tensor(path) for path in sorted(data.glob("output_*.pb"))]
                    self.assertEqual([name for name, _ in inputs], input_names)
                    self.assertEqual([name for name, _ in outputs], output_names)
                    results = session.run(None, dict(inputs))
                    for (name, expected), actual in zip(outputs, results):
                        self.assertEqual(expected.dtype, actual.dtype, name)
                        self.assertEqual(expected.shape, actual.shape, name)
                        if expected.dtype.kind == "f":
                            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5, err_msg=name)
                        else:
                            np.testing.assert_array_equal(actual, expected, err_msg=name)

    def test_operator_models_use_the_opset_in_their_name(self):
        for folder in sorted((MODELS / "operators").iterdir()):
            if "_opset" not in folder.name:
                continue
            with self.subTest(case=folder.name):
                opset = int(folder.name.split("_opset")[1].split("_")[0])
                model = onnx.load(str(folder / "model.onnx"))
                self.assertEqual([(entry.domain, entry.version) for entry in model.opset_import], [("", opset)])

    def test_operator_models_stay_small(self):
        total = sum(path.stat().st_size for path in (MODELS / "operators").rglob("*") if path.is_file())
        self.assertLess(total, 1_000_000)

    def test_image_classifiers_carry_preprocessing_hints(self):
        for name in ("mobilenetv2-0.35-96", "efficientnet-lite0"):
            with self.subTest(model=name):
                model = onnx.load(str(MODELS / name / "model.onnx"), load_external_data=False)
                properties = {entry.key: entry.value for entry in model.metadata_props}
                self.assertTrue(PREPROCESS_KEYS <= set(properties), sorted(properties))
                self.assertEqual(len(properties["onnxrun.preprocess.mean"].split(",")), 3)

    def test_mobilenet_has_a_symbolic_batch_and_two_test_sets(self):
        model = onnx.load(str(MODELS / "mobilenetv2-0.35-96" / "model.onnx"))
        self.assertEqual(model.graph.input[0].type.tensor_type.shape.dim[0].dim_param, "batch")
        _, batch3 = load_tensor(MODELS / "mobilenetv2-0.35-96" / "test_data_set_1" / "output_0.pb")
        self.assertEqual(batch3.shape, (3, 1000))
        # The random network's output must depend on its input (a degenerate one would hide input bugs).
        self.assertGreater(float(np.abs(batch3[0] - batch3[1]).max()), 0.05)

    def test_efficientnet_top5_matches_expected(self):
        expected = json.loads((MODELS / "images" / "expected-top5.json").read_text())["photos"]
        for index, photo in enumerate(("chelsea", "coffee")):
            _, logits = load_tensor(MODELS / "efficientnet-lite0" / f"test_data_set_{index}" / "output_0.pb")
            self.assertEqual([int(i) for i in np.argsort(-logits[0])[:5]], [entry[0] for entry in expected[photo]])


if __name__ == "__main__":
    unittest.main()
