// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A tiny model of each preset is trained, merged with the test backbone and exported; the runtime
// (cv::dnn on the merged graph, and LocalGlobalFlow) must reproduce the LibTorch forward pass.
#include "feature_cache.hpp"
#include "model_export.hpp"
#include "standardized_head.hpp"
#include "test_helpers.hpp"
#include "testing/test_backbone.hpp"
#include "trainer.hpp"

#include <gtest/gtest.h>
#include <opencv2/anomaly/local_global_flow.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

using namespace anomaly_train;

namespace {

constexpr int kImageSize = 64;

HeadOptions tinyOptions(Preset preset)
{
    HeadOptions o = defaultHeadOptions(preset, ModelSize::Lite);
    o.dim = 32;
    o.heads = 2;
    o.mlpRatio = 2;
    o.localBlocks = 2;  // two blocks: exercises the residual (non-first) block paths too
    o.globalBlocks = 2;
    o.dualBlocks = 2;
    o.prototypes = 4;
    o.flowBlocks = 2;
    return o;
}

struct TrainedModel
{
    Backbone backbone;
    std::shared_ptr<AnomalyHeadImpl> head;
    StatisticsScore statistics{nullptr};
    std::vector<unsigned char> bytes;
};

TrainedModel trainTiny(const HeadOptions& options, const std::vector<cv::Mat>& images)
{
    torch::manual_seed(1);
    TrainedModel m;
    m.backbone = loadBackbone(makeTestBackbone(kImageSize, {8, 12, 16}, 3), "test backbone");
    const auto features = extractFeatures(m.backbone, images);
    auto head = makeStandardizedHead(options, m.backbone.geometry);
    head->fitFeatureStatistics(features);
    TrainOptions t;
    t.epochs = 2;
    t.batch = 4;
    t.showProgress = false;
    trainHead(*head, features, t);
    if (head->segmentation()) {
        // Random per-cell targets: parity needs trained, not meaningful, weights.
        const auto& f = features[2];
        const std::vector<torch::Tensor> data{f, torch::rand({f.size(0), 1, f.size(2), f.size(3)})};
        trainModule(
            *head->segmentation(), data,
            [&head](const std::vector<torch::Tensor>& b) {
                return head->segmentationLoss(b[0], b[1]);
            },
            t);
    }
    head->fitMapStatistics(features, features, 4);
    m.head = head.ptr();
    m.head->eval();
    // The statistics score, scaled as the tool does, with the training images standing in for the
    // held-out ones, so that it competes with the map maxima for the image score.
    m.statistics = StatisticsScore(m.backbone.geometry.channels[2]);
    m.statistics->fit(features[2]);
    {
        torch::NoGradGuard noGrad;
        // In the units of the map the runtime takes the image score from, as anomaly_train does.
        const HeadOutput out = m.head->forward(features);
        const auto maps = out.scoreMap.defined() ? out.scoreMap : out.anomalyMap;
        std::vector<float> peaks;
        for (int64_t i = 0; i < maps.size(0); ++i)
            peaks.push_back(maps[i].max().item<float>());
        m.statistics->scaleToMapScores(features[2], peaks);
    }
    auto builder =
        buildMergedModel(m.backbone.model, *m.head, m.backbone.geometry, m.statistics.get());
    const std::pair<const char*, const char*> meta[] = {{"anomaly.format_version", "1.10"},
                                                        {"anomaly.input_width", "64"},
                                                        {"anomaly.input_height", "64"},
                                                        {"anomaly.color_order", "RGB"},
                                                        {"anomaly.mean", "0.485,0.456,0.406"},
                                                        {"anomaly.std", "0.229,0.224,0.225"},
                                                        {"anomaly.method", "lgnf"},
                                                        {"anomaly.model_size", "lite"},
                                                        {"anomaly.backbone", "test_random"},
                                                        {"anomaly.threshold.image", "0.5"},
                                                        {"anomaly.threshold.pixel", "0.5"},
                                                        {"anomaly.normalization.image", "0,1"},
                                                        {"anomaly.normalization.pixel", "0,1"},
                                                        {"anomaly.score.reduction", "max"},
                                                        {"anomaly.map.smoothing_sigma", "0"},
                                                        {"anomaly.training.summary", "{}"}};
    for (const auto& kv : meta)
        builder->setMetadata(kv.first, kv.second);
    m.bytes = anomaly_export::serializeOnnxModel(builder->model());
    return m;
}

std::vector<int> ranking(const std::vector<float>& scores)
{
    std::vector<int> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return scores[size_t(a)] < scores[size_t(b)]; });
    return order;
}

/** A preset, and for lgnf what its flows see. */
struct HeadCase
{
    Preset preset;
    FlowInput flowInput = HeadOptions().flowInput;
    std::vector<int> flowScales = HeadOptions().flowScales;
    int64_t contextWindow = 0;
    bool segmentation = false;
    HeadOptions options() const
    {
        HeadOptions o = tinyOptions(preset);
        o.flowInput = flowInput;
        o.flowScales = flowScales;
        o.contextWindow = contextWindow;
        o.segmentation = segmentation;
        return o;
    }
};

void PrintTo(const HeadCase& c, std::ostream* os)
{
    *os << presetName(c.preset);
    if (c.preset == Preset::Lgnf)
        *os << " (flows on " << flowInputName(c.flowInput) << " at strides "
            << flowScalesName(c.flowScales) << ")";
    if (c.contextWindow > 0)
        *os << " with a context map over " << c.contextWindow << " cells";
    if (c.segmentation)
        *os << " with a segmentation head";
}

class TrainParity : public ::testing::TestWithParam<HeadCase>
{
};

TEST_P(TrainParity, OpenCvInferenceMatchesLibTorchAtBatch1And2)
{
    // Training images plus test images with a bright square "defect", so the ranking is not
    // trivial.
    const auto trainImages = makeTextureImages(8, kImageSize, 21);
    auto testImages = makeTextureImages(4, kImageSize, 99);
    cv::rectangle(testImages[1], cv::Rect(20, 20, 12, 12), cv::Scalar(255, 255, 255), cv::FILLED);
    cv::rectangle(testImages[3], cv::Rect(5, 30, 20, 6), cv::Scalar(0, 0, 0), cv::FILLED);
    TrainedModel m = trainTiny(GetParam().options(), trainImages);

    torch::NoGradGuard noGrad;
    const auto features = extractFeatures(m.backbone, testImages);
    const HeadOutput expected = m.head->forward(features);
    const torch::Tensor expectedStatistics = m.statistics->forward(features[2]);

    cv::anomaly::registerCustomLayers();
    cv::dnn::Net net = cv::dnn::readNetFromONNX(m.bytes);
    std::vector<cv::String> outputs{"anomaly_map", "local_map", "global_map", "statistics_score"};
    std::vector<const torch::Tensor*> expectedMaps{&expected.anomalyMap, &expected.localMap,
                                                   &expected.globalMap, &expectedStatistics};
    if (expected.scoreMap.defined()) {
        outputs.push_back("score_map");
        expectedMaps.push_back(&expected.scoreMap);
    }
    for (int batch : {1, 2}) {
        for (size_t start = 0; start < testImages.size(); start += size_t(batch)) {
            const std::vector<cv::Mat> group(testImages.begin() + long(start),
                                             testImages.begin() + long(start) + batch);
            cv::Mat blob;
            cv::anomaly::makeInputBlob(group, m.backbone.spec, blob);
            net.setInput(blob);
            std::vector<cv::Mat> outs;
            net.forward(outs, outputs);
            for (size_t k = 0; k < outputs.size(); ++k) {
                const auto want = expectedMaps[k]->narrow(0, int64_t(start), batch);
                const auto got = toTensor(outs[k]);
                ASSERT_EQ(got.sizes(), want.sizes()) << outputs[k];
                // Relative to the range over all test images: one image's statistics score has
                // none.
                const double range =
                    (expectedMaps[k]->max() - expectedMaps[k]->min()).item<double>();
                EXPECT_LE((want - got).abs().max().item<double>(), 1e-3 * std::max(range, 1e-6))
                    << outputs[k] << " batch " << batch << " start " << start;
            }
        }
    }

    // The module's own path: raw scores (no smoothing) must equal the larger of the maximum of the
    // score map (the anomaly map where there is none) and the statistics score, and rank alike.
    const torch::Tensor& scoreMap =
        expected.scoreMap.defined() ? expected.scoreMap : expected.anomalyMap;
    auto detector = cv::anomaly::LocalGlobalFlow::createFromBuffer(m.bytes);
    detector->setSmoothingSigma(0);
    detector->setBatchSize(2);
    std::vector<cv::anomaly::AnomalyResult> results;
    detector->detectBatch(testImages, results);
    std::vector<float> runtimeScores, torchScores;
    for (size_t i = 0; i < testImages.size(); ++i) {
        runtimeScores.push_back(results[i].score);
        torchScores.push_back(std::max(scoreMap[int64_t(i)].max().item<float>(),
                                       expectedStatistics[int64_t(i)].item<float>()));
    }
    const float range = *std::max_element(torchScores.begin(), torchScores.end()) -
                        *std::min_element(torchScores.begin(), torchScores.end());
    for (size_t i = 0; i < torchScores.size(); ++i)
        EXPECT_NEAR(runtimeScores[i], torchScores[i], 1e-3 * std::max(range, 1e-6f));
    EXPECT_EQ(ranking(runtimeScores), ranking(torchScores));
}

TEST_P(TrainParity, EveryNodeNameCarriesItsStage)
{
    // The backbone's own node names (before merging) must come back under "backbone/"; every head
    // node must be under one of the head stages, and each stage a preset has must be present.
    const auto backboneModel = makeTestBackbone(kImageSize, {8, 12, 16}, 3);
    std::set<std::string> backboneNames;
    for (const auto& node : backboneModel.graph().node())
        backboneNames.insert("backbone/" + (node.name().empty() ? node.output(0) : node.name()));
    const TrainedModel m = trainTiny(GetParam().options(), makeTextureImages(4, kImageSize, 3));
    onnx::ModelProto merged;
    ASSERT_TRUE(merged.ParseFromArray(m.bytes.data(), int(m.bytes.size())));

    const std::set<std::string> headStages{"tokens", "local", "global", "flow", "maps"};
    std::map<std::string, int> nodesPerStage;
    std::set<std::string> seen;
    for (const auto& node : merged.graph().node()) {
        const auto slash = node.name().find('/');
        ASSERT_NE(slash, std::string::npos) << node.name() << " (" << node.op_type() << ")";
        const std::string stage = node.name().substr(0, slash);
        EXPECT_TRUE(stage == "backbone" || headStages.count(stage)) << node.name();
        EXPECT_TRUE(seen.insert(node.name()).second) << "duplicate node name " << node.name();
        ++nodesPerStage[stage];
    }
    std::set<std::string> mergedBackbone;
    for (const auto& node : merged.graph().node())
        if (node.name().rfind("backbone/", 0) == 0)
            mergedBackbone.insert(node.name());
    EXPECT_EQ(mergedBackbone, backboneNames);
    for (const auto& stage : headStages)
        EXPECT_GT(nodesPerStage[stage], 0) << stage;
    std::set<std::string> outputs;
    for (const auto& out : merged.graph().output())
        outputs.insert(out.name());
    std::set<std::string> expectedOutputs{"anomaly_map", "local_map", "global_map",
                                          "statistics_score"};
    if (GetParam().segmentation)  // the density maps' sum, the image score's map
        expectedOutputs.insert("score_map");
    EXPECT_EQ(outputs, expectedOutputs);
}

INSTANTIATE_TEST_SUITE_P(
    Presets, TrainParity,
    ::testing::Values(
        HeadCase{Preset::Lgnf, FlowInput::Discrepancy},
        HeadCase{Preset::Lgnf, FlowInput::DiscrepancyWithFeatures},
        HeadCase{Preset::Lgnf, FlowInput::AbsoluteDiscrepancy},
        HeadCase{Preset::Lgnf, FlowInput::WhitenedWithDiscrepancy},
        HeadCase{Preset::Lgnf, FlowInput::WhitenedWithDiscrepancy, {2}},
        HeadCase{Preset::Lgnf, FlowInput::WhitenedWithDiscrepancy, {0, 1, 2}, 3},
        HeadCase{Preset::Lgnf, FlowInput::WhitenedWithDiscrepancy, {2}, 3, true},
        HeadCase{Preset::Dadf}, HeadCase{Preset::Lgfdr},
        HeadCase{Preset::Dadf, HeadOptions().flowInput, HeadOptions().flowScales, 0, true},
        HeadCase{Preset::Lgfdr, HeadOptions().flowInput, HeadOptions().flowScales, 3}),
    [](const ::testing::TestParamInfo<HeadCase>& param) {
        std::string name = presetName(param.param.preset);
        if (param.param.contextWindow > 0)
            name += "_context" + std::to_string(param.param.contextWindow);
        if (param.param.segmentation)
            name += "_segmentation";
        if (param.param.preset != Preset::Lgnf)
            return name;
        if (param.param.flowScales.size() == 1)
            name += "_stride16_flows_only";
        if (param.param.flowInput == FlowInput::DiscrepancyWithFeatures)
            name += "_discrepancy_and_features";
        else if (param.param.flowInput == FlowInput::AbsoluteDiscrepancy)
            name += "_absdiff";
        else if (param.param.flowInput == FlowInput::WhitenedWithDiscrepancy)
            name += "_whitened_and_discrepancy";
        return name;
    });

TEST(TrainHead, LgnfFlowsSeeWhatTheFlowInputSettingSays)
{
    // Traced in the exported graph: the input of each flow's first coupling block is F - R,
    // |F - R|, the channel concatenation of F and F - R, or that of F's positional whitening
    // (a PositionwiseLinear, one per scale shared by both branches) and F - R, for the six flows
    // (3 flow scales x 2 branches).
    for (FlowInput mode : {FlowInput::Discrepancy, FlowInput::DiscrepancyWithFeatures,
                           FlowInput::AbsoluteDiscrepancy, FlowInput::WhitenedWithDiscrepancy}) {
        const TrainedModel m =
            trainTiny(HeadCase{Preset::Lgnf, mode}.options(), makeTextureImages(4, kImageSize, 5));
        onnx::ModelProto merged;
        ASSERT_TRUE(merged.ParseFromArray(m.bytes.data(), int(m.bytes.size())));
        std::map<std::string, const onnx::NodeProto*> producer;
        for (const auto& node : merged.graph().node())
            for (const auto& out : node.output())
                producer[out] = &node;
        const auto producedBy = [&](const std::string& tensor, const std::string& op) {
            const auto it = producer.find(tensor);
            return it != producer.end() && it->second->op_type() == op;
        };
        int flows = 0;
        std::map<std::string, int> whitenings;  // whitened value -> flows that read it
        for (const auto& node : merged.graph().node()) {
            if (node.op_type() != "AffineCoupling" || producedBy(node.input(0), "AffineCoupling"))
                continue;
            ++flows;
            const onnx::NodeProto& in = *producer.at(node.input(0));
            switch (mode) {
                case FlowInput::Discrepancy:
                    EXPECT_EQ(in.op_type(), "Sub");
                    break;
                case FlowInput::AbsoluteDiscrepancy:
                    ASSERT_EQ(in.op_type(), "Abs");
                    EXPECT_TRUE(producedBy(in.input(0), "Sub"));
                    break;
                case FlowInput::DiscrepancyWithFeatures: {
                    ASSERT_EQ(in.op_type(), "Concat");
                    ASSERT_EQ(in.input_size(), 2);
                    const onnx::NodeProto& d = *producer.at(in.input(1));
                    ASSERT_EQ(d.op_type(), "Sub");
                    EXPECT_EQ(in.input(0), d.input(0)) << "the features are the minuend of F - R";
                    break;
                }
                case FlowInput::WhitenedWithDiscrepancy: {
                    ASSERT_EQ(in.op_type(), "Concat");
                    ASSERT_EQ(in.input_size(), 2);
                    const onnx::NodeProto& whitened = *producer.at(in.input(0));
                    ASSERT_EQ(whitened.op_type(), "PositionwiseLinear");
                    const onnx::NodeProto& d = *producer.at(in.input(1));
                    ASSERT_EQ(d.op_type(), "Sub");
                    EXPECT_EQ(whitened.input(0), d.input(0))
                        << "the features are whitened and the minuend of F - R";
                    ++whitenings[in.input(0)];
                    break;
                }
            }
        }
        EXPECT_EQ(flows, 6) << flowInputName(mode);
        if (mode == FlowInput::WhitenedWithDiscrepancy) {
            EXPECT_EQ(whitenings.size(), 3u) << "one whitening per scale";
            for (const auto& w : whitenings)
                EXPECT_EQ(w.second, 2) << w.first << ": read by the local and the global flow";
        }
    }
}

TEST(TrainHead, LgnfBuildsFlowsOnlyAtItsFlowScales)
{
    // The test backbone's taps at 64x64: 8x16x16, 12x8x8, 16x4x4. Each chosen scale gets one
    // positional whitening (its symmetric C x C matrices stored as their upper triangle, W
    // [C(C+1)/2, H, W]) and two flows (local, global); the other scales' reconstructions are left
    // out of the graph: every node's output is read by another node or is a graph output.
    const int channels[3] = {8, 12, 16}, sides[3] = {16, 8, 4};
    for (const std::string strides : {"16", "8,16", "4,16", "4,8,16"}) {
        const std::vector<int> scales = parseFlowScales(strides);
        EXPECT_EQ(flowScalesName(scales), strides);
        const TrainedModel m =
            trainTiny(HeadCase{Preset::Lgnf, FlowInput::WhitenedWithDiscrepancy, scales}.options(),
                      makeTextureImages(4, kImageSize, 6));
        onnx::ModelProto merged;
        ASSERT_TRUE(merged.ParseFromArray(m.bytes.data(), int(m.bytes.size())));
        std::map<std::string, std::vector<int64_t>> initializerShapes;
        for (const auto& t : merged.graph().initializer())
            initializerShapes[t.name()] = {t.dims().begin(), t.dims().end()};
        std::set<std::string> read;
        for (const auto& out : merged.graph().output())
            read.insert(out.name());
        std::set<std::string> couplingOutputs;
        for (const auto& node : merged.graph().node()) {
            read.insert(node.input().begin(), node.input().end());
            if (node.op_type() == "AffineCoupling")
                couplingOutputs.insert(node.output(0));
        }
        std::multiset<std::vector<int64_t>> whiteningShapes;
        int flows = 0;
        for (const auto& node : merged.graph().node()) {
            if (node.op_type() == "PositionwiseLinear") {
                whiteningShapes.insert(initializerShapes.at(node.input(1)));
                ASSERT_EQ(node.attribute_size(), 1);
                EXPECT_EQ(node.attribute(0).name(), "symmetric");
                EXPECT_EQ(node.attribute(0).i(), 1);
            }
            if (node.op_type() == "AffineCoupling" && !couplingOutputs.count(node.input(0)))
                ++flows;
            for (const auto& out : node.output())
                EXPECT_TRUE(read.count(out)) << strides << ": " << node.name() << " is dead";
        }
        std::multiset<std::vector<int64_t>> expected;
        for (int s : scales)
            expected.insert({channels[s] * (channels[s] + 1) / 2, sides[s], sides[s]});
        EXPECT_EQ(whiteningShapes, expected) << strides;
        EXPECT_EQ(flows, 2 * int(scales.size())) << strides;
    }
}

TEST(TrainHead, FlowScalesAreStridesInAscendingOrder)
{
    EXPECT_EQ(parseFlowScales("16"), (std::vector<int>{2}));
    EXPECT_EQ(parseFlowScales("4,8,16"), (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(flowScalesName({1, 2}), "8,16");
    for (const char* bad : {"", "2", "16,8", "8,8", "4,,16", "8,16,", " 16"})
        EXPECT_THROW(parseFlowScales(bad), std::invalid_argument) << "'" << bad << "'";
}

TEST(TrainHead, LiteHeadsStayWithinTwoGigaflopsAt256)
{
    // EfficientNet-Lite0 taps at 256x256: 24x64x64, 40x32x32, 112x16x16.
    HeadGeometry g;
    g.channels = {24, 40, 112};
    g.heights = g.widths = {64, 32, 16};
    for (Preset p : {Preset::Lgnf, Preset::Dadf, Preset::Lgfdr}) {
        torch::manual_seed(0);
        auto head = makeStandardizedHead(defaultHeadOptions(p, ModelSize::Lite), g);
        const double flops = headFlops(*head, g);
        EXPECT_GT(flops, 1e7) << presetName(p);
        EXPECT_LE(flops, 2e9) << presetName(p);
    }
}

TEST(TrainHead, SameSeedGivesIdenticalWeightsAndResumeContinuesExactly)
{
    const auto images = makeTextureImages(6, kImageSize, 5);
    Backbone backbone = loadBackbone(makeTestBackbone(kImageSize, {8, 12, 16}, 3), "test");
    const auto features = extractFeatures(backbone, images);
    auto train = [&](int epochs, const std::string& checkpoint, bool resume) {
        torch::manual_seed(4);
        auto head = makeHead(tinyOptions(Preset::Lgfdr), backbone.geometry);  // uses noise RNG
        TrainOptions t;
        t.epochs = epochs;
        t.batch = 4;
        t.seed = 4;
        t.showProgress = false;
        t.checkpointPath = checkpoint;
        t.resume = resume;
        t.runSignature = "test";
        trainHead(*head, features, t);
        std::vector<torch::Tensor> params;
        for (const auto& p : head->parameters())
            params.push_back(p.detach().clone());
        return params;
    };
    const std::string ckpt = ::testing::TempDir() + "/resume_test.ckpt";
    const auto straight = train(3, "", false);
    const auto again = train(3, "", false);
    train(1, ckpt, false);
    const auto resumed = train(3, ckpt, true);
    std::remove(ckpt.c_str());
    ASSERT_EQ(straight.size(), resumed.size());
    for (size_t i = 0; i < straight.size(); ++i) {
        EXPECT_TRUE(torch::equal(straight[i], again[i])) << "parameter " << i;
        EXPECT_TRUE(torch::equal(straight[i], resumed[i])) << "parameter " << i;
    }
}

}  // namespace
