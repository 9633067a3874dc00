// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A preset's head between two standardisations fitted on the training images.
#ifndef ANOMALY_TRAIN_STANDARDIZED_HEAD_HPP
#define ANOMALY_TRAIN_STANDARDIZED_HEAD_HPP

#include "context_map.hpp"
#include "exceedance_scale.hpp"
#include "heads.hpp"
#include "segmentation_head.hpp"

#include <torch/torch.h>

#include <array>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace anomaly_train {

/** Wraps a preset's head:
 *  - features are standardised per scale and channel, (f - mean_c) / std_c over every training
 *    position, so that reconstruction losses and flows weigh all channels alike whatever the
 *    backbone's activation scales;
 *  - each of the three maps is standardised per position, (m - mean(x,y)) / std(x,y) over the
 *    training images, so that places where good images always score high or vary a lot (the
 *    corners and borders, from zero padding in the backbone and the flows) do not set the image
 *    score; then divided by one factor per map, the standard deviation of the standardised map
 *    over every position of held-out good images. Why: a map fitted to the training images (the
 *    flows, the context map's whitening) spreads wider on images it has not seen (1.5-1.9 times
 *    on magnetic_tile, against 1.1 for the segmentation head), and the maps are summed: measured
 *    on the training images alone, the overfitted maps would outweigh the others;
 *  - with a context window (HeadOptions::contextWindow), a ContextMap of the standardised
 *    stride-16 features, standardised per position the same way, is added to the anomaly map
 *    (not to the local and global maps, which stay the branches' own);
 *  - with a segmentation head (HeadOptions::segmentation), its logits of the standardised
 *    stride-16 features, standardised per position the same way, are a second kind of evidence:
 *    the anomaly map is then the sum of the density maps (the inner head's anomaly map plus the
 *    context map) and the segmentation map each on its ExceedanceScale fitted on the held-out
 *    images, the segmentation term times HeadOptions::segmentationWeight. Why: on magnetic_tile
 *    the density maps' heavy tails decide a plain sum wherever both fire (exceedance_scale.hpp).
 * Until fitted, all are the identity. The statistics are buffers: they are saved in checkpoints
 * and exported as constant Add and Mul nodes (the exceedance scales as the nodes they document). */
class StandardizedHeadImpl : public AnomalyHeadImpl
{
public:
    /** contextWindow 0: no context map; segmentation: a SegmentationHead, whose evidence enters
    the anomaly map times segmentationWeight. */
    StandardizedHeadImpl(std::shared_ptr<AnomalyHeadImpl> inner, const HeadGeometry& geometry,
                         int64_t contextWindow, bool segmentation = false,
                         double segmentationWeight = 1.0);

    /** Feature statistics; call before training. */
    void fitFeatureStatistics(const std::vector<torch::Tensor>& features) override;
    /** Map statistics of the trained head (eval mode), in batches: per position over the
    training features, then one factor per map over the held-out features and, with a
    segmentation head, the two exceedance scales on the held-out features (see the class
    comment). */
    void fitMapStatistics(const std::vector<torch::Tensor>& features,
                          const std::vector<torch::Tensor>& heldOut, int64_t batch);

    /** Null without one. Trained after the inner head (fitFeatureStatistics first), on
    segmentationLoss(). */
    SegmentationHead segmentation() const { return segmentation_; }
    /** The segmentation head's loss on raw stride-16 features [N, C, h, w] (standardised here)
    against per-cell defect fractions [N, 1, h, w]. */
    torch::Tensor segmentationLoss(const torch::Tensor& features, const torch::Tensor& targets);

    HeadOutput forward(const std::vector<torch::Tensor>& features) override;
    ExportedMaps exportGraph(GraphEmitter& g, const std::vector<std::string>& features) override;

private:
    std::vector<torch::Tensor> standardizeFeatures(
        const std::vector<torch::Tensor>& features) const;

    /** Map k (the order of rawMaps()) with its fitted shift and scale. */
    torch::Tensor standardizeMap(const torch::Tensor& map, size_t k) const;
    /** The inner head's three maps, then the context and segmentation maps where there are. */
    std::vector<torch::Tensor> rawMaps(const std::vector<torch::Tensor>& standardized);
    /** The standardised density maps' sum and the standardised segmentation map of rawMaps(). */
    std::pair<torch::Tensor, torch::Tensor> evidenceMaps(
        const std::vector<torch::Tensor>& raw) const;
    /** rawMaps() of features, batch images at a time. */
    void forEachMapBatch(const std::vector<torch::Tensor>& features, int64_t batch,
                         const std::function<void(const std::vector<torch::Tensor>&)>& use);

    std::shared_ptr<AnomalyHeadImpl> inner_;
    ContextMap context_{nullptr};
    SegmentationHead segmentation_{nullptr};
    double segmentationWeight_;
    ExceedanceScale densityEvidence_{nullptr}, segmentationEvidence_{nullptr};
    std::array<torch::Tensor, 3> featureShift_, featureScale_;  // [1, C_s, 1, 1]
    // [1, 1, h, w]: anomaly, local, global (then context and segmentation where there are)
    std::vector<torch::Tensor> mapShift_, mapScale_;
};
TORCH_MODULE(StandardizedHead);

/** makeHead() wrapped in a StandardizedHead with options.contextWindow and options.segmentation:
what the training tool trains and exports. */
StandardizedHead makeStandardizedHead(const HeadOptions& options, const HeadGeometry& geometry);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_STANDARDIZED_HEAD_HPP
