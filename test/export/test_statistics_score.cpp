// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The image-level statistics score: pooling, shrinkage and distances against scikit-learn
// (LedoitWolf, 1.x) values computed outside this project, and its scaling by hand. The exported
// graph is checked against LibTorch in test_graph_blocks.cpp.
#include "statistics_score.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace anomaly_train;

namespace {

/** features[i, c, y, x] = sin(1 + 0.7 (i + offset) + 1.3 c + 0.5 y + 0.9 x) * (1 + 0.2 c),
[n, 2, 2, 2]: values a short NumPy script reproduces exactly. */
torch::Tensor sineFeatures(int64_t n, double offset)
{
    auto f = torch::empty({n, 2, 2, 2}, torch::kDouble);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < 2; ++c)
            for (int64_t y = 0; y < 2; ++y)
                for (int64_t x = 0; x < 2; ++x)
                    f[i][c][y][x] = std::sin(1 + 0.7 * (double(i) + offset) + 1.3 * double(c) +
                                             0.5 * double(y) + 0.9 * double(x)) *
                                    (1 + 0.2 * double(c));
    return f;
}

TEST(StatisticsScore, PoolsMeanAndStandardDeviationPerChannel)
{
    // Channel 0 holds 1, 2, 3, 6 (mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5); channel 1 is
    // constant 5 (std 0).
    const auto f = torch::tensor({1.0, 2.0, 3.0, 6.0, 5.0, 5.0, 5.0, 5.0}, torch::kDouble)
                       .reshape({1, 2, 2, 2});
    const auto v = pooledMeanAndStd(f);
    ASSERT_EQ(v.sizes(), (std::vector<int64_t>{1, 4}));
    EXPECT_NEAR(v[0][0].item<double>(), 3.0, 1e-12);
    EXPECT_NEAR(v[0][1].item<double>(), 5.0, 1e-12);
    EXPECT_NEAR(v[0][2].item<double>(), std::sqrt(3.5), 1e-12);
    EXPECT_NEAR(v[0][3].item<double>(), 0.0, 1e-6);
}

TEST(StatisticsScore, LedoitWolfShrinkageMatchesScikitLearn)
{
    // t = 0..9; columns sin t, sin t + 0.3 cos 2t, 0.5 cos 3t, centred, rounded to 6 digits.
    // sklearn.covariance.ledoit_wolf_shrinkage(A, assume_centered=True) = 0.331749445075.
    auto a = torch::tensor({-0.195521, 0.086807,  0.480608, 0.64595,   0.503434,  -0.514388,
                            0.713776,  0.500012,  0.460693, -0.054401, 0.215978,  -0.474957,
                            -0.952323, -1.013645, 0.402535, -1.154445, -1.423838, -0.399236,
                            -0.474936, -0.239452, 0.310766, 0.461466,  0.484815,  -0.293257,
                            0.793837,  0.488868,  0.192697, 0.216598,  0.397021,  -0.165461},
                           torch::kDouble)
                 .reshape({10, 3});
    a = a - a.mean(0);
    EXPECT_NEAR(ledoitWolfShrinkage(a), 0.331749445075, 1e-9);
}

TEST(StatisticsScore, DistancesMatchScikitLearnMahalanobisOnStandardisedStatistics)
{
    // Reference: V = pooled mean and std of sineFeatures(7, 0), standardised per column
    // (population std); LedoitWolf().fit(X) has shrinkage 0.853866112819, and
    // sqrt(mahalanobis(Y)) for the standardised statistics of sineFeatures(2, 10) is
    // [1.43085494, 2.20265139].
    StatisticsScore score(2);
    const double shrinkage = score->fit(sineFeatures(7, 0).to(torch::kFloat));
    EXPECT_NEAR(shrinkage, 0.853866112819, 1e-6);
    const auto d = score->distances(sineFeatures(2, 10).to(torch::kFloat));
    ASSERT_EQ(d.size(0), 2);
    EXPECT_NEAR(d[0].item<double>(), 1.43085494, 1e-4);
    EXPECT_NEAR(d[1].item<double>(), 2.20265139, 1e-4);
}

TEST(StatisticsScore, AffineGivesTheMapScoresMeanAndSpread)
{
    // Distances 1, 2, 3 (mean 2, std sqrt(2/3)); map scores 10, 14, 12 (mean 12, std
    // sqrt(8/3)): scale 2, shift 12 - 2 * 2 = 8.
    const auto [scale, shift] = matchMeanAndSpread({1, 2, 3}, {10, 14, 12});
    EXPECT_NEAR(scale, 2.0, 1e-9);
    EXPECT_NEAR(shift, 8.0, 1e-9);
    // Without spread in the distances, the scale stays 1 and only the means are matched.
    const auto [flatScale, flatShift] = matchMeanAndSpread({4, 4}, {1, 3});
    EXPECT_EQ(flatScale, 1.0);
    EXPECT_NEAR(flatShift, 2.0 - 4.0, 1e-9);
    EXPECT_THROW(matchMeanAndSpread({}, {1}), std::runtime_error);
}

TEST(StatisticsScore, FitNeedsTwoImages)
{
    StatisticsScore score(2);
    EXPECT_THROW(score->fit(sineFeatures(1, 0).to(torch::kFloat)), std::runtime_error);
}

}  // namespace
