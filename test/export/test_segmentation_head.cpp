// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// SegmentationHead learns what it is there for: regions unlike their surroundings, which no
// statistic of a single position can find.
#include "segmentation_head.hpp"

#include <gtest/gtest.h>

namespace {

using namespace anomaly_train;

constexpr int64_t kChannels = 4, kGrid = 8;

/** Feature maps whose channels are noise around an offset of the image's own (standard deviation
2 over images) plus 1 inside a random rectangle: a region is only higher than its surroundings,
not than other images at that position. Targets: 1 inside the rectangle. */
std::pair<torch::Tensor, torch::Tensor> regions(int64_t n)
{
    auto features =
        torch::randn({n, kChannels, kGrid, kGrid}) * 0.3 + torch::randn({n, 1, 1, 1}) * 2.0;
    auto targets = torch::zeros({n, 1, kGrid, kGrid});
    for (int64_t i = 0; i < n; ++i) {
        const auto corner = torch::randint(0, kGrid - 2, {2});
        const auto extent = torch::randint(2, kGrid / 2 + 1, {2});
        const int64_t y = corner[0].item<int64_t>(), x = corner[1].item<int64_t>();
        const int64_t h = std::min(extent[0].item<int64_t>(), kGrid - y);
        const int64_t w = std::min(extent[1].item<int64_t>(), kGrid - x);
        targets[i].narrow(1, y, h).narrow(2, x, w).fill_(1);
    }
    return {features + targets, targets};
}

/** Probability that a random defect cell scores above a random good cell (ties count half). */
double auroc(const torch::Tensor& scores, const torch::Tensor& targets)
{
    const auto s = scores.flatten(), t = targets.flatten();
    const auto positive = s.masked_select(t > 0.5), negative = s.masked_select(t < 0.5);
    const auto difference = positive.view({-1, 1}) - negative.view({1, -1});
    return ((difference > 0).to(torch::kDouble).mean() +
            0.5 * (difference == 0).to(torch::kDouble).mean())
        .item<double>();
}

TEST(SegmentationHead, LearnsRegionsThatDifferOnlyFromTheirSurroundings)
{
    torch::manual_seed(3);
    const auto [trainFeatures, trainTargets] = regions(256);
    const auto [testFeatures, testTargets] = regions(64);
    // What any per-position statistic sees: the channel mean against the training images' mean
    // and spread at that position. The image offsets drown the region's step.
    const auto channelMean = testFeatures.mean(1, true);
    const auto trainMean = trainFeatures.mean(1, true);
    const auto positional =
        ((channelMean - trainMean.mean(0, true)) / trainMean.std(0, true, true)).pow(2);
    EXPECT_LT(auroc(positional, testTargets), 0.7);

    SegmentationHeadOptions options;
    options.width = 16;
    options.dilations = {1, 2, 1};
    SegmentationHead head(kChannels, kGrid, kGrid, 4, options);
    torch::optim::Adam optimizer(head->parameters(), torch::optim::AdamOptions(1e-2));
    for (int step = 0; step < 300; ++step) {
        const auto index = torch::randint(0, 256, {32}, torch::kLong);
        optimizer.zero_grad();
        const auto loss =
            head->loss(trainFeatures.index_select(0, index), trainTargets.index_select(0, index));
        loss.backward();
        optimizer.step();
    }
    torch::NoGradGuard noGrad;
    EXPECT_GT(auroc(head->logits(testFeatures), testTargets), 0.95);
    // forward() is the logits on the map grid: 4 times the cells each way.
    EXPECT_EQ(head->forward(testFeatures).sizes(), (std::vector<int64_t>{64, 1, 32, 32}));
}

TEST(SegmentationHead, RefusesEmptyOrNonPositiveSettings)
{
    SegmentationHeadOptions noBlocks;
    noBlocks.dilations.clear();
    EXPECT_THROW(SegmentationHead(4, 8, 8, 4, noBlocks), std::invalid_argument);
    SegmentationHeadOptions zeroDilation;
    zeroDilation.dilations = {1, 0};
    EXPECT_THROW(SegmentationHead(4, 8, 8, 4, zeroDilation), std::invalid_argument);
    SegmentationHeadOptions noWidth;
    noWidth.width = 0;
    EXPECT_THROW(SegmentationHead(4, 8, 8, 4, noWidth), std::invalid_argument);
}

}  // namespace
