#!/bin/sh
# This file is part of the opencv_anomaly project. See LICENSE in the repository root.
# Runs the whole comparison of doc/performance.md on model files: OpenCV (anomaly_benchmark, with
# the LibTorch head peer) and ONNX Runtime on the standard-ops export (ort_benchmark.py, needs
# `pip install onnxruntime numpy`; a development-only dependency).
#
# usage: samples/benchmark/run_benchmarks.sh <build dir> <work dir> <model.onnx>...
# environment: REPEATS (default 20), WARMUP (3), THREADS (1,2), BATCH (8), ROUNDS (1): each round
# runs both tools on each model once; compare_rounds.py then prints, per model, the ratio of the
# two net forwards in every round and its median.
set -eu
if [ $# -lt 3 ]; then
    echo "usage: $0 <build dir> <work dir> <model.onnx>..." >&2
    exit 2
fi
build=$1
work=$2
shift 2
here=$(dirname "$0")
repeats=${REPEATS:-20}
warmup=${WARMUP:-3}
threads=${THREADS:-1,2}
batch=${BATCH:-8}
rounds=${ROUNDS:-1}
mkdir -p "$work"

echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores online"
echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- OpenCV $(pkg-config --modversion opencv4 2>/dev/null || echo '?'), onnxruntime" \
     "$(python3 -c 'import onnxruntime; print(onnxruntime.__version__)')"
for round in $(seq "$rounds"); do
    for model in "$@"; do
        name=$(basename "$model" .onnx)
        standard="$work/${name}_std.onnx"
        [ "$round" -gt 1 ] || "$build/export/standard_ops/anomaly_standard_onnx" --in "$model" \
            --out "$standard" >&2
        echo
        echo "# Round $round of $rounds: $name"
        # Into a file first, then shown: a failing tool must stop the script (no pipefail in sh).
        {
            "$build/bin/anomaly_benchmark" --model "$model" --dump "$work/$name" \
                --threads "$threads" --batch "$batch" --warmup "$warmup" --repeats "$repeats"
            python3 "$here/ort_benchmark.py" --model "$standard" --dump "$work/$name" \
                --threads "$threads" --batch "$batch" --warmup "$warmup" --repeats "$repeats"
        } > "$work/$name.round$round.md"
        cat "$work/$name.round$round.md"
    done
done
for model in "$@"; do
    name=$(basename "$model" .onnx)
    echo
    echo "# $name"
    for round in $(seq "$rounds"); do cat "$work/$name.round$round.md"; done |
        python3 "$here/compare_rounds.py"
done
echo
echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
