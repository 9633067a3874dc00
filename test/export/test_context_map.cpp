// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// ContextMap against hand-computed window means and against the Mahalanobis distance of window
// means computed here cell by cell, with the covariance inverted directly (the module whitens with
// an eigendecomposition). The exported graph is checked against LibTorch by TrainParity.
#include "context_map.hpp"
#include "statistics_score.hpp"

#include <gtest/gtest.h>

using namespace anomaly_train;

namespace {

/** Mean over the window x window cells around (i, j) that lie inside the grid, one channel at a
time: [n, C, H, W] -> [n, C]. */
torch::Tensor windowMean(const torch::Tensor& x, int64_t i, int64_t j, int64_t window)
{
    const int64_t r = window / 2, h = x.size(2), w = x.size(3);
    const int64_t top = std::max<int64_t>(0, i - r), bottom = std::min(h, i + r + 1);
    const int64_t left = std::max<int64_t>(0, j - r), right = std::min(w, j + r + 1);
    return x.slice(2, top, bottom).slice(3, left, right).mean({2, 3});
}

TEST(ContextMap, UnfittedMapIsHalfTheMeanSquareOfTheWindowMeans)
{
    // One channel of two holds a single 6 at the top-left cell of a 4x4 grid; 3x3 windows. The
    // window mean is 6 / 4 at (0, 0) (4 cells inside), 6 / 6 at (0, 1) and (1, 0), 6 / 9 at
    // (1, 1), 0 elsewhere; the map is 0.5 * (that^2 + 0^2) / 2 channels.
    auto x = torch::zeros({1, 2, 4, 4});
    x[0][1][0][0] = 6.0;
    ContextMap context(2, 4, 4, 3, 1);
    const auto map = context->forward(x);
    ASSERT_EQ(map.sizes(), (std::vector<int64_t>{1, 1, 4, 4}));
    const auto expect = [](double mean) { return 0.5 * mean * mean / 2.0; };
    EXPECT_NEAR(map[0][0][0][0].item<double>(), expect(1.5), 1e-6);
    EXPECT_NEAR(map[0][0][0][1].item<double>(), expect(1.0), 1e-6);
    EXPECT_NEAR(map[0][0][1][0].item<double>(), expect(1.0), 1e-6);
    EXPECT_NEAR(map[0][0][1][1].item<double>(), expect(6.0 / 9.0), 1e-6);
    EXPECT_NEAR(map[0][0][2][2].item<double>(), 0.0, 1e-9);
    EXPECT_NEAR(map[0][0][3][3].item<double>(), 0.0, 1e-9);
}

TEST(ContextMap, FittedMapIsHalfTheMahalanobisDistanceOfTheWindowMeanPerChannel)
{
    // Three correlated channels on a 3x5 grid whose statistics differ by position; 5x5 windows
    // reach past the border everywhere.
    torch::manual_seed(5);
    const int64_t n = 300, c = 3, h = 3, w = 5, window = 5;
    const auto mixing = torch::tensor({{1.0, 0.0, 0.0}, {0.8, 0.6, 0.0}, {-0.3, 0.5, 0.9}});
    const auto training = torch::einsum("oc,nchw->nohw", {mixing, torch::randn({n, c, h, w})}) +
                          torch::linspace(-2, 2, h * w).view({1, 1, h, w});
    ContextMap context(c, h, w, window, 1);
    context->fit(training);
    const auto test = torch::randn({2, c, h, w}) * 1.5;
    const auto map = context->forward(test);
    ASSERT_EQ(map.sizes(), (std::vector<int64_t>{2, 1, h, w}));
    const auto trainingD = training.to(torch::kDouble), testD = test.to(torch::kDouble);
    for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
            const auto means = windowMean(trainingD, i, j, window);  // [n, C]
            const auto mu = means.mean(0);
            const auto inverse = torch::linalg::inv(ledoitWolfCovariance(means - mu).covariance);
            const auto d = windowMean(testD, i, j, window) - mu;  // [2, C]
            const auto expected = 0.5 * (d.matmul(inverse) * d).sum(1) / double(c);
            for (int64_t k = 0; k < 2; ++k)
                EXPECT_NEAR(map[k][0][i][j].item<double>(), expected[k].item<double>(),
                            1e-4 * (1 + expected[k].item<double>()))
                    << "image " << k << " at " << i << "," << j;
        }
}

TEST(ContextMap, MapComesOnTheFinerGrid)
{
    ContextMap context(2, 3, 5, 3, 4);
    EXPECT_EQ(context->forward(torch::randn({3, 2, 3, 5})).sizes(),
              (std::vector<int64_t>{3, 1, 12, 20}));
}

TEST(ContextMap, RefusesAnEvenWindow)
{
    EXPECT_THROW(ContextMap(2, 4, 4, 4, 1), std::invalid_argument);
    EXPECT_THROW(ContextMap(2, 4, 4, 0, 1), std::invalid_argument);
}

}  // namespace
