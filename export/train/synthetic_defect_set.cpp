// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "synthetic_defect_set.hpp"

#include <progress_bar.hpp>

#include <algorithm>
#include <optional>
#include <random>
#include <stdexcept>

namespace anomaly_train {

namespace {

cv::Mat readSynthesisImage(const std::string& path, cv::Size size)
{
    const cv::Mat image = readImage(path);
    if (image.empty())
        throw std::runtime_error("cannot read image " + path + " for the synthetic defects");
    // The pixels the backbone would see, in the image's own colour order, so that images of any
    // depth and channel count can be pasted into each other.
    cv::anomaly::InputSpec spec;
    spec.size = size;
    spec.rgb = false;
    cv::Mat networkImage;
    cv::anomaly::makeNetworkImage(image, spec, networkImage);
    return networkImage;
}

torch::Tensor toTensor(const cv::Mat& cells)
{
    return torch::from_blob(const_cast<float*>(cells.ptr<float>()), {1, 1, cells.rows, cells.cols})
        .clone();
}

}  // namespace

SyntheticDefectSet makeSyntheticDefectSet(Backbone& backbone, const std::vector<std::string>& paths,
                                          int variantsPerImage, uint64_t seed, bool showProgress,
                                          const DefectSynthesisOptions& options)
{
    const int64_t n = int64_t(paths.size());
    if (n < 2)
        throw std::runtime_error("synthetic defects need at least 2 training images");
    const auto& g = backbone.geometry;
    const int64_t total = n * variantsPerImage;
    SyntheticDefectSet set{torch::empty({total, g.channels[2], g.heights[2], g.widths[2]}),
                           torch::empty({total, 1, g.heights[2], g.widths[2]})};
    std::optional<anomaly_samples::ProgressBar> bar;
    if (showProgress)
        bar.emplace("defects", long(total), "img");
    constexpr int64_t kBatch = 8;
    std::vector<cv::Mat> batch;
    for (int64_t j = 0; j < total; ++j) {
        std::seed_seq seeds{uint32_t(seed), uint32_t(seed >> 32), uint32_t(j), uint32_t(j >> 32)};
        std::mt19937_64 rng(seeds);
        const int64_t target = j % n;
        const int64_t source = (target + 1 + int64_t(rng() % uint64_t(n - 1))) % n;
        const SyntheticDefect defect = synthesizeDefect(
            readSynthesisImage(paths[size_t(target)], backbone.spec.size),
            readSynthesisImage(paths[size_t(source)], backbone.spec.size), rng, options);
        batch.push_back(defect.image);
        set.targets[j].copy_(
            toTensor(cellTargets(defect.alpha, int(g.heights[2]), int(g.widths[2])))[0]);
        if (int64_t(batch.size()) == kBatch || j + 1 == total) {
            const int64_t first = j + 1 - int64_t(batch.size());
            set.features.narrow(0, first, int64_t(batch.size()))
                .copy_(extractFeatures(backbone, batch)[2]);
            batch.clear();
        }
        if (bar)
            bar->update(long(j + 1));
    }
    if (bar)
        bar->finish();
    return set;
}

GrainEnergy measureGrain(const std::vector<std::string>& paths, cv::Size size, int maxImages)
{
    if (paths.empty() || maxImages < 1)
        throw std::invalid_argument("measureGrain needs images and maxImages >= 1");
    const size_t n = paths.size(), count = std::min(n, size_t(maxImages));
    GrainEnergy sum;
    for (size_t k = 0; k < count; ++k) {
        const GrainEnergy e = grainEnergy(readSynthesisImage(paths[k * n / count], size));
        sum.horizontal += e.horizontal;
        sum.vertical += e.vertical;
    }
    return sum;
}

}  // namespace anomaly_train
