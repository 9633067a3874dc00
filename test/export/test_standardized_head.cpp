// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// StandardizedHead against the definitions it implements: after fitting, the head sees features
// with zero mean and unit variance per channel, its maps over the fitting images have zero mean
// and unit variance at every position, and each map is then scaled to unit spread over held-out
// images.
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

/** Standard deviation of all values of a map (every image and position). */
double spread(const torch::Tensor& map)
{
    return map.to(torch::kDouble).var(false).sqrt().item<double>();
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
    head->fitMapStatistics(f, f, 7);  // 7 does not divide 40: the last batch is partial
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
    plain->fitMapStatistics(f, f, 8);
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
        extended->fitMapStatistics(f, f, 8);
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

TEST(StandardizedHead, EachMapIsRescaledToUnitSpreadOverTheHeldOutImages)
{
    // Held-out images whose features spread wider than the training images', as unseen images do
    // under maps fitted to the training images.
    const auto f = features(40, 6);
    auto held = features(30, 7);
    for (auto& t : held)
        t = (t - 7.0) * 1.8 + 7.0;
    // Reference: the maps standardised per position on f alone (held-out = f is that, since the
    // standardised maps then spread exactly 1 over all positions), and their spread over held.
    StandardizedHead reference(std::make_shared<ProbeHead>(), geometry(), 0, true, 2.5);
    reference->fitFeatureStatistics(f);
    reference->fitMapStatistics(f, f, 8);
    StandardizedHead head(std::make_shared<ProbeHead>(), geometry(), 0, true, 2.5);
    head->fitFeatureStatistics(f);
    head->fitMapStatistics(f, held, 8);
    const auto onReference = reference->forward(held);
    const auto onHead = head->forward(held);
    for (const auto& pair : {std::make_pair(onReference.localMap, onHead.localMap),
                             std::make_pair(onReference.globalMap, onHead.globalMap)}) {
        const double factor = spread(pair.first);
        EXPECT_GT(factor, 1.3);  // the wider held-out features do spread the maps wider
        EXPECT_NEAR(spread(pair.second), 1.0, 1e-6);
        // One factor for the whole map: the per-position standardisation is kept.
        EXPECT_TRUE(torch::allclose(pair.second * factor, pair.first, 1e-4, 1e-5));
    }
    // The anomaly map is the probe's map plus the weighted segmentation map, each rescaled on
    // its own; the probe's part alone spreads 1 over the held-out images.
    StandardizedHead plain(std::make_shared<ProbeHead>(), geometry(), 0);
    plain->fitFeatureStatistics(f);
    plain->fitMapStatistics(f, held, 8);
    const auto probePart = plain->forward(held).anomalyMap;
    EXPECT_NEAR(spread(probePart), 1.0, 1e-6);
    EXPECT_NEAR(spread(onHead.anomalyMap - probePart), 2.5, 1e-5);
}

TEST(StandardizedHead, MapsThatSpreadLessOnTheHeldOutImagesKeepTheirTrainingScale)
{
    // Held-out images whose features spread far less than the training images': dividing by
    // the maps' spread over them would amplify every map about threefold.
    const auto f = features(40, 6);
    auto narrow = features(30, 7);
    for (auto& t : narrow)
        t = (t - 7.0) * 0.3 + 7.0;
    StandardizedHead reference(std::make_shared<ProbeHead>(), geometry(), 0);
    reference->fitFeatureStatistics(f);
    reference->fitMapStatistics(f, f, 8);  // spread exactly 1 over f: the training scale
    StandardizedHead head(std::make_shared<ProbeHead>(), geometry(), 0);
    head->fitFeatureStatistics(f);
    head->fitMapStatistics(f, narrow, 8);
    const auto expected = reference->forward(narrow);
    const auto out = head->forward(narrow);
    EXPECT_LT(spread(expected.localMap), 0.5);
    EXPECT_TRUE(torch::allclose(out.anomalyMap, expected.anomalyMap, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(out.localMap, expected.localMap, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(out.globalMap, expected.globalMap, 1e-5, 1e-6));
}

TEST(StandardizedHead, ConstantPositionsDoNotBlowUp)
{
    auto probe = std::make_shared<ProbeHead>();
    StandardizedHead head(probe, geometry(), 0);
    auto f = features(10, 3);
    f[0].select(3, 0).fill_(5.0);  // a column that never varies, like zero padding
    head->fitFeatureStatistics(f);
    head->fitMapStatistics(f, f, 4);
    auto probeInput = features(1, 4);
    probeInput[0].select(3, 0).fill_(5.1);
    const auto out = head->forward(probeInput);
    // The floor on the standard deviation (5% of the mean one) bounds the response.
    EXPECT_LT(out.anomalyMap.abs().max().item<double>(), 1e3);
    EXPECT_TRUE(torch::isfinite(out.anomalyMap).all().item<bool>());
}

}  // namespace
