"""Cross-checks models/operators' Conv and pooling outputs (onnxruntime's) against PyTorch, an independent
implementation, with ONNX's pads/auto_pad resolved here (run: /work/venv/bin/python -m unittest discover -s tools/tests)."""

import unittest
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

OPERATORS = Path(__file__).resolve().parent.parent.parent / "models" / "operators"


def load_case(folder: Path):
    model = onnx.load(str(folder / "model.onnx"))
    data = folder / "test_data_set_0"
    inputs = [numpy_helper.to_array(onnx.load_tensor(str(path))) for path in sorted(data.glob("input_*.pb"))]
    outputs = [numpy_helper.to_array(onnx.load_tensor(str(path))) for path in sorted(data.glob("output_*.pb"))]
    initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    node = model.graph.node[0]
    attributes = {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}
    return node, attributes, inputs, outputs, initializers


def resolved_pads(spatial, kernel, strides, dilations, attributes):
    """[top, left, bottom, right] from pads or auto_pad (SAME_UPPER puts the odd pixel at the end)."""
    auto_pad = attributes.get("auto_pad", b"NOTSET").decode()
    if auto_pad == "VALID":
        return [0, 0, 0, 0]
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * 4
        for axis in range(2):
            output = -(-spatial[axis] // strides[axis])
            total = max(0, (output - 1) * strides[axis] + (kernel[axis] - 1) * dilations[axis] + 1 - spatial[axis])
            small, big = total // 2, total - total // 2
            pads[axis], pads[axis + 2] = (small, big) if auto_pad == "SAME_UPPER" else (big, small)
        return pads
    return list(attributes.get("pads", [0, 0, 0, 0]))


class CrossCheckTests(unittest.TestCase):
    def test_conv_matches_torch(self):
        folders = sorted(OPERATORS.glob("conv_*"))
        self.assertGreater(len(folders), 30)
        for folder in folders:
            with self.subTest(case=folder.name):
                node, attributes, inputs, outputs, initializers = load_case(folder)
                x = torch.tensor(inputs[0])
                weight = torch.tensor(initializers["W"])
                bias = torch.tensor(initializers["B"]) if "B" in initializers else None
                strides = attributes.get("strides", [1, 1])
                dilations = attributes.get("dilations", [1, 1])
                pads = resolved_pads(x.shape[2:], weight.shape[2:], strides, dilations, attributes)
                padded = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
                expected = F.conv2d(padded, weight, bias, stride=strides, dilation=dilations,
                                    groups=attributes.get("group", 1)).numpy()
                self.assertEqual(expected.shape, outputs[0].shape)
                np.testing.assert_allclose(outputs[0], expected, rtol=1e-4, atol=1e-4)

    def test_pooling_matches_torch(self):
        folders = sorted(OPERATORS.glob("maxpool_*")) + sorted(OPERATORS.glob("averagepool_*"))
        self.assertGreater(len(folders), 10)
        for folder in folders:
            with self.subTest(case=folder.name):
                node, attributes, inputs, outputs, _ = load_case(folder)
                x = torch.tensor(inputs[0])
                kernel = attributes["kernel_shape"]
                strides = attributes.get("strides", [1, 1])
                dilations = attributes.get("dilations", [1, 1])
                pads = resolved_pads(x.shape[2:], kernel, strides, dilations, attributes)
                ceil_mode = bool(attributes.get("ceil_mode", 0))
                if pads[0] != pads[2] or pads[1] != pads[3]:  # torch pads symmetrically: pad explicitly first
                    self.assertEqual(node.op_type, "MaxPool", "no asymmetric AveragePool case is cross-checked")
                    x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]), value=-np.inf)
                    pads = [0, 0, 0, 0]
                if node.op_type == "MaxPool":
                    expected = F.max_pool2d(x, kernel, strides, (pads[0], pads[1]), dilations, ceil_mode=ceil_mode)
                else:
                    expected = F.avg_pool2d(x, kernel, strides, (pads[0], pads[1]), ceil_mode=ceil_mode,
                                            count_include_pad=bool(attributes.get("count_include_pad", 0)))
                self.assertEqual(tuple(expected.shape), outputs[0].shape)
                np.testing.assert_allclose(outputs[0], expected.numpy(), rtol=1e-5, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
