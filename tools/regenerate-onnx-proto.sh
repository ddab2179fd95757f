#!/usr/bin/env bash
# Regenerates Sources/COnnxProto/{onnx.pb-c.c,include/onnx.pb-c.h} from the proto2 onnx.proto of a pinned onnx release.
# Needs Debian's protobuf-c-compiler and a Python with the onnx wheel (which ships onnx.proto).
set -euo pipefail
ONNX_VERSION="${ONNX_VERSION:-1.23.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
proto="$("$python" -c 'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "onnx.proto"))')"
have="$("$python" -c 'import onnx; print(onnx.__version__)')"
[ "$have" = "$ONNX_VERSION" ] || { echo "onnx $have found, $ONNX_VERSION pinned (set ONNX_VERSION to change the pin)" >&2; exit 1; }
work="$(mktemp -d)"
cp "$proto" "$work/onnx.proto"
(cd "$work" && protoc-c --c_out=. onnx.proto)
out="$root/Sources/COnnxProto"
cp "$work/onnx.pb-c.c" "$out/onnx.pb-c.c"
# The .c includes "onnx.pb-c.h"; SwiftPM wants public headers under include/.
cp "$work/onnx.pb-c.h" "$out/include/onnx.pb-c.h"
echo "$ONNX_VERSION" > "$out/ONNX_VERSION"
rm -rf "$work"
echo "regenerated from onnx $ONNX_VERSION ($(protoc-c --version | head -1))"
