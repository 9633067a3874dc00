// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "statistics_score.hpp"

#include "calibration.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace anomaly_train {

namespace {

/** Keeps the shrunk covariance invertible when there are fewer samples than dimensions, or when
the estimate says no shrinkage is needed but a few dimensions are nearly collinear. */
constexpr double kMinShrinkage = 1e-3;

}  // namespace

torch::Tensor pooledMeanAndStd(const torch::Tensor& features)
{
    const auto mean = features.mean({2, 3});
    const auto variance = (features * features).mean({2, 3}) - mean * mean;
    return torch::cat({mean, variance.clamp_min(0).sqrt()}, 1);
}

double ledoitWolfShrinkage(const torch::Tensor& centered)
{
    const auto x = centered.to(torch::kDouble);
    const double n = double(x.size(0)), p = double(x.size(1));
    const auto x2 = x * x;
    const double trace = x2.sum().item<double>() / n;  // trace of S = x^T x / n
    const double mu = trace / p;
    const double beta_ = x2.t().mm(x2).sum().item<double>();
    const double delta_ = x.t().mm(x).pow(2).sum().item<double>() / (n * n);
    double beta = (beta_ / n - delta_) / (p * n);
    const double delta = (delta_ - 2.0 * mu * trace + p * mu * mu) / p;
    beta = std::min(beta, delta);
    return beta <= 0 || delta <= 0 ? 0.0 : beta / delta;
}

ShrunkCovariance ledoitWolfCovariance(const torch::Tensor& centered)
{
    const int64_t n = centered.size(0), p = centered.size(1);
    ShrunkCovariance out;
    out.shrinkage = std::clamp(ledoitWolfShrinkage(centered), kMinShrinkage, 1.0);
    const auto s = centered.t().mm(centered) / double(n);
    const double scale = std::max(s.trace().item<double>() / double(p), 1e-6);
    out.covariance =
        (1 - out.shrinkage) * s + out.shrinkage * scale * torch::eye(p, centered.options());
    return out;
}

StatisticsScoreImpl::StatisticsScoreImpl(int64_t channels)
{
    whiten_ = register_buffer("whiten", torch::eye(2 * channels));
    whitenBias_ = register_buffer("whiten_bias", torch::zeros({2 * channels}));
    affine_ = register_buffer("affine", torch::tensor({1.f, 0.f}));
}

double StatisticsScoreImpl::fit(const torch::Tensor& features)
{
    torch::NoGradGuard noGrad;
    if (features.size(0) < 2)
        throw std::runtime_error("the statistics score needs at least 2 training images");
    const auto v = pooledMeanAndStd(features.to(torch::kDouble));
    const auto mu = v.mean(0);
    // Standardised first, so that the shrinkage target (a multiple of the identity) treats every
    // statistic alike whatever the channel's activation scale.
    auto sd = (v - mu).pow(2).mean(0).sqrt();
    sd = sd.clamp_min(std::max(1e-6, 0.05 * sd.mean().item<double>()));
    const auto x = (v - mu) / sd;
    const ShrunkCovariance shrunk = ledoitWolfCovariance(x);
    // precision = L L^T, so (v - mu)^T precision (v - mu) = || L^T (v - mu) ||^2.
    const auto lower = torch::linalg::cholesky(torch::inverse(shrunk.covariance));
    const auto w = lower.t() / sd.unsqueeze(0);  // columns divided by sd: whitens v - mu directly
    whiten_.copy_(w);
    whitenBias_.copy_(-w.mv(mu));
    return shrunk.shrinkage;
}

torch::Tensor StatisticsScoreImpl::distances(const torch::Tensor& features) const
{
    const auto y = pooledMeanAndStd(features).mm(whiten_.t()) + whitenBias_;
    return (y * y).sum(1).sqrt();
}

void StatisticsScoreImpl::setAffine(double scale, double shift)
{
    affine_[0] = float(scale);
    affine_[1] = float(shift);
}

void StatisticsScoreImpl::scaleToMapScores(const torch::Tensor& heldOutFeatures,
                                           const std::vector<float>& mapScores)
{
    torch::NoGradGuard noGrad;
    const auto d = distances(heldOutFeatures).to(torch::kFloat).contiguous();
    const std::vector<float> heldOutDistances(d.data_ptr<float>(), d.data_ptr<float>() + d.numel());
    const auto [scale, shift] = matchMeanAndSpread(heldOutDistances, mapScores);
    setAffine(scale, shift);
}

torch::Tensor StatisticsScoreImpl::forward(const torch::Tensor& features) const
{
    return (distances(features) * affine_[0] + affine_[1]).reshape({-1, 1, 1, 1});
}

std::string StatisticsScoreImpl::exportGraph(GraphEmitter& g, const std::string& features) const
{
    StageScope stage(g, stage::kGlobal);
    const auto mean = g.globalAveragePool(features);
    const auto meanOfSquares = g.globalAveragePool(g.binary("Mul", features, features));
    const auto variance =
        g.unary("Relu", g.binary("Sub", meanOfSquares, g.binary("Mul", mean, mean)));
    const auto v = g.concatChannels({mean, g.unary("Sqrt", variance)});
    const auto y = g.pointwise(v, whiten_, whitenBias_);
    const auto squaredNorm =
        g.pointwise(g.binary("Mul", y, y), torch::ones({1, whiten_.size(0)}), torch::Tensor());
    return g.pointwise(g.unary("Sqrt", squaredNorm), affine_[0].reshape({1, 1}),
                       affine_[1].reshape({1}));
}

std::pair<double, double> matchMeanAndSpread(const std::vector<float>& distances,
                                             const std::vector<float>& mapScores)
{
    if (distances.empty() || mapScores.empty())
        throw std::runtime_error("the statistics score needs held-out scores to be scaled");
    const auto [distanceMean, distanceStd] = meanAndStd(distances);
    const auto [mapMean, mapStd] = meanAndStd(mapScores);
    const double scale = distanceStd > 1e-9 * std::max(1.0, std::abs(distanceMean)) && mapStd > 0
                             ? mapStd / distanceStd
                             : 1.0;
    return {scale, mapMean - scale * distanceMean};
}

}  // namespace anomaly_train
