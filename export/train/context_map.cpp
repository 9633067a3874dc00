// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "context_map.hpp"

#include "torch_layers.hpp"

#include <stdexcept>

namespace anomaly_train {

namespace {

torch::Tensor sumOverWindow(const torch::Tensor& x, const torch::Tensor& ones)
{
    namespace F = torch::nn::functional;
    return F::conv2d(x, ones,
                     F::Conv2dFuncOptions().padding(ones.size(2) / 2).groups(ones.size(0)));
}

}  // namespace

ContextMapImpl::ContextMapImpl(int64_t channels, int64_t height, int64_t width, int64_t window,
                               int64_t upFactor)
    : upFactor_(upFactor)
{
    if (window < 1 || window % 2 == 0)
        throw std::invalid_argument("the context window must be an odd number of cells");
    ones_ = register_buffer("ones", torch::ones({channels, 1, window, window}));
    const auto cells = sumOverWindow(torch::ones({1, channels, height, width}), ones_);
    inverseArea_ = register_buffer("inverse_area", (1.0 / cells)[0].contiguous());
    whitening_ = register_module("whitening", PositionalWhitening(channels, height, width));
}

torch::Tensor ContextMapImpl::boxMean(const torch::Tensor& x) const
{
    return sumOverWindow(x, ones_) * inverseArea_;
}

void ContextMapImpl::fit(const torch::Tensor& features)
{
    torch::NoGradGuard noGrad;
    whitening_->fit(boxMean(features));
}

torch::Tensor ContextMapImpl::forward(const torch::Tensor& features) const
{
    return upsample(likelihoodAnomalyMap(whitening_->forward(boxMean(features))), upFactor_);
}

std::string ContextMapImpl::exportGraph(GraphEmitter& g, const std::string& features) const
{
    // Image-wide context, as the statistics score: profiled with the global branch.
    StageScope stage(g, stage::kGlobal);
    const auto mean = g.binaryConstant(
        "Mul", g.conv(features, ones_, torch::Tensor(), ones_.size(0)), inverseArea_);
    const auto z = whitening_->exportGraph(g, mean);
    return g.upsample(g.meanSquaredDifference(z, "", 0.5f), upFactor_);
}

}  // namespace anomaly_train
