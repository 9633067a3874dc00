// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// ExceedanceScale against closed forms: for an exponential distribution of rate r,
// -log10 P(X > x) = r x log10(e), a straight line the fitted knots and the fitted tail must follow
// (beyond the sample's largest value too); for a uniform one, -log10(1 - x). The exported graph is
// checked against LibTorch by TrainParity (models with a segmentation head).
#include "exceedance_scale.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace anomaly_train;

namespace {

/** n values at the centres of n equal-probability bins of inverseCdf. */
template <typename InverseCdf>
torch::Tensor quantileSample(int64_t n, InverseCdf inverseCdf)
{
    auto v = torch::empty({n}, torch::kDouble);
    for (int64_t i = 0; i < n; ++i)
        v[i] = inverseCdf((double(i) + 0.5) / double(n));
    // Shuffled and shaped like maps: fit() must not depend on order or shape.
    return v.index({torch::randperm(n, torch::kLong)}).to(torch::kFloat).view({-1, 1, 10, 10});
}

double at(const ExceedanceScale& scale, double x)
{
    return scale->forward(torch::full({1}, x)).item<double>();
}

TEST(ExceedanceScale, UnfittedIsTheIdentity)
{
    ExceedanceScale scale;
    const auto x = torch::randn({2, 1, 3, 3});
    EXPECT_TRUE(torch::equal(scale->forward(x), x));
}

TEST(ExceedanceScale, FollowsTheExponentialTailBeyondTheSample)
{
    torch::manual_seed(3);
    const double rate = 2.0, log10e = std::log10(std::exp(1.0));
    ExceedanceScale scale;
    scale->fit(quantileSample(100000, [&](double p) { return -std::log(1.0 - p) / rate; }));
    // The sample's largest value is ln(2 * 100000) / 2 = 6.1; 8 and 12 are extrapolated.
    for (double x : {0.01, 0.1, 0.5, 1.0, 2.0, 3.0, 3.45, 4.0, 6.0, 8.0, 12.0}) {
        SCOPED_TRACE(x);
        EXPECT_NEAR(at(scale, x), rate * x * log10e, 0.01 + 0.005 * rate * x * log10e);
    }
}

TEST(ExceedanceScale, IsTheShareOfGoodValuesAboveAtTheKnots)
{
    torch::manual_seed(4);
    ExceedanceScale scale;
    scale->fit(quantileSample(100000, [](double p) { return p; }));  // uniform on [0, 1]
    // -log10(1 - x) at the quantiles 0.9, 0.99, 0.999 (knots), exactly in between by the linear
    // segments: at 0.5 (between the knots 0.438 and 0.684) the line gives 0.2927 against 0.3010.
    EXPECT_NEAR(at(scale, 0.9), 1.0, 1e-3);
    EXPECT_NEAR(at(scale, 0.99), 2.0, 1e-2);
    EXPECT_NEAR(at(scale, 0.999), 3.0, 1e-2);
    EXPECT_NEAR(at(scale, 0.5),
                0.25 + 0.25 * (0.5 - (1 - std::pow(10, -0.25))) /
                           (std::pow(10, -0.25) - std::pow(10, -0.5)),
                1e-3);
    // Flat below the sample's minimum: no evidence at all.
    EXPECT_NEAR(at(scale, -5.0), 0.0, 1e-6);
}

TEST(ExceedanceScale, WeightScalesTheEvidence)
{
    torch::manual_seed(5);
    const auto good = torch::randn({64, 1, 8, 8}).exp();
    ExceedanceScale plain, weighted;
    plain->fit(good);
    weighted->fit(good, 2.5);
    const auto x = torch::linspace(-1, 40, 500);
    EXPECT_TRUE(torch::allclose(weighted->forward(x), 2.5 * plain->forward(x), 1e-5, 1e-5));
    EXPECT_THROW(plain->fit(good, 0.0), std::invalid_argument);
    EXPECT_THROW(plain->fit(torch::zeros({0})), std::invalid_argument);
}

TEST(ExceedanceScale, RepeatedValuesGiveAMonotoneFiniteScale)
{
    // Half the sample one value (a clamped map), the rest above it, then all of it one value.
    auto good = torch::cat({torch::zeros({500}), torch::rand({500}) + 1.0});
    for (const auto& sample : {good, torch::full({100}, 3.0)}) {
        ExceedanceScale scale;
        scale->fit(sample);
        const auto y = scale->forward(torch::linspace(-2, 6, 801));
        EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
        EXPECT_GE((y.slice(0, 1) - y.slice(0, 0, -1)).min().item<double>(), -1e-6);
    }
    // A value above the repeated one is rarer among the good values: more evidence.
    ExceedanceScale scale;
    scale->fit(good);
    EXPECT_LT(at(scale, 0.0) + 0.1, at(scale, 1.05));
}

}  // namespace
