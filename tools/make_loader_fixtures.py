#!/usr/bin/env python3
"""Writes the small fixtures of the loader tests into models/loader/ (run once; the outputs are committed).

    /work/venv/bin/python tools/make_loader_fixtures.py

- tiny.onnx: a valid model using every attribute kind the loader converts, an initializer also listed as a
  graph input (IR 3 style), a Constant node, a symbolic batch dimension, unnamed nodes and nodes out of
  topological order. Its weight 'W' holds 0.25, 0.5, ... 4.0 so that the fuzz test can find and skip it.
- tensors/<type>_raw.pb, <type>_typed.pb, <type>.npy: one tensor per element type, written with raw_data and
  with the typed fields (float16/bool/int8... packed one per int32), and numpy's own .npy of the same values.
- external/: a model whose initializer lives in weights.bin (with offset and length);
  external-escape/: the same model with location '../external/weights.bin' (must be refused);
  external-absolute/: location '/etc/hostname' (must be refused).
- numpy/: .npy in format versions 1, 2 and 3, a Fortran-order and a big-endian file (must be refused).
"""

import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "loader")


def tiny_model():
    weight = numpy_helper.from_array(np.arange(1, 17, dtype=np.float32).reshape(4, 4) / 4, "W")
    shape = numpy_helper.from_array(np.array([-1, 16], dtype=np.int64), "shape")
    constant = helper.make_node(
        "Constant", [], ["half"], value=numpy_helper.from_array(np.array(0.5, dtype=np.float32)))
    nodes = [
        # Out of order on purpose: Gemm consumes 'scaled', produced by the Mul listed after it.
        helper.make_node("Gemm", ["scaled", "W"], ["gemm"], name="gemm", alpha=1.0, beta=1.0, transB=1),
        constant,  # unnamed
        helper.make_node("Mul", ["X", "half"], ["scaled"]),  # unnamed
        helper.make_node("Reshape", ["gemm", "shape"], ["Y"], name="reshape"),
        helper.make_node("Identity", ["Y"], ["Z"], name="identity", domain="ai.onnx",
                         note_floats=[1.5, -2.0], note_ints=[3, -4], note_strings=["a", "b"], note_string="same",
                         note_int=7),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        inputs=[helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4]),
                helper.make_tensor_value_info("W", TensorProto.FLOAT, [4, 4])],
        outputs=[helper.make_tensor_value_info("Z", TensorProto.FLOAT, [None, 16])],
        initializer=[weight, shape],
        value_info=[helper.make_tensor_value_info("gemm", TensorProto.FLOAT, ["N", 4])])
    model = helper.make_model(graph, producer_name="make_loader_fixtures", opset_imports=[
        helper.make_opsetid("", 13)])
    model.ir_version = 7
    helper.set_model_props(model, {"purpose": "loader tests"})
    return model


def tensors():
    folder = os.path.join(ROOT, "tensors")
    os.makedirs(folder, exist_ok=True)
    values = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 127]
    for dtype in ["float32", "float16", "float64", "int8", "uint8", "int16", "uint16", "int32", "int64",
                  "uint32", "uint64", "bool"]:
        array = np.array(values, dtype=np.float64)
        if dtype.startswith("float"):
            array = array * -0.75
        elif dtype.startswith("int"):
            array = array * np.where(np.arange(len(values)) % 2 == 0, 1, -1)
        array = array.astype(dtype).reshape(3, 4)
        np.save(os.path.join(folder, f"{dtype}.npy"), array)
        raw = numpy_helper.from_array(array, f"{dtype}_values")
        with open(os.path.join(folder, f"{dtype}_raw.pb"), "wb") as f:
            f.write(raw.SerializeToString())
        element_type = helper.np_dtype_to_tensor_dtype(array.dtype)
        typed = helper.make_tensor(f"{dtype}_values", element_type, array.shape, array.flatten().tolist()
                                   if dtype != "float16" else array.flatten(), raw=False)
        assert not typed.HasField("raw_data"), dtype
        with open(os.path.join(folder, f"{dtype}_typed.pb"), "wb") as f:
            f.write(typed.SerializeToString())
    # bfloat16 has no numpy type: its typed-field form holds the bit patterns of 1.0, -2.0, 0.5.
    bfloat = helper.make_tensor("bfloat16_values", TensorProto.BFLOAT16, [3], [1.0, -2.0, 0.5])
    with open(os.path.join(folder, "bfloat16_typed.pb"), "wb") as f:
        f.write(bfloat.SerializeToString())


def external_models():
    for name, location in [("external", "weights.bin"), ("external-escape", "../external/weights.bin"),
                           ("external-absolute", "/etc/hostname")]:
        folder = os.path.join(ROOT, name)
        os.makedirs(folder, exist_ok=True)
        weight = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
        tensor = numpy_helper.from_array(weight, "B")
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in [("location", location), ("offset", "16"), ("length", str(weight.nbytes))]:
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        if name == "external":
            with open(os.path.join(folder, "weights.bin"), "wb") as f:
                f.write(b"\xff" * 16 + weight.tobytes() + b"\xee" * 8)
        graph = helper.make_graph(
            [helper.make_node("Add", ["A", "B"], ["C"], name="add")], name,
            inputs=[helper.make_tensor_value_info("A", TensorProto.FLOAT, [2, 3])],
            outputs=[helper.make_tensor_value_info("C", TensorProto.FLOAT, [2, 3])], initializer=[tensor])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        with open(os.path.join(folder, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString())


def numpy_files():
    folder = os.path.join(ROOT, "numpy")
    os.makedirs(folder, exist_ok=True)
    array = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7) / 3
    for version in [(1, 0), (2, 0), (3, 0)]:
        with open(os.path.join(folder, f"version{version[0]}.npy"), "wb") as f:
            np.lib.format.write_array(f, array, version=version)
    np.save(os.path.join(folder, "scalar.npy"), np.float64(2.5))
    np.save(os.path.join(folder, "fortran.npy"), np.asfortranarray(array))
    np.save(os.path.join(folder, "bigendian.npy"), array.astype(">f4"))


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    model = tiny_model()
    # Not onnx.checker.check_model: the nodes are out of order on purpose.
    with open(os.path.join(ROOT, "tiny.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    tensors()
    external_models()
    numpy_files()


if __name__ == "__main__":
    main()
