#!/usr/bin/env python3
# This file is part of the opencv_anomaly project. See LICENSE in the repository root.
"""Peer (b): ONNX Runtime on the standard-ops export of a model (anomaly_standard_onnx).

Development/benchmark-only dependency: onnxruntime and numpy from PyPI (not needed to build or
test the project). Times the network forward (the same part as anomaly_benchmark's "net forward":
no preprocessing or postprocessing), splits it by node-name prefix from ONNX Runtime's profiler,
and checks the outputs against OpenCV's (files written by `anomaly_benchmark --dump PREFIX`).
"""
import argparse
import collections
import json
import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort


def session(model, threads, profile_dir=None,
            level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = level
    if profile_dir:
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(profile_dir, "ort_profile")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def input_blob(sess, batch, seed):
    shape = list(sess.get_inputs()[0].shape)
    shape[0] = batch
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def median_seconds_per_image(sess, blob, warmup, repeats):
    name = sess.get_inputs()[0].name
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        sess.run(None, {name: blob})
        if i >= warmup:
            times.append((time.perf_counter() - start) / blob.shape[0])
    return statistics.median(times)


def stage_seconds_per_image(model, threads, blob, warmup, repeats):
    """Kernel time per node-name prefix ("backbone/Conv_3" -> "backbone"), per image.

    Profiled at ORT_ENABLE_EXTENDED: ENABLE_ALL's NCHWc layout pass renames the nodes it rewrites
    ("relu_33_nchwc", "ReorderOutput_token_474"), which hides their stage."""
    with tempfile.TemporaryDirectory() as tmp:
        sess = session(model, threads, tmp, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)
        name = sess.get_inputs()[0].name
        for _ in range(warmup):
            sess.run(None, {name: blob})
        for _ in range(repeats):
            sess.run(None, {name: blob})
        path = sess.end_profiling()
        with open(path) as f:
            events = json.load(f)
    # The profile also holds the warm-up runs; keep the last `repeats` runs of each node.
    per_node = collections.defaultdict(list)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_node[e["name"][: -len("_kernel_time")]].append(e["dur"] * 1e-6)
    stages = collections.OrderedDict()
    for node, durations in per_node.items():
        stage = node.split("/", 1)[0] if "/" in node else "(unprefixed)"
        stages[stage] = stages.get(stage, 0.0) + sum(durations[-repeats:]) / repeats
    stages = {k: v / blob.shape[0] for k, v in stages.items()}
    extended = session(model, threads, level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)
    stages["forward total (EXTENDED)"] = median_seconds_per_image(extended, blob, warmup, repeats)
    return stages


def compare_with_opencv(sess, dump_prefix):
    """Max abs difference of every output on the batch-2 input OpenCV ran."""
    inp = sess.get_inputs()[0]
    shape = list(inp.shape)
    image = np.fromfile(dump_prefix + ".image.f32", dtype=np.float32)
    per_image = int(np.prod(shape[1:]))
    shape[0] = image.size // per_image
    outputs = sess.run(None, {inp.name: image.reshape(shape)})
    result = {}
    for meta, ort_out in zip(sess.get_outputs(), outputs):
        path = dump_prefix + "." + meta.name + ".f32"
        if not os.path.exists(path):
            continue
        cv_out = np.fromfile(path, dtype=np.float32).reshape(ort_out.shape)
        result[meta.name] = (float(np.abs(cv_out - ort_out).max()),
                             float(cv_out.max() - cv_out.min()))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="standard-ops model (anomaly_standard_onnx)")
    parser.add_argument("--dump", help="prefix given to anomaly_benchmark --dump")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    print(f"\n### ONNX Runtime {ort.__version__} (CPUExecutionProvider, ORT_ENABLE_ALL): "
          f"{args.model}\n")
    print(f"Medians of {args.repeats} runs after {args.warmup} warm-up runs; net forward only; "
          "ms per image.\n")
    rows = []
    stage_names = []
    for t in threads:
        sess = session(args.model, t)
        for b in (1, args.batch):
            blob = input_blob(sess, b, seed=b)
            total = median_seconds_per_image(sess, blob, args.warmup, args.repeats)
            stages = stage_seconds_per_image(args.model, t, blob, 1, max(3, args.repeats // 4))
            for s in stages:
                if s not in stage_names:
                    stage_names.append(s)
            rows.append((t, b, total, stages))
    print("| threads | batch | " + " | ".join(stage_names) + " | forward total | images/s |")
    print("|---|---|" + "---|" * len(stage_names) + "---|---|")
    for t, b, total, stages in rows:
        cells = " | ".join(f"{stages.get(s, 0.0) * 1e3:.2f}" for s in stage_names)
        print(f"| {t} | {b} | {cells} | {total * 1e3:.2f} | {1.0 / total:.1f} |")
    print("\nStage columns: ONNX Runtime profiler kernel time summed by node-name prefix, "
          "profiled in separate runs at ORT_ENABLE_EXTENDED (whose own forward time is the column "
          "'forward total (EXTENDED)'); 'forward total' is ORT_ENABLE_ALL, not profiled.")
    if args.dump:
        diffs = compare_with_opencv(session(args.model, threads[-1]), args.dump)
        print("\nOutputs vs OpenCV DNN on the original model (batch 2): " + "; ".join(
            f"{k} max abs diff {d:.3g} (OpenCV value range {r:.3g})" for k, (d, r) in diffs.items()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"\nPeak RSS of this Python process: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
