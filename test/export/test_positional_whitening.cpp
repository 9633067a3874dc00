// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// lgnf's positional whitening: hand-computed values for a single channel (where every shrinkage
// leaves the variance alone) and the defining property, whitened training features, at positions
// of different correlations. The exported graph is checked against LibTorch by TrainParity.
#include "positional_whitening.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace anomaly_train;

namespace {

TEST(PositionalWhitening, StandardisesOneChannelPerPositionByHand)
{
    // Four 3x3 one-channel images; at position p = 3i + j image k holds a_k (1 + p) + 3p with
    // a_k = 1, 2, 3, 4: every position has its own mean and spread, and each value standardises
    // to (a_k - 2.5) / sqrt(1.25) (population variance; with one channel the shrinkage target is
    // the variance itself).
    auto features = torch::empty({4, 1, 3, 3}, torch::kDouble);
    for (int64_t k = 0; k < 4; ++k)
        for (int64_t p = 0; p < 9; ++p)
            features[k][0][p / 3][p % 3] = double(k + 1) * double(1 + p) + 3.0 * double(p);
    PositionalWhitening whitening(1, 3, 3);
    whitening->fit(features);
    const auto y = whitening->forward(features.to(torch::kFloat));
    for (int64_t k = 0; k < 4; ++k) {
        const double expected = (double(k + 1) - 2.5) / std::sqrt(1.25);
        EXPECT_NEAR(y[k].min().item<double>(), expected, 1e-5) << "image " << k;
        EXPECT_NEAR(y[k].max().item<double>(), expected, 1e-5) << "image " << k;
    }
}

TEST(PositionalWhitening, TrainingFeaturesComeOutUncorrelatedWithUnitVarianceAtEveryPosition)
{
    // Two channels with a different mean and correlation (-0.9 to 0.9) at each of the 4x5
    // positions. 4000 images: Ledoit-Wolf shrinks little.
    torch::manual_seed(31);
    const int64_t n = 4000, h = 4, w = 5;
    const auto features = torch::randn({n, 2, h, w}, torch::kDouble);
    auto correlated = features.clone();
    for (int64_t p = 0; p < h * w; ++p) {
        const int64_t i = p / w, j = p % w;
        const double rho = -0.9 + 1.8 * double(p) / double(h * w - 1);
        correlated.select(2, i).select(2, j).select(1, 1) =
            rho * features.select(2, i).select(2, j).select(1, 0) +
            std::sqrt(1 - rho * rho) * features.select(2, i).select(2, j).select(1, 1) + double(p);
    }
    PositionalWhitening whitening(2, h, w);
    whitening->fit(correlated);
    const auto y = whitening->forward(correlated.to(torch::kFloat)).to(torch::kDouble);
    for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
            const auto v = y.select(2, i).select(2, j);  // [n, 2]
            const auto mean = v.mean(0);
            const auto centered = v - mean;
            const auto covariance = centered.t().mm(centered) / double(n);
            EXPECT_LT(mean.abs().max().item<double>(), 1e-4) << i << "," << j;
            EXPECT_NEAR(covariance[0][0].item<double>(), 1.0, 0.05) << i << "," << j;
            EXPECT_NEAR(covariance[1][1].item<double>(), 1.0, 0.05) << i << "," << j;
            EXPECT_NEAR(covariance[0][1].item<double>(), 0.0, 0.05) << i << "," << j;
        }
}

TEST(PositionalWhitening, WeightsAreExactlySymmetricAtEveryPosition)
{
    // The exporter stores only the upper triangle of weights that are exactly symmetric; the
    // eigen-decomposition's product is symmetric only up to rounding.
    torch::manual_seed(37);
    const int64_t n = 300, c = 12, h = 3, w = 3;
    const auto mixing = torch::randn({c, c}, torch::kDouble);
    const auto features =
        torch::einsum("oc,ncij->noij", {mixing, torch::randn({n, c, h, w}, torch::kDouble)});
    PositionalWhitening whitening(c, h, w);
    whitening->fit(features);
    const torch::Tensor weight = *whitening->named_buffers().find("weight");
    ASSERT_EQ(weight.sizes(), (std::vector<int64_t>{c, c, h, w}));
    EXPECT_TRUE(torch::equal(weight, weight.transpose(0, 1)));
    EXPECT_GT(weight.abs().max().item<double>(), 0.1) << "fitted, not the identity";
    EXPECT_FALSE(torch::equal(weight, torch::eye(c).view({c, c, 1, 1}).expand({c, c, h, w})));
}

}  // namespace
