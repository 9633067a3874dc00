#!/usr/bin/env bash
# The embedded demo: synthetic inspection data -> train a `lite` model -> evaluate -> overlays.
#
#   samples/demo/run_demo.sh                 # generates a synthetic dataset and runs on it
#   samples/demo/run_demo.sh <category root> # runs on your own MVTec-AD-layout folder instead,
#                                            # e.g. ../shared/data/magnetic_tile
#
# Tools are looked up under $ANOMALY_BUILD_DIR (default: <repo>/build). Everything is written to
# $ANOMALY_DEMO_OUT (default: <repo>/out/demo).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${ANOMALY_BUILD_DIR:-$REPO/build}"
OUT="${ANOMALY_DEMO_OUT:-$REPO/out/demo}"
# Test images per defect folder that get an overlay picture.
OVERLAYS_PER_FOLDER=4

die() {
    echo "run_demo: error: $*" >&2
    exit 1
}

step() {
    echo
    echo "== $* =="
}

find_tool() {
    local path
    [ -d "$BUILD" ] || die "build folder $BUILD does not exist: build the project first (doc/getting-started.md) or set ANOMALY_BUILD_DIR"
    path="$(find -L "$BUILD" -name "$1" -type f -perm -u+x 2>/dev/null | sort | head -n 1)"
    [ -n "$path" ] || die "tool $1 not found under $BUILD: build it first (doc/getting-started.md) or set ANOMALY_BUILD_DIR"
    echo "$path"
}

[ $# -le 1 ] || die "usage: $0 [<MVTec-layout category root>]"

# Look up every tool first, so a missing one stops the demo before any long step.
DATA_GIVEN="${1:-}"
if [ -z "$DATA_GIVEN" ]; then
    SYNTH="$(find_tool anomaly_synth)"
fi
TRAIN="$(find_tool anomaly_train)"
EVALUATE="$(find_tool anomaly_evaluate)"
INSPECT="$(find_tool anomaly_inspect_folder)"
FETCH_BACKBONE="$REPO/export/backbone/fetch_default_backbone.sh"
[ -x "$FETCH_BACKBONE" ] || die "$FETCH_BACKBONE is missing or not executable"

mkdir -p "$OUT"
START=$SECONDS

if [ -n "$DATA_GIVEN" ]; then
    [ -d "$DATA_GIVEN/train/good" ] || die "$DATA_GIVEN has no train/good folder (MVTec AD layout expected)"
    [ -d "$DATA_GIVEN/test" ] || die "$DATA_GIVEN has no test folder (MVTec AD layout expected)"
    DATA="$(cd "$DATA_GIVEN" && pwd)"
    step "1/5 dataset: $DATA"
else
    DATA="$OUT/data"
    step "1/5 generating the synthetic dataset into $DATA"
    "$SYNTH" --out "$DATA" --seed 7 --overwrite
fi

step "2/5 default backbone"
BACKBONE="$("$FETCH_BACKBONE" "$BUILD" | tail -n 1)"
[ -f "$BACKBONE" ] || die "fetch_default_backbone.sh did not give a backbone file (last line: '$BACKBONE')"
echo "backbone: $BACKBONE"

step "3/5 training a lite model (the longest step)"
T=$SECONDS
"$TRAIN" --data "$DATA" --backbone "$BACKBONE" --out "$OUT/model.onnx" --model-size lite \
    --preset lgnf --seed 7
echo "training took $((SECONDS - T)) s"

step "4/5 evaluating on the test set"
"$EVALUATE" --model "$OUT/model.onnx" --data "$DATA" --out "$OUT/eval"

step "5/5 overlays for the first $OVERLAYS_PER_FOLDER images of each test folder"
SELECTION="$OUT/overlay_input"
rm -rf "$SELECTION" "$OUT/overlays"
for folder in "$DATA"/test/*/; do
    name="$(basename "$folder")"
    mkdir -p "$SELECTION/$name"
    find "$folder" -maxdepth 1 -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \
        -o -iname '*.bmp' -o -iname '*.tif' -o -iname '*.tiff' \) | sort | head -n "$OVERLAYS_PER_FOLDER" |
        while read -r image; do cp "$image" "$SELECTION/$name/"; done
done
# Exit code 2 only says that NG images were found, which is what a test set is for.
set +e
"$INSPECT" --model "$OUT/model.onnx" --dir "$SELECTION" --csv "$OUT/overlays.csv" \
    --overlays "$OUT/overlays"
rc=$?
set -e
[ $rc -eq 0 ] || [ $rc -eq 2 ] || die "anomaly_inspect_folder failed (exit code $rc)"

echo
echo "Demo finished in $((SECONDS - START)) s. Where to look:"
echo "  model:      $OUT/model.onnx"
echo "  evaluation: $OUT/eval/"
if [ -d "$OUT/eval" ]; then
    find "$OUT/eval" -maxdepth 1 -type f | sort | sed 's|^|                |'
fi
echo "  overlays:   $OUT/overlays/   (one picture per image: heatmap, defect outlines, OK/NG)"
echo "  verdicts:   $OUT/overlays.csv"
if [ -z "$DATA_GIVEN" ]; then
    echo "  dataset:    $DATA/"
fi
echo "Next: try your own parts, see doc/tutorial-training.md"
