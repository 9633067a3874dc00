// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "standardized_head.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace anomaly_train {

namespace {

/** A standard deviation kept away from zero: positions or channels that never vary in training
(dead ReLU channels, constant padding) would otherwise turn tiny test deviations into huge values.
*/
torch::Tensor safeStd(const torch::Tensor& variance)
{
    const auto std = variance.clamp_min(0).sqrt();
    return std.clamp_min(std::max(1e-6, 0.05 * std.mean().item<double>()));
}

}  // namespace

StandardizedHeadImpl::StandardizedHeadImpl(std::shared_ptr<AnomalyHeadImpl> inner,
                                           const HeadGeometry& geometry, int64_t contextWindow,
                                           bool segmentation, double segmentationWeight)
    : inner_(register_module("inner", std::move(inner))), segmentationWeight_(segmentationWeight)
{
    if (!(segmentationWeight > 0))
        throw std::invalid_argument("the segmentation weight must be positive");
    for (int s = 0; s < 3; ++s) {
        const auto name = std::to_string(s);
        featureShift_[size_t(s)] =
            register_buffer("feature_shift_" + name, torch::zeros({1, geometry.channels[s], 1, 1}));
        featureScale_[size_t(s)] =
            register_buffer("feature_scale_" + name, torch::ones({1, geometry.channels[s], 1, 1}));
    }
    if (contextWindow > 0)
        context_ = register_module(
            "context", ContextMap(geometry.channels[2], geometry.heights[2], geometry.widths[2],
                                  contextWindow, geometry.upFactor(2)));
    if (segmentation) {
        segmentation_ = register_module("segmentation",
                                        SegmentationHead(geometry.channels[2], geometry.heights[2],
                                                         geometry.widths[2], geometry.upFactor(2)));
        densityEvidence_ = register_module("density_evidence", ExceedanceScale());
        segmentationEvidence_ = register_module("segmentation_evidence", ExceedanceScale());
    }
    const size_t maps = 3 + (context_ ? 1 : 0) + (segmentation_ ? 1 : 0);
    const std::vector<int64_t> mapShape{1, 1, geometry.mapHeight(), geometry.mapWidth()};
    for (size_t k = 0; k < maps; ++k) {
        const auto name = std::to_string(k);
        mapShift_.push_back(register_buffer("map_shift_" + name, torch::zeros(mapShape)));
        mapScale_.push_back(register_buffer("map_scale_" + name, torch::ones(mapShape)));
    }
}

void StandardizedHeadImpl::fitFeatureStatistics(const std::vector<torch::Tensor>& features)
{
    torch::NoGradGuard noGrad;
    for (size_t s = 0; s < 3; ++s) {
        const auto f = features[s].to(torch::kDouble);
        const auto mean = f.mean({0, 2, 3}, true);
        const auto variance = (f - mean).pow(2).mean({0, 2, 3}, true);
        featureShift_[s].copy_(-mean);
        featureScale_[s].copy_(1.0 / safeStd(variance));
    }
    const auto standardized = standardizeFeatures(features);
    inner_->fitFeatureStatistics(standardized);
    if (context_)
        context_->fit(standardized[2]);
}

std::vector<torch::Tensor> StandardizedHeadImpl::rawMaps(
    const std::vector<torch::Tensor>& standardized)
{
    const HeadOutput out = inner_->forward(standardized);
    std::vector<torch::Tensor> maps{out.anomalyMap, out.localMap, out.globalMap};
    if (context_)
        maps.push_back(context_->forward(standardized[2]));
    if (segmentation_)
        maps.push_back(segmentation_->forward(standardized[2]));
    return maps;
}

torch::Tensor StandardizedHeadImpl::segmentationLoss(const torch::Tensor& features,
                                                     const torch::Tensor& targets)
{
    if (!segmentation_)
        throw std::logic_error("segmentationLoss: the head has no segmentation head");
    return segmentation_->loss((features + featureShift_[2]) * featureScale_[2], targets);
}

void StandardizedHeadImpl::forEachMapBatch(
    const std::vector<torch::Tensor>& features, int64_t batch,
    const std::function<void(const std::vector<torch::Tensor>&)>& use)
{
    const int64_t count = features.front().size(0);
    for (int64_t begin = 0; begin < count; begin += batch) {
        const int64_t n = std::min(batch, count - begin);
        std::vector<torch::Tensor> slice;
        for (const auto& f : features)
            slice.push_back(f.narrow(0, begin, n));
        use(rawMaps(standardizeFeatures(slice)));
    }
}

void StandardizedHeadImpl::fitMapStatistics(const std::vector<torch::Tensor>& features,
                                            const std::vector<torch::Tensor>& heldOut,
                                            int64_t batch)
{
    torch::NoGradGuard noGrad;
    eval();
    const size_t maps = mapShift_.size();
    std::vector<torch::Tensor> sum(maps), sumSquares(maps);
    forEachMapBatch(features, batch, [&](const std::vector<torch::Tensor>& raw) {
        for (size_t k = 0; k < maps; ++k) {
            const auto m = raw[k].to(torch::kDouble);
            sum[k] = sum[k].defined() ? sum[k] + m.sum(0, true) : m.sum(0, true);
            sumSquares[k] = sumSquares[k].defined() ? sumSquares[k] + m.pow(2).sum(0, true)
                                                    : m.pow(2).sum(0, true);
        }
    });
    const double count = double(features.front().size(0));
    for (size_t k = 0; k < maps; ++k) {
        const auto mean = sum[k] / count;
        mapShift_[k].copy_(-mean);
        mapScale_[k].copy_(1.0 / safeStd(sumSquares[k] / count - mean.pow(2)));
    }
    // The spread of each standardised map over every position of the held-out images.
    std::vector<double> heldSum(maps, 0.0), heldSumSquares(maps, 0.0);
    double heldValues = 0;
    // Kept for the exceedance scales, which need the maps after the spread factors below.
    std::vector<std::vector<torch::Tensor>> heldMaps;
    forEachMapBatch(heldOut, batch, [&](const std::vector<torch::Tensor>& raw) {
        for (size_t k = 0; k < maps; ++k) {
            const auto z = standardizeMap(raw[k], k).to(torch::kDouble);
            heldSum[k] += z.sum().item<double>();
            heldSumSquares[k] += z.pow(2).sum().item<double>();
        }
        heldValues += double(raw[0].numel());
        if (segmentation_)
            heldMaps.push_back(raw);
    });
    // Only a spread above 1 is divided out: it is what fitting to the training images inflates.
    // A map that spreads less on unseen images (or, with --holdout 0, where a position's deviation
    // was floored) keeps its training scale, so a quiet map's noise is never amplified.
    for (size_t k = 0; k < maps; ++k) {
        const double mean = heldSum[k] / heldValues;
        const double variance = heldSumSquares[k] / heldValues - mean * mean;
        mapScale_[k].div_(std::max(1.0, std::sqrt(std::max(variance, 0.0))));
    }
    if (segmentation_) {
        std::vector<torch::Tensor> density, segmentation;
        for (const auto& raw : heldMaps) {
            auto evidence = evidenceMaps(raw);
            density.push_back(std::move(evidence.first));
            segmentation.push_back(std::move(evidence.second));
        }
        densityEvidence_->fit(torch::cat(density));
        segmentationEvidence_->fit(torch::cat(segmentation), segmentationWeight_);
    }
}

std::pair<torch::Tensor, torch::Tensor> StandardizedHeadImpl::evidenceMaps(
    const std::vector<torch::Tensor>& raw) const
{
    auto density = standardizeMap(raw[0], 0);
    if (context_)
        density = density + standardizeMap(raw[3], 3);
    return {density, standardizeMap(raw.back(), raw.size() - 1)};
}

std::vector<torch::Tensor> StandardizedHeadImpl::standardizeFeatures(
    const std::vector<torch::Tensor>& features) const
{
    std::vector<torch::Tensor> out;
    for (size_t s = 0; s < 3; ++s)
        out.push_back((features[s] + featureShift_[s]) * featureScale_[s]);
    return out;
}

torch::Tensor StandardizedHeadImpl::standardizeMap(const torch::Tensor& map, size_t k) const
{
    return (map + mapShift_[k]) * mapScale_[k];
}

HeadOutput StandardizedHeadImpl::forward(const std::vector<torch::Tensor>& features)
{
    const auto standardized = standardizeFeatures(features);
    HeadOutput out = inner_->forward(standardized);
    out.anomalyMap = standardizeMap(out.anomalyMap, 0);
    out.localMap = standardizeMap(out.localMap, 1);
    out.globalMap = standardizeMap(out.globalMap, 2);
    size_t k = 3;
    if (context_)
        out.anomalyMap = out.anomalyMap + standardizeMap(context_->forward(standardized[2]), k++);
    if (segmentation_) {
        out.scoreMap = out.anomalyMap;
        out.anomalyMap = densityEvidence_->forward(out.anomalyMap) +
                         segmentationEvidence_->forward(
                             standardizeMap(segmentation_->forward(standardized[2]), k));
    }
    return out;
}

ExportedMaps StandardizedHeadImpl::exportGraph(GraphEmitter& g,
                                               const std::vector<std::string>& features)
{
    // Constants of binaryConstant have no batch dimension: [C, 1, 1] and [1, h, w].
    std::vector<std::string> standardized;
    {
        StageScope stage(g, stage::kTokens);
        for (size_t s = 0; s < 3; ++s)
            standardized.push_back(
                g.binaryConstant("Mul", g.binaryConstant("Add", features[s], featureShift_[s][0]),
                                 featureScale_[s][0]));
    }
    ExportedMaps maps = inner_->exportGraph(g, standardized);
    StageScope stage(g, stage::kMaps);
    const auto standardizeMap = [&](const std::string& map, size_t k) {
        return g.binaryConstant("Mul", g.binaryConstant("Add", map, mapShift_[k][0]),
                                mapScale_[k][0]);
    };
    maps.anomalyMap = standardizeMap(maps.anomalyMap, 0);
    maps.localMap = standardizeMap(maps.localMap, 1);
    maps.globalMap = standardizeMap(maps.globalMap, 2);
    size_t k = 3;
    if (context_)
        maps.anomalyMap = g.binary("Add", maps.anomalyMap,
                                   standardizeMap(context_->exportGraph(g, standardized[2]), k++));
    if (segmentation_) {
        maps.scoreMap = maps.anomalyMap;
        maps.anomalyMap =
            g.binary("Add", densityEvidence_->exportGraph(g, maps.anomalyMap),
                     segmentationEvidence_->exportGraph(
                         g, standardizeMap(segmentation_->exportGraph(g, standardized[2]), k)));
    }
    return maps;
}

StandardizedHead makeStandardizedHead(const HeadOptions& options, const HeadGeometry& geometry)
{
    return StandardizedHead(makeHead(options, geometry), geometry, options.contextWindow,
                            options.segmentation, options.segmentationWeight);
}

}  // namespace anomaly_train
