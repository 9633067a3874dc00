#!/usr/bin/env python3
# This file is part of the opencv_anomaly project. See LICENSE in the repository root.
"""OpenCV DNN net forward against ONNX Runtime, round by round, from the output of
run_benchmarks.sh (read on stdin).

Each round of that script runs anomaly_benchmark and then ort_benchmark.py on the same model. The
machine's speed drifts by up to 1.8x within minutes, so one pair of runs says little; the ratio of
each round's pair, and the median of those ratios, is the comparison doc/performance.md reports.
OpenCV's net forward is the sum of its stage columns and 'dnn other' (preprocess, postprocess and
detect() excluded); ONNX Runtime's is its 'forward total' (ORT_ENABLE_ALL)."""

import statistics
import sys


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def read_table(lines, start):
    """Header cells and data rows of the markdown table whose header is lines[start]."""
    header = cells(lines[start])
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(cells(line))
    return header, rows


def main():
    lines = sys.stdin.read().splitlines()
    opencv, ort = [], []  # per round: {(threads, batch): ms per image}
    for i, line in enumerate(lines):
        if not line.startswith("| threads | batch |"):
            continue
        header, rows = read_table(lines, i)
        if header[2] == "preprocess":
            first, last = header.index("backbone"), header.index("dnn other")
            opencv.append({(r[0], r[1]): sum(float(v) for v in r[first:last + 1]) for r in rows})
        elif "forward total" in header:
            column = header.index("forward total")
            ort.append({(r[0], r[1]): float(r[column]) for r in rows})
    if not opencv or len(opencv) != len(ort):
        sys.exit("compare_rounds: expected one ONNX Runtime table per OpenCV table, got "
                 f"{len(opencv)} and {len(ort)}")

    print(f"\n## OpenCV net forward / ONNX Runtime forward, {len(opencv)} round(s)\n")
    print("| threads | batch | OpenCV ms per round | ONNX Runtime ms per round | ratio per round "
          "| median ratio |")
    print("|---|---|---|---|---|---|")
    for key in opencv[0]:
        ours = [r[key] for r in opencv]
        theirs = [r[key] for r in ort]
        ratios = [a / b for a, b in zip(ours, theirs)]
        print(f"| {key[0]} | {key[1]} | {' / '.join(f'{v:.1f}' for v in ours)} | "
              f"{' / '.join(f'{v:.1f}' for v in theirs)} | "
              f"{' / '.join(f'{v:.2f}' for v in ratios)} | {statistics.median(ratios):.2f} |")


if __name__ == "__main__":
    main()
