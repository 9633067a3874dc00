#!/usr/bin/env python3
# This file is part of the opencv_anomaly project. See LICENSE in the repository root.
"""Peer (c): anomalib's PatchCore and FastFlow torch models, timed like anomaly_benchmark.

Development/benchmark-only dependency (in a separate virtual environment, because anomalib pulls
opencv-python and torch): python3 -m venv VENV && VENV/bin/pip install anomalib torch torchvision.
Untrained weights (pre_trained=False): speed does not depend on weight values. PatchCore's memory
bank is filled with --bank random vectors (about 10 % coreset of 200 images x 32x32 patches).
Times the model forward (backbone + head + anomalib's own map/score computation), no
pre-processing.
"""
import argparse
import statistics
import sys
import time

import torch


def median_seconds_per_image(model, batch, size, warmup, repeats):
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch))
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            model(x)
            if i >= warmup:
                times.append((time.perf_counter() - start) / batch)
    return statistics.median(times)


def patchcore(backbone, layers, bank, size):
    from anomalib.models.image.patchcore.torch_model import PatchcoreModel

    model = PatchcoreModel(backbone=backbone, layers=layers, pre_trained=False, num_neighbors=9)
    model.eval()
    with torch.inference_mode():
        dim = model.feature_extractor(torch.zeros(1, 3, size, size))
        dim = sum(f.shape[1] for f in dim.values())
    model.memory_bank = torch.randn(bank, dim, generator=torch.Generator().manual_seed(0))
    return model, f"PatchCore {backbone} {'+'.join(layers)} ({dim} ch), bank {bank}"


def fastflow(backbone, size):
    from anomalib.models.image.fastflow.torch_model import FastflowModel

    model = FastflowModel(input_size=(size, size), backbone=backbone, pre_trained=False,
                          flow_steps=8)
    model.eval()
    return model, f"FastFlow {backbone}, 8 flow steps"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--bank", type=int, default=16384)
    args = parser.parse_args()
    import anomalib

    print(f"\n### anomalib {anomalib.__version__}, torch {torch.__version__}; "
          f"{args.size}x{args.size}; medians of {args.repeats} runs; ms per image\n")
    print("| model | threads | batch 1 | batch " + str(args.batch) + " (per image) |")
    print("|---|---|---|---|")
    models = [
        patchcore("efficientnet_lite0", ["blocks.2", "blocks.4"], args.bank, args.size),
        patchcore("resnet18", ["layer2", "layer3"], args.bank, args.size),
        patchcore("wide_resnet50_2", ["layer2", "layer3"], args.bank, args.size),
        fastflow("resnet18", args.size),
    ]
    for model, label in models:
        for t in [int(v) for v in args.threads.split(",")]:
            torch.set_num_threads(t)
            one = median_seconds_per_image(model, 1, args.size, args.warmup, args.repeats)
            many = median_seconds_per_image(model, args.batch, args.size, args.warmup,
                                            max(3, args.repeats // 4))
            print(f"| {label} | {t} | {one * 1e3:.1f} | {many * 1e3:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
