// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "torch_layers.hpp"

#include <cmath>
#include <numeric>
#include <random>

namespace anomaly_train {

namespace F = torch::nn::functional;

PointwiseImpl::PointwiseImpl(int64_t in, int64_t out, double initStd)
{
    weight = register_parameter("weight", torch::randn({out, in}) * initStd);
    bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor PointwiseImpl::forward(const torch::Tensor& x)
{
    return F::conv2d(x, weight.view({weight.size(0), weight.size(1), 1, 1}),
                     F::Conv2dFuncOptions().bias(bias));
}

ChannelLayerNormImpl::ChannelLayerNormImpl(int64_t channels, double eps) : epsilon(eps)
{
    gamma = register_parameter("gamma", torch::ones({channels}));
    beta = register_parameter("beta", torch::zeros({channels}));
}

torch::Tensor ChannelLayerNormImpl::forward(const torch::Tensor& x)
{
    const auto mean = x.mean(1, true);
    const auto centered = x - mean;
    const auto var = centered.pow(2).mean(1, true);
    return centered * torch::rsqrt(var + epsilon) * gamma.view({1, -1, 1, 1}) +
           beta.view({1, -1, 1, 1});
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t numHeads) : heads(numHeads)
{
    if (dim % numHeads != 0)
        throw std::invalid_argument("attention width must be a multiple of the number of heads");
    query = register_module("query", Pointwise(dim, dim));
    key = register_module("key", Pointwise(dim, dim));
    value = register_module("value", Pointwise(dim, dim));
    out = register_module("out", Pointwise(dim, dim));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& queryIn, const torch::Tensor& keyIn,
                                     const torch::Tensor& valueIn, const torch::Tensor& mask)
{
    const int64_t n = keyIn.size(0), dim = keyIn.size(1);
    const int64_t headDim = dim / heads;
    const int64_t tq = queryIn.size(2) * queryIn.size(3), tk = keyIn.size(2) * keyIn.size(3);
    auto q = query(queryIn).reshape({-1, heads, headDim, tq}).transpose(2, 3);
    if (q.size(0) != n)
        q = q.expand({n, heads, tq, headDim});
    const auto k = key(keyIn).reshape({n, heads, headDim, tk});
    auto v = value(valueIn).reshape({-1, heads, headDim, tk}).transpose(2, 3);
    if (v.size(0) != n)
        v = v.expand({n, heads, tk, headDim});
    auto scores = torch::matmul(q, k) * (1.0 / std::sqrt(double(headDim)));
    if (mask.defined())
        scores = scores + mask;
    const auto attended = torch::matmul(torch::softmax(scores, 3), v);  // [N, h, Tq, d]
    return out(attended.transpose(2, 3).reshape({n, dim, queryIn.size(2), queryIn.size(3)}));
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden)
{
    fc1 = register_module("fc1", Pointwise(dim, hidden));
    fc2 = register_module("fc2", Pointwise(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x)
{
    return fc2(torch::relu(fc1(x)));
}

CouplingBlockImpl::CouplingBlockImpl(int64_t numChannels, int64_t kernelSize, float clampValue,
                                     uint64_t permutationSeed)
    : channels(numChannels), split((numChannels + 1) / 2), kernel(kernelSize), clamp(clampValue)
{
    const int64_t rest = channels - split;
    depthwise = register_module("depthwise",
                                torch::nn::Conv2d(torch::nn::Conv2dOptions(split, split, kernel)
                                                      .groups(split)
                                                      .padding(kernel / 2)
                                                      .bias(true)));
    project = register_module("project", Pointwise(split, 2 * rest, 0.01));
    // gamma such that 0.1 * softplus_{beta=0.5}(gamma) = 1 (FrEIA's global_affine_init = 1).
    // 0.1 * 2 * log(1 + exp(0.5 * gamma)) = 1  <=>  gamma = 2 * log(e^5 - 1).
    const double gammaInit = 2.0 * std::log(std::exp(5.0) - 1.0);
    gamma = register_parameter("gamma", torch::full({channels}, gammaInit));
    offset = register_parameter("offset", torch::zeros({channels}));
    std::vector<int64_t> perm(static_cast<size_t>(channels));
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937_64 rng(permutationSeed);
    std::shuffle(perm.begin(), perm.end(), rng);
    permutation = register_buffer("permutation", torch::tensor(perm, torch::kLong));
}

torch::Tensor CouplingBlockImpl::globalScale() const
{
    return 0.1 * F::softplus(gamma, F::SoftplusFuncOptions().beta(0.5));
}

std::pair<torch::Tensor, torch::Tensor> CouplingBlockImpl::forward(const torch::Tensor& x)
{
    const int64_t rest = channels - split;
    const auto x1 = x.narrow(1, 0, split);
    const auto x2 = x.narrow(1, split, rest);
    const auto a =
        0.1 * project(F::leaky_relu(depthwise(x1),
                                    F::LeakyReLUFuncOptions().negative_slope(kSubnetSlope)));
    const auto s = clamp * torch::tanh(a.narrow(1, 0, rest));
    const auto y2 = x2 * torch::exp(s) + a.narrow(1, rest, rest);
    const auto g = globalScale();
    auto y = torch::cat({x1, y2}, 1) * g.view({1, -1, 1, 1}) + offset.view({1, -1, 1, 1});
    y = y.index_select(1, permutation);
    const auto logDet = s.sum({1, 2, 3}) + double(x.size(2) * x.size(3)) * torch::log(g).sum();
    return {y, logDet};
}

FlowImpl::FlowImpl(int64_t channels, int64_t numBlocks, float clamp, uint64_t seed)
{
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < numBlocks; ++i)
        blocks->push_back(CouplingBlock(channels, i % 2 == 0 ? 3 : 1, clamp, seed + uint64_t(i)));
}

std::pair<torch::Tensor, torch::Tensor> FlowImpl::forward(const torch::Tensor& x)
{
    auto z = x;
    auto logDet = torch::zeros({x.size(0)}, x.options());
    for (const auto& block : *blocks) {
        auto [y, j] = block->as<CouplingBlock>()->forward(z);
        z = y;
        logDet = logDet + j;
    }
    return {z, logDet};
}

torch::Tensor flowNll(const torch::Tensor& z, const torch::Tensor& logDet)
{
    const double elements = double(z[0].numel());
    return ((0.5 * z.pow(2).sum({1, 2, 3}) - logDet) / elements).mean();
}

torch::Tensor likelihoodAnomalyMap(const torch::Tensor& z)
{
    return 0.5 * z.pow(2).mean(1, true);
}

torch::Tensor squaredErrorMap(const torch::Tensor& a, const torch::Tensor& b)
{
    return (a - b).pow(2).mean(1, true);
}

torch::Tensor upsample(const torch::Tensor& x, int64_t factor)
{
    if (factor == 1)
        return x;
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .scale_factor(std::vector<double>{double(factor), double(factor)})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
}

}  // namespace anomaly_train
