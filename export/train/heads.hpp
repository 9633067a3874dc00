// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The three method presets as LibTorch modules that also export themselves to ONNX.
#ifndef ANOMALY_TRAIN_HEADS_HPP
#define ANOMALY_TRAIN_HEADS_HPP

#include "graph_emitter.hpp"
#include "head_options.hpp"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace anomaly_train {

struct HeadOutput
{
    torch::Tensor anomalyMap, localMap, globalMap;  // [N, 1, mapHeight, mapWidth]
    // The same shape where the image score comes from another map than anomalyMap (the output
    // score_map, doc/model-format.md); undefined otherwise.
    torch::Tensor scoreMap;
    torch::Tensor loss;  // scalar training loss
};

struct ExportedMaps
{
    std::string anomalyMap, localMap, globalMap;
    std::string scoreMap;  // empty: the image score comes from anomalyMap
};

/** Everything after the backbone. forward() takes the three feature maps [N, C_s, H_s, W_s]. */
class AnomalyHeadImpl : public torch::nn::Module
{
public:
    virtual HeadOutput forward(const std::vector<torch::Tensor>& features) = 0;
    virtual ExportedMaps exportGraph(GraphEmitter& g, const std::vector<std::string>& features) = 0;
    /** Fits what the head estimates from the training features instead of learning it (lgnf's
    positional whitening); called once before training. Heads without such statistics have
    nothing to fit. */
    virtual void fitFeatureStatistics(const std::vector<torch::Tensor>& /*features*/) {}
};

std::shared_ptr<AnomalyHeadImpl> makeHead(const HeadOptions& options, const HeadGeometry& geometry);

/** FLOPs (2 x multiply-adds of Conv and MatMul) of the exported head per image. */
double headFlops(AnomalyHeadImpl& head, const HeadGeometry& geometry);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_HEADS_HPP
