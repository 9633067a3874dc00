#!/usr/bin/env bash
# Fails when the runtime library depends (directly or transitively) on LibTorch or ONNX libraries,
# or links nothing from OpenCV (which would mean this check looks at the wrong file).
set -euo pipefail
lib="$1"
# Without the load addresses: an address such as 0x7eff77c10000 contains "c10".
deps="$(ldd "$lib" | sed -E 's/ \(0x[0-9a-f]+\)$//')"
if grep -Ei '(^|[/[:space:]])lib(torch|c10|caffe2|onnx)' <<<"$deps"; then
  echo "FAIL: $lib links a LibTorch/ONNX library (above)" >&2
  exit 1
fi
grep -q 'libopencv_dnn' <<<"$deps" || { echo "FAIL: $lib does not link libopencv_dnn" >&2; exit 1; }
echo "OK: $lib links OpenCV and system libraries only"
