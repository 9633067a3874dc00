#!/usr/bin/env python3
"""How far can a backbone's features go? PatchCore- and PaDiM-style checks, no training.

Runs a backbone ONNX file (standard ops only: v1 `anomaly_backbone` files, or any v2 file after
`anomaly_standard_onnx`) through ONNX Runtime on an MVTec-layout category, builds a memory bank of
the good training images' local features (each tap averaged over 3x3 of its cells, --window,
resized to one grid, standardised per channel, a random 60,000-vector subset) and scores every test position by its distance to the
nearest bank vector (or, with --score gaussian-per-position, by its Mahalanobis distance from a
Gaussian of the training images' vectors at the same position). Prints image AUROC (max of the
smoothed map) and pixel AUROC at 64x64 map resolution, overall and per defect type (each type
against the good test images, and the in-image pixel AUROC of anomaly_evaluate).

A developer's tool (PyPI: onnxruntime, opencv-python or Debian's python3-opencv, numpy,
scikit-learn), not part of the build; doc/results.md quotes its figures.

    python3 samples/evaluate/feature_knn_ceiling.py --backbone backbone.onnx \
        --data ../shared/data/magnetic_tile [--taps 8,16] [--window 3] [--intensity-weight 0] \
        [--score nearest|gaussian-per-position]
"""
import argparse
import glob
import os

import cv2
import numpy as np
import onnxruntime as ort
from sklearn.covariance import ledoit_wolf
from sklearn.metrics import roc_auc_score

GRID = 32        # feature grid (stride 8 at 256x256)
MAP_SIZE = 64    # resolution of the maps and masks that are scored
BANK_SIZE = 60000


def backbone_session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    size = int(meta.get("backbone.input_width", "256"))
    mean = np.array([float(v) for v in meta["backbone.mean"].split(",")], np.float32)
    std = np.array([float(v) for v in meta["backbone.std"].split(",")], np.float32)
    rgb = meta.get("backbone.color_order", "RGB") == "RGB"
    return session, size, mean, std, rgb


def preprocess(path, size, mean, std, rgb):
    image = cv2.imread(path)
    shrink_much = image.shape[0] > 2 * size
    image = cv2.resize(image, (size, size),
                       interpolation=cv2.INTER_AREA if shrink_much else cv2.INTER_LINEAR)
    if rgb:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return ((image.astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)


def per_channel_chunks(fn, image):
    """fn applied to an (h, w, c) image in chunks of at most 128 channels: OpenCV 5's Python
    binding takes no more (CV_CN_MAX), and the backbones' taps have up to 512."""
    chunks = []
    for k in range(0, image.shape[2], 128):
        part = np.ascontiguousarray(image[:, :, k:k + 128])
        out = fn(part)
        chunks.append(out.reshape(out.shape[0], out.shape[1], part.shape[2]))
    return np.concatenate(chunks, -1)


def tap_features(session, paths, taps, window, preprocess_args):
    names = {"4": "feat_s4", "8": "feat_s8", "16": "feat_s16"}
    per_tap = {t: [] for t in taps}
    for i in range(0, len(paths), 16):
        batch = np.stack([preprocess(p, *preprocess_args) for p in paths[i:i + 16]])
        outputs = session.run([names[t] for t in taps], {"image": batch})
        for t, out in zip(taps, outputs):
            per_tap[t].append(out)
    grids = []
    for t in taps:
        maps = np.concatenate(per_tap[t])
        h = maps.shape[2]
        interpolation = cv2.INTER_LINEAR if h < GRID else cv2.INTER_AREA
        grids.append(np.stack([per_channel_chunks(
            lambda x: cv2.resize(cv2.blur(x, (window, window)), (GRID, GRID),
                                 interpolation=interpolation),
            m.transpose(1, 2, 0)) for m in maps]))
    return np.concatenate(grids, -1)


def intensity(paths):
    out = []
    for p in paths:
        grey = cv2.imread(p, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
        grey = cv2.resize(grey, (GRID, GRID), interpolation=cv2.INTER_AREA)
        out.append(cv2.blur(grey, (3, 3))[..., None])
    return np.stack(out)


def ground_truth(root, test_paths):
    masks = []
    for p in test_paths:
        defect = p.split(os.sep)[-2]
        stem = os.path.splitext(os.path.basename(p))[0]
        mask_path = os.path.join(root, "ground_truth", defect, stem + "_mask.png")
        mask = (cv2.imread(mask_path, cv2.IMREAD_GRAYSCALE) if os.path.exists(mask_path)
                else np.zeros(cv2.imread(p, cv2.IMREAD_GRAYSCALE).shape, np.uint8))
        masks.append(cv2.resize((mask > 0).astype(np.uint8), (MAP_SIZE, MAP_SIZE),
                                interpolation=cv2.INTER_NEAREST))
    return np.stack(masks)


def nearest_neighbour_distances(train_features, test_features):
    """Per test position, the distance to the nearest of BANK_SIZE random training vectors."""
    bank = train_features.reshape(-1, train_features.shape[-1])
    rng = np.random.default_rng(0)
    bank = bank[rng.choice(len(bank), min(len(bank), BANK_SIZE), replace=False)]
    bank_norms = (bank ** 2).sum(1)
    distances = []
    for x in test_features:
        q = x.reshape(-1, x.shape[-1])
        d2 = (q ** 2).sum(1)[:, None] - 2 * q @ bank.T + bank_norms[None]
        distances.append(np.sqrt(np.maximum(d2.min(1), 0)).reshape(GRID, GRID))
    return np.stack(distances).astype(np.float32)


def gaussian_per_position_distances(train_features, test_features):
    """Per test position, the Mahalanobis distance from a Gaussian of the training images'
    vectors at that position (Ledoit-Wolf shrunk covariance), as PaDiM scores."""
    distances = np.zeros(test_features.shape[:3], np.float32)
    for i in range(GRID):
        for j in range(GRID):
            x = train_features[:, i, j]
            mean = x.mean(0)
            covariance, _ = ledoit_wolf(x - mean, assume_centered=True)
            d = test_features[:, i, j] - mean
            distances[:, i, j] = np.sqrt(np.einsum("nc,cd,nd->n", d, np.linalg.inv(covariance), d))
    return distances


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--data", required=True, help="MVTec-layout category root")
    parser.add_argument("--taps", default="8,16", help="strides to use, from 4,8,16")
    parser.add_argument("--window", type=int, default=3,
                        help="average each tap over this many cells square before the grid "
                             "(wider: more of the tile's texture per position)")
    parser.add_argument("--intensity-weight", type=float, default=0.0,
                        help="append the 3x3-averaged grey level, standardised per position, "
                             "times this weight (0: off)")
    parser.add_argument("--score", choices=["nearest", "gaussian-per-position"], default="nearest",
                        help="distance to the nearest training vector (PatchCore), or the "
                             "Mahalanobis distance from the training vectors at the same position "
                             "(PaDiM)")
    args = parser.parse_args()
    taps = args.taps.split(",")
    session, size, mean, std, rgb = backbone_session(args.backbone)
    train = sorted(glob.glob(os.path.join(args.data, "train", "good", "*")))
    test = sorted(glob.glob(os.path.join(args.data, "test", "*", "*")))
    types = np.array([p.split(os.sep)[-2] for p in test])

    train_features = tap_features(session, train, taps, args.window, (size, mean, std, rgb))
    test_features = tap_features(session, test, taps, args.window, (size, mean, std, rgb))
    flat = train_features.reshape(-1, train_features.shape[-1])
    mu, sigma = flat.mean(0), flat.std(0) + 1e-6
    train_features = (train_features - mu) / sigma
    test_features = (test_features - mu) / sigma
    if args.intensity_weight > 0:
        grey_train, grey_test = intensity(train), intensity(test)
        m, s = grey_train.mean(0, keepdims=True), grey_train.std(0, keepdims=True) + 1e-3
        train_features = np.concatenate(
            [train_features, (grey_train - m) / s * args.intensity_weight], -1)
        test_features = np.concatenate(
            [test_features, (grey_test - m) / s * args.intensity_weight], -1)

    if args.score == "nearest":
        distances = nearest_neighbour_distances(train_features, test_features)
    else:
        distances = gaussian_per_position_distances(train_features, test_features)
    maps = np.stack([cv2.GaussianBlur(cv2.resize(d, (MAP_SIZE, MAP_SIZE)), (0, 0), 1.0)
                     for d in distances])
    masks = ground_truth(args.data, test)
    labels = (types != "good").astype(int)
    scores = maps.reshape(len(maps), -1).max(1)
    print(f"{os.path.basename(args.backbone)} taps {args.taps}, {args.score}: image AUROC "
          f"{roc_auc_score(labels, scores):.3f}, pixel AUROC "
          f"{roc_auc_score(masks.ravel(), maps.ravel()):.3f}")
    for defect in sorted(set(types) - {"good"}):
        pick = (types == defect) | (types == "good")
        # As anomaly_evaluate's in-image pixel AUROC: each defective image against its own mask.
        in_image = [roc_auc_score(masks[i].ravel(), maps[i].ravel())
                    for i in np.flatnonzero(types == defect) if 0 < masks[i].sum() < masks[i].size]
        print(f"  {defect:10s} image {roc_auc_score(labels[pick], scores[pick]):.3f}  pixel "
              f"{roc_auc_score(masks[pick].ravel(), maps[pick].ravel()):.3f}  in-image "
              f"{np.mean(in_image) if in_image else float('nan'):.3f}")


if __name__ == "__main__":
    main()
