// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The segmentation head's training data: synthetic defects on the training images, their
// stride-16 features through the backbone (the inference path) and per-cell targets.
#ifndef ANOMALY_TRAIN_SYNTHETIC_DEFECT_SET_HPP
#define ANOMALY_TRAIN_SYNTHETIC_DEFECT_SET_HPP

#include "defect_synthesis.hpp"
#include "feature_cache.hpp"
#include "texture_grain.hpp"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace anomaly_train {

struct SyntheticDefectSet
{
    torch::Tensor features;  // [M, C, h, w]: the backbone's stride-16 features
    torch::Tensor targets;   // [M, 1, h, w]: defect fraction of every cell
};

/** variantsPerImage synthetic defects on every image of paths (n >= 2), each pasted from another
image drawn at random, in the order variant by variant, image by image. Sample j draws from an
std::mt19937_64 seeded with {seed, j} only, so the set depends on seed and paths alone, not on the
batch size or the thread count. Images are read again from disk for every sample: keeping them
at the network's size would take 1.2 MB each at 320x320 (840 MB for magnetic_tile's 686), reading
them again about 6 s of a 10-minute training (the same read, grey-to-float and resize timed
in OpenCV-Python on magnetic_tile, 2026-12-05). Throws std::runtime_error when
an image cannot be read. */
SyntheticDefectSet makeSyntheticDefectSet(Backbone& backbone, const std::vector<std::string>& paths,
                                          int variantsPerImage, uint64_t seed, bool showProgress,
                                          const DefectSynthesisOptions& options = {});

/** The grain energy of the images of paths at the network's size (as the synthetic defects see
them), summed over at most maxImages of them spaced evenly through the list: enough to tell a
grain and cheap next to the synthesis. paths not empty and maxImages >= 1, else
std::invalid_argument; throws std::runtime_error when an image cannot be read. */
GrainEnergy measureGrain(const std::vector<std::string>& paths, cv::Size size, int maxImages = 64);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_SYNTHETIC_DEFECT_SET_HPP
