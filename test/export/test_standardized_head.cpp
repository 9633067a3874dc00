// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// StandardizedHead against the definitions it implements: after fitting, the head sees features
// with zero mean and unit variance per channel, and its maps over the fitting images have zero
// mean and unit variance at every position.
#include "standardized_head.hpp"

#include <gtest/gtest.h>

namespace {

using namespace anomaly_train;

/** A head that returns its first feature map's channel 0 (pooled to the map grid) as every map
and remembers the features it was given, so the test sees both sides of the wrapper. */
class ProbeHead : public AnomalyHeadImpl
{
public:
    HeadOutput forward(const std::vector<torch::Tensor>& features) override
    {
        seen = features;
        HeadOutput out;
        out.anomalyMap = features[0].narrow(1, 0, 1);
        out.localMap = out.anomalyMap * 2 + 1;
        out.globalMap = out.anomalyMap.pow(2);
        out.loss = torch::zeros({});
        return out;
    }
    ExportedMaps exportGraph(GraphEmitter&, const std::vector<std::string>&) override { return {}; }
    std::vector<torch::Tensor> seen;
};

HeadGeometry geometry()
{
    HeadGeometry g;
    g.channels = {3, 4, 5};
    g.heights = g.widths = {8, 4, 2};
    return g;
}

std::vector<torch::Tensor> features(int64_t n, uint64_t seed)
{
    torch::manual_seed(seed);
    const auto g = geometry();
    std::vector<torch::Tensor> f;
    for (int s = 0; s < 3; ++s) {
        // Channels with very different offsets and scales, as a CNN's activations have.
        const auto scale = torch::arange(1, g.channels[s] + 1).view({1, -1, 1, 1}) * 3.0;
        f.push_back(torch::randn({n, g.channels[s], g.heights[s], g.widths[s]}) * scale + 7.0);
    }
    return f;
}

TEST(StandardizedHead, UnfittedIsTheIdentity)
{
    auto probe = std::make_shared<ProbeHead>();
    StandardizedHead head(probe, geometry(), 0);
    const auto f = features(4, 1);
    const auto out = head->forward(f);
    for (size_t s = 0; s < 3; ++s)
        EXPECT_TRUE(torch::equal(probe->seen[s], f[s]));
    EXPECT_TRUE(torch::equal(out.anomalyMap, f[0].narrow(1, 0, 1)));
}

TEST(StandardizedHead, FittedFeaturesAndMapsHaveZeroMeanAndUnitVariance)
{
    auto probe = std::make_shared<ProbeHead>();
    StandardizedHead head(probe, geometry(), 0);
    const auto f = features(40, 2);
    head->fitFeatureStatistics(f);
    head->fitMapStatistics(f, 7);  // 7 does not divide 40: the last batch is partial
    const auto out = head->forward(f);
    for (size_t s = 0; s < 3; ++s) {
        const auto x = probe->seen[s];
        EXPECT_LT(x.mean({0, 2, 3}).abs().max().item<double>(), 1e-4);
        EXPECT_LT((x.var({0, 2, 3}, false) - 1).abs().max().item<double>(), 1e-4);
    }
    for (const auto& m : {out.anomalyMap, out.localMap, out.globalMap}) {
        EXPECT_LT(m.mean(0).abs().max().item<double>(), 1e-4);
        EXPECT_LT((m.var(0, false) - 1).abs().max().item<double>(), 1e-3);
    }
}

TEST(StandardizedHead, ContextAndSegmentationMapsAreAddedStandardisedToTheAnomalyMapOnly)
{
    const auto f = features(40, 5);
    StandardizedHead plain(std::make_shared<ProbeHead>(), geometry(), 0);
    plain->fitFeatureStatistics(f);
    plain->fitMapStatistics(f, 8);
    const auto a = plain->forward(f);
    // A context map alone, then a (random-weight) segmentation head alone, with weight 1 and 2.5.
    struct Extra
    {
        int64_t window;
        bool segmentation;
        double weight;
    };
    for (const Extra& extra : {Extra{3, false, 1.0}, Extra{0, true, 1.0}, Extra{0, true, 2.5}}) {
        SCOPED_TRACE(extra.segmentation
                         ? "segmentation head, weight " + std::to_string(extra.weight)
                         : std::string("context map"));
        StandardizedHead extended(std::make_shared<ProbeHead>(), geometry(), extra.window,
                                  extra.segmentation, extra.weight);
        extended->fitFeatureStatistics(f);
        extended->fitMapStatistics(f, 8);
        const auto b = extended->forward(f);
        EXPECT_TRUE(torch::allclose(a.localMap, b.localMap));
        EXPECT_TRUE(torch::allclose(a.globalMap, b.globalMap));
        // What is added is standardised per position over the fitting images, like the maps, then
        // weighted: zero mean, standard deviation the weight.
        const auto added = b.anomalyMap - a.anomalyMap;
        EXPECT_LT(added.mean(0).abs().max().item<double>(), 1e-4);
        EXPECT_LT(
            (added.var(0, false) / (extra.weight * extra.weight) - 1).abs().max().item<double>(),
            1e-3);
        EXPECT_GT((added - a.anomalyMap).abs().max().item<double>(), 0.1);
    }
}

TEST(StandardizedHead, ConstantPositionsDoNotBlowUp)
{
    auto probe = std::make_shared<ProbeHead>();
    StandardizedHead head(probe, geometry(), 0);
    auto f = features(10, 3);
    f[0].select(3, 0).fill_(5.0);  // a column that never varies, like zero padding
    head->fitFeatureStatistics(f);
    head->fitMapStatistics(f, 4);
    auto probeInput = features(1, 4);
    probeInput[0].select(3, 0).fill_(5.1);
    const auto out = head->forward(probeInput);
    // The floor on the standard deviation (5% of the mean one) bounds the response.
    EXPECT_LT(out.anomalyMap.abs().max().item<double>(), 1e3);
    EXPECT_TRUE(torch::isfinite(out.anomalyMap).all().item<bool>());
}

}  // namespace
