"""What the model export scripts share: describing, checking and writing a model, and the onnxruntime session that
makes its reference outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx
import onnxruntime


def write_model(model: onnx.ModelProto, output: Path, doc_string: str,
                metadata: dict[str, str]) -> onnxruntime.InferenceSession:
    """Sets the doc string and metadata_props, checks the model, writes `output/model.onnx` into a fresh folder and
    returns a single-threaded onnxruntime session on it (for the test_data_set references)."""
    model.doc_string = doc_string
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)

    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    (output / "model.onnx").write_bytes(model.SerializeToString())

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(output / "model.onnx"), options, providers=["CPUExecutionProvider"])
