// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// StandardizedHead against the definitions it implements: after fitting, the head sees features
// with zero mean and unit variance per channel, its maps over the fitting images have zero mean
// and unit variance at every position, and each map is then scaled to unit spread over held-out
// images; with a segmentation head the anomaly map sums the two maps' exceedance scales.
#include "standardized_head.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <utility>

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

/** A head around probe, fitted on f with held as the held-out images. */
StandardizedHead fittedHead(const std::vector<torch::Tensor>& f,
                            const std::vector<torch::Tensor>& held, int64_t window = 0,
                            bool segmentation = false, double weight = 1.0,
                            std::shared_ptr<ProbeHead> probe = std::make_shared<ProbeHead>())
{
    StandardizedHead head(std::move(probe), geometry(), window, segmentation, weight);
    head->fitFeatureStatistics(f);
    head->fitMapStatistics(f, held, 8);
    return head;
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

TEST(StandardizedHead, ContextMapIsAddedStandardisedToTheAnomalyMapOnly)
{
    const auto f = features(40, 5);
    const auto a = fittedHead(f, f)->forward(f);
    const auto b = fittedHead(f, f, 3)->forward(f);
    EXPECT_FALSE(b.scoreMap.defined());  // the image score comes from the anomaly map
    EXPECT_TRUE(torch::allclose(a.localMap, b.localMap));
    EXPECT_TRUE(torch::allclose(a.globalMap, b.globalMap));
    // What is added is standardised per position over the fitting images, like the maps: zero
    // mean, unit standard deviation.
    const auto added = b.anomalyMap - a.anomalyMap;
    EXPECT_LT(added.mean(0).abs().max().item<double>(), 1e-4);
    EXPECT_LT((added.var(0, false) - 1).abs().max().item<double>(), 1e-3);
    EXPECT_GT((added - a.anomalyMap).abs().max().item<double>(), 0.1);
}

TEST(StandardizedHead, WithSegmentationTheAnomalyMapSumsTheEvidenceOfBothKinds)
{
    // Fitted with held-out = fitting images, whose standardised maps then spread exactly 1: the
    // density map is the plain head's anomaly map, the segmentation map its logits standardised
    // per position here; each goes through an exceedance scale fitted on its own values over the
    // fitting images, the segmentation one times the weight.
    const auto f = features(40, 5);
    const auto a = fittedHead(f, f)->forward(f);
    for (double weight : {1.0, 2.5}) {
        SCOPED_TRACE(weight);
        auto probe = std::make_shared<ProbeHead>();
        auto head = fittedHead(f, f, 0, true, weight, probe);
        const auto out = head->forward(f);
        torch::NoGradGuard noGrad;
        const auto logits = head->segmentation()->forward(probe->seen[2]).to(torch::kDouble);
        const auto mean = logits.mean(0, true);
        const auto std = (logits - mean).pow(2).mean(0, true).sqrt();
        const auto segmentation = ((logits - mean) / std).to(torch::kFloat);
        ExceedanceScale densityEvidence, segmentationEvidence;
        densityEvidence->fit(a.anomalyMap);
        segmentationEvidence->fit(segmentation, weight);
        const auto expected =
            densityEvidence->forward(a.anomalyMap) + segmentationEvidence->forward(segmentation);
        EXPECT_TRUE(torch::allclose(out.anomalyMap, expected, 1e-4, 1e-4));
        // The image score's map is the density map itself.
        EXPECT_TRUE(torch::allclose(out.scoreMap, a.anomalyMap));
        EXPECT_TRUE(torch::allclose(a.localMap, out.localMap));
        EXPECT_TRUE(torch::allclose(a.globalMap, out.globalMap));
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
    const auto onReference = fittedHead(f, f, 3)->forward(held);
    const auto onHead = fittedHead(f, held, 3)->forward(held);
    for (const auto& pair : {std::make_pair(onReference.localMap, onHead.localMap),
                             std::make_pair(onReference.globalMap, onHead.globalMap)}) {
        const double factor = spread(pair.first);
        EXPECT_GT(factor, 1.3);  // the wider held-out features do spread the maps wider
        EXPECT_NEAR(spread(pair.second), 1.0, 1e-6);
        // One factor for the whole map: the per-position standardisation is kept.
        EXPECT_TRUE(torch::allclose(pair.second * factor, pair.first, 1e-4, 1e-5));
    }
    // The anomaly map is the probe's map plus the context map, each rescaled on its own; the
    // probe's part alone spreads 1 over the held-out images.
    const auto probePart = fittedHead(f, held)->forward(held).anomalyMap;
    EXPECT_NEAR(spread(probePart), 1.0, 1e-6);
    EXPECT_NEAR(spread(onHead.anomalyMap - probePart), 1.0, 1e-5);
}

TEST(StandardizedHead, MapsThatSpreadLessOnTheHeldOutImagesKeepTheirTrainingScale)
{
    // Held-out images whose features spread far less than the training images': dividing by
    // the maps' spread over them would amplify every map about threefold.
    const auto f = features(40, 6);
    auto narrow = features(30, 7);
    for (auto& t : narrow)
        t = (t - 7.0) * 0.3 + 7.0;
    // Fitted with held-out = f, the maps spread exactly 1 over f: the training scale.
    const auto expected = fittedHead(f, f)->forward(narrow);
    const auto out = fittedHead(f, narrow)->forward(narrow);
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
