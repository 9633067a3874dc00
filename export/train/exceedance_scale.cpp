// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "exceedance_scale.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace anomaly_train {

ExceedanceScaleImpl::ExceedanceScaleImpl()
    : fitted_(register_buffer("fitted", torch::zeros({}, torch::kBool))),
      knots_(register_buffer("knots", torch::zeros({kKnots}))),
      steps_(register_buffer("steps", torch::zeros({kKnots}))),
      base_(register_buffer("base", torch::zeros({1})))
{
}

void ExceedanceScaleImpl::fit(const torch::Tensor& goodValues, double weight)
{
    if (goodValues.numel() < 1)
        throw std::invalid_argument("ExceedanceScale: no good values to fit on");
    if (!(weight > 0))
        throw std::invalid_argument("ExceedanceScale: the weight must be positive");
    const auto sorted = std::get<0>(goodValues.flatten().to(torch::kDouble).sort());
    const int64_t n = sorted.size(0);
    const auto* v = sorted.data_ptr<double>();
    // The distinct knots and their y; where quantiles coincide (values repeated in the sample)
    // the knot keeps the largest y, the share strictly above it.
    std::vector<double> x, y;
    for (int64_t k = 0; k < kKnots; ++k) {
        const double level = 1.0 - std::pow(10.0, -double(k) / 4.0);
        const double q = v[std::min(int64_t(level * double(n)), n - 1)];
        if (!x.empty() && q <= x.back())
            y.back() = double(k) / 4.0;
        else {
            x.push_back(q);
            y.push_back(double(k) / 4.0);
        }
    }
    std::vector<double> slopes;
    for (size_t i = 0; i + 1 < x.size(); ++i)
        slopes.push_back((y[i + 1] - y[i]) / (x[i + 1] - x[i]));
    // The tail above the last knot: for an exponential tail with mean excess m,
    // -log10 P(X > t + e) = y(t) + e log10(e) / m.
    double excess = 0;
    int64_t above = 0;
    for (int64_t i = n - 1; i >= 0 && v[i] > x.back(); --i, ++above)
        excess += v[i] - x.back();
    const double fallback = slopes.empty() ? 1.0 : slopes.back();
    slopes.push_back(above > 0 && excess > 0 ? std::log10(std::exp(1.0)) * double(above) / excess
                                             : fallback);
    torch::NoGradGuard noGrad;
    knots_.fill_(float(x.back()));
    steps_.zero_();
    double previous = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        knots_[int64_t(i)] = x[i];
        steps_[int64_t(i)] = weight * (slopes[i] - previous);
        previous = slopes[i];
    }
    base_.fill_(weight * y.front());
    fitted_.fill_(true);
}

torch::Tensor ExceedanceScaleImpl::forward(const torch::Tensor& x) const
{
    if (!fitted_.item<bool>())
        return x;
    return (x.unsqueeze(-1) - knots_).relu().matmul(steps_) + base_;
}

std::string ExceedanceScaleImpl::exportGraph(GraphEmitter& g, const std::string& x) const
{
    if (!fitted_.item<bool>())
        return x;
    const auto hinges = g.unary("Relu", g.pointwise(x, torch::ones({kKnots, 1}), -knots_));
    return g.pointwise(hinges, steps_.view({1, kKnots}), base_);
}

}  // namespace anomaly_train
