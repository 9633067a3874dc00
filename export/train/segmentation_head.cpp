// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "segmentation_head.hpp"

#include "torch_layers.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace anomaly_train {

namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d convolution(int64_t in, int64_t out, int64_t kernel, int64_t dilation, bool bias)
{
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                 .padding(dilation * (kernel / 2))
                                 .dilation(dilation)
                                 .bias(bias));
}

}  // namespace

SegmentationHeadImpl::SegmentationHeadImpl(int64_t channels, int64_t height, int64_t width,
                                           int64_t upFactor, const SegmentationHeadOptions& options)
    : upFactor_(upFactor), dilations_(options.dilations)
{
    if (options.width < 1 || dilations_.empty() ||
        std::any_of(dilations_.begin(), dilations_.end(), [](int64_t d) { return d < 1; }))
        throw std::invalid_argument("segmentation head: width and dilations must be positive");
    input_ = register_module("input", convolution(channels, options.width, 1, 1, true));
    for (size_t i = 0; i < dilations_.size(); ++i)
        blocks_.push_back(
            register_module("block_" + std::to_string(i),
                            convolution(options.width, options.width, 3, dilations_[i], true)));
    cell_ = register_module("cell", convolution(options.width, 1, 1, 1, true));
    image_ = register_module("image", convolution(options.width, 1, 1, 1, false));
    const int64_t k = 2 * std::max(height, width) - 1;
    gridMean_ =
        register_buffer("grid_mean", torch::full({1, 1, k, k}, 1.0 / double(height * width)));
}

torch::Tensor SegmentationHeadImpl::logits(const torch::Tensor& features)
{
    auto h = torch::relu(input_->forward(features));
    for (auto& block : blocks_)
        h = torch::relu(block->forward(h)) + h;
    return cell_->forward(h) + image_->forward(h).mean({2, 3}, true);
}

torch::Tensor SegmentationHeadImpl::loss(const torch::Tensor& features,
                                         const torch::Tensor& targets)
{
    return F::binary_cross_entropy_with_logits(logits(features), targets);
}

torch::Tensor SegmentationHeadImpl::forward(const torch::Tensor& features)
{
    return upsample(logits(features), upFactor_);
}

std::string SegmentationHeadImpl::exportGraph(GraphEmitter& g, const std::string& features) const
{
    // A comparison of each cell with its surroundings, as the context map: the global stage.
    StageScope stage(g, stage::kGlobal);
    auto h = g.unary("Relu", g.conv(features, input_->weight, input_->bias, 1));
    for (size_t i = 0; i < dilations_.size(); ++i) {
        const auto& block = blocks_[i];
        h = g.binary("Add",
                     g.unary("Relu", g.conv(h, block->weight, block->bias, 1, dilations_[i])), h);
    }
    const auto image =
        g.conv(g.conv(h, image_->weight, torch::Tensor(), 1), gridMean_, torch::Tensor(), 1);
    return g.upsample(g.binary("Add", g.conv(h, cell_->weight, cell_->bias, 1), image), upFactor_);
}

}  // namespace anomaly_train
