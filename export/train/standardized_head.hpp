// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A preset's head between two standardisations fitted on the training images.
#ifndef ANOMALY_TRAIN_STANDARDIZED_HEAD_HPP
#define ANOMALY_TRAIN_STANDARDIZED_HEAD_HPP

#include "heads.hpp"

#include <torch/torch.h>

#include <array>
#include <memory>
#include <vector>

namespace anomaly_train {

/** Wraps a preset's head:
 *  - features are standardised per scale and channel, (f - mean_c) / std_c over every training
 *    position, so that reconstruction losses and flows weigh all channels alike whatever the
 *    backbone's activation scales;
 *  - each of the three maps is standardised per position, (m - mean(x,y)) / std(x,y) over the
 *    training images, so that places where good images always score high or vary a lot (the
 *    corners and borders, from zero padding in the backbone and the flows) do not set the image
 *    score.
 * Until fitted, both are the identity. The statistics are buffers: they are saved in checkpoints
 * and exported as constant Add and Mul nodes. */
class StandardizedHeadImpl : public AnomalyHeadImpl
{
public:
    StandardizedHeadImpl(std::shared_ptr<AnomalyHeadImpl> inner, const HeadGeometry& geometry);

    /** Feature statistics; call before training. */
    void fitFeatureStatistics(const std::vector<torch::Tensor>& features) override;
    /** Map statistics of the trained head (eval mode) over the training features, in batches. */
    void fitMapStatistics(const std::vector<torch::Tensor>& features, int64_t batch);

    HeadOutput forward(const std::vector<torch::Tensor>& features) override;
    ExportedMaps exportGraph(GraphEmitter& g, const std::vector<std::string>& features) override;

private:
    std::vector<torch::Tensor> standardizeFeatures(
        const std::vector<torch::Tensor>& features) const;

    std::shared_ptr<AnomalyHeadImpl> inner_;
    std::array<torch::Tensor, 3> featureShift_, featureScale_;  // [1, C_s, 1, 1]
    std::array<torch::Tensor, 3> mapShift_, mapScale_;  // [1, 1, h, w]: anomaly, local, global
};
TORCH_MODULE(StandardizedHead);

/** makeHead() wrapped in a StandardizedHead: what the training tool trains and exports. */
StandardizedHead makeStandardizedHead(const HeadOptions& options, const HeadGeometry& geometry);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_STANDARDIZED_HEAD_HPP
