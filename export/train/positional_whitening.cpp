// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "positional_whitening.hpp"

#include "statistics_score.hpp"

#include <stdexcept>

namespace anomaly_train {

PositionalWhiteningImpl::PositionalWhiteningImpl(int64_t channels, int64_t height, int64_t width)
{
    const auto identity =
        torch::eye(channels).reshape({channels, channels, 1, 1}).expand({-1, -1, height, width});
    weight_ = register_buffer("weight", identity.contiguous());
    bias_ = register_buffer("bias", torch::zeros({channels, height, width}));
}

void PositionalWhiteningImpl::fit(const torch::Tensor& features)
{
    torch::NoGradGuard noGrad;
    if (features.size(0) < 2)
        throw std::runtime_error("positional whitening needs at least 2 training images");
    const auto f = features.to(torch::kDouble);
    const int64_t n = f.size(0), c = f.size(1);
    const int64_t h = f.size(2), w = f.size(3);
    // [positions, n, C], centred per position.
    const auto x = f.permute({2, 3, 0, 1}).reshape({h * w, n, c});
    const auto mean = x.mean(1);  // [positions, C]
    const auto centered = x - mean.unsqueeze(1);
    std::vector<torch::Tensor> shrunk;  // [C, C] per position
    for (int64_t p = 0; p < h * w; ++p)
        shrunk.push_back(ledoitWolfCovariance(centered[p]).covariance);
    const auto [eigenvalues, eigenvectors] = torch::linalg::eigh(torch::stack(shrunk), "L");
    // S^-1/2 = V diag(1 / sqrt(lambda)) V^T, symmetric: row o of W(i,j) is W(i,j)[o][.].
    const auto product = (eigenvectors / eigenvalues.clamp_min(1e-12).sqrt().unsqueeze(1))
                             .bmm(eigenvectors.transpose(1, 2));  // [positions, C, C]
    // Symmetric up to rounding; made exactly so, the exporter stores only its upper triangle.
    const auto whiten = 0.5 * (product + product.transpose(1, 2));
    const auto bias = -whiten.bmm(mean.unsqueeze(2)).squeeze(2);  // [positions, C]
    weight_.copy_(whiten.permute({1, 2, 0}).reshape({c, c, h, w}));
    bias_.copy_(bias.t().reshape({c, h, w}));
}

torch::Tensor PositionalWhiteningImpl::forward(const torch::Tensor& x) const
{
    return torch::einsum("ocij,ncij->noij", {weight_, x}) + bias_.unsqueeze(0);
}

std::string PositionalWhiteningImpl::exportGraph(GraphEmitter& g, const std::string& x) const
{
    return g.positionwiseLinear(x, weight_, bias_);
}

}  // namespace anomaly_train
