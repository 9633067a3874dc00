// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Each exported building block, run by OpenCV DNN at batch 1 and 2, against its LibTorch forward.
#include "head_parts.hpp"
#include "statistics_score.hpp"
#include "test_helpers.hpp"

#include <gtest/gtest.h>
#include <onnx_graph.hpp>
#include <opencv2/anomaly/model_io.hpp>
#include <opencv2/dnn.hpp>

#include <cmath>
#include <functional>

using namespace anomaly_train;

namespace {

constexpr int64_t kDim = 16, kH = 4, kW = 5;

/** Builds a graph from input "x" [N, kDim, kH, kW] with emitBlock, runs it with OpenCV on x;
opTypes, where given, receives the graph's node types in order, and graph the graph itself. */
torch::Tensor runExported(
    const std::function<std::string(GraphEmitter&, const std::string&)>& emitBlock,
    const torch::Tensor& x, std::vector<std::string>* opTypes = nullptr,
    onnx::GraphProto* graph = nullptr)
{
    anomaly_export::OnnxGraphBuilder builder("block");
    builder.addInput("x", {-1, kDim, kH, kW});
    GraphEmitter g(builder);
    g.setStage(stage::kLocal);  // any stage: nodes must carry one
    g.declare("x", {1, kDim, kH, kW});
    const std::string out = emitBlock(g, "x");
    const Shape s = g.shape(out);
    builder.addOutput(out, {-1, s[1], s[2], s[3]});
    if (opTypes)
        for (const auto& node : builder.model().graph().node())
            opTypes->push_back(node.op_type());
    if (graph)
        *graph = builder.model().graph();
    cv::anomaly::registerCustomLayers();
    cv::dnn::Net net =
        cv::dnn::readNetFromONNX(anomaly_export::serializeOnnxModel(builder.model()));
    const auto xc = x.contiguous();
    const int sizes[4] = {int(x.size(0)), int(x.size(1)), int(x.size(2)), int(x.size(3))};
    net.setInput(cv::Mat(4, sizes, CV_32F, xc.data_ptr<float>()).clone());
    return toTensor(net.forward(out));
}

class GraphBlocks : public ::testing::TestWithParam<int>
{
protected:
    void SetUp() override { torch::manual_seed(7); }
    torch::Tensor input() const { return torch::randn({GetParam(), kDim, kH, kW}); }
};

TEST_P(GraphBlocks, StatisticsScoreMatchesLibTorch)
{
    // Positive, ReLU-like features as a backbone gives; the test batch is shifted away from the
    // training ones so the distances are not all small.
    StatisticsScore score(kDim);
    score->fit(torch::rand({40, kDim, kH, kW}) * 3);
    score->setAffine(0.5, 0.25);
    const auto x = torch::rand({GetParam(), kDim, kH, kW}) * 4;
    const auto expected = score->forward(x).detach();
    const auto got = runExported(
        [&](GraphEmitter& g, const std::string& in) { return score->exportGraph(g, in); }, x);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LT((expected - got).abs().max().item<double>(),
              1e-4 * expected.abs().max().item<double>());
    // The affine: 0.5 * distance + 0.25.
    EXPECT_NEAR(expected[0].item<double>(), 0.5 * score->distances(x)[0].item<double>() + 0.25,
                1e-5);
}

TEST_P(GraphBlocks, SelfAttentionWithMaskMatchesLibTorch)
{
    Attention attn(kDim, 4);
    const auto mask = neighbourhoodMask(4, kH, kW, 1);
    const auto x = input();
    const auto expected = attn->forward(x, x, x, mask).detach();
    std::vector<std::string> ops;
    double flops = 0;
    const auto got = runExported(
        [&](GraphEmitter& g, const std::string& in) {
            const auto out =
                exportAttention(g, *attn, TokenSource::value(in), in, TokenSource::value(in), mask);
            flops = g.flops();
            return out;
        },
        x, &ops);
    EXPECT_LT((expected - got).abs().max().item<double>(), 1e-4);
    // Since format 1.6: the Q, K, V projections, one Attention op, the output projection.
    const std::vector<std::string> expectedOps = {"PointwiseConv", "PointwiseConv", "PointwiseConv",
                                                  "Attention", "PointwiseConv"};
    EXPECT_EQ(ops, expectedOps);
    // Four C x C projections of T tokens and two T x T x C products, two FLOPs per multiply-add.
    constexpr double kTokens = kH * kW;
    EXPECT_EQ(flops, 4 * 2.0 * kDim * kDim * kTokens + 2 * 2.0 * kTokens * kTokens * kDim);
}

TEST_P(GraphBlocks, ConstantQueriesAreFoldedCorrectly)
{
    // Prototypes as a column of 6 queries (the global branch's shape, [N, C, T, 1] straight from
    // the pooling op) and semantic queries on a 2 x 3 grid (a Reshape after it).
    for (const std::vector<int64_t>& grid : {std::vector<int64_t>{6, 1}, {2, 3}}) {
        Attention attn(kDim, 2);
        const auto queries = torch::randn({1, kDim, grid[0], grid[1]});
        const auto x = input();
        const auto expected = attn->forward(queries, x, x).detach();
        std::vector<std::string> ops;
        double flops = 0;
        const auto got = runExported(
            [&](GraphEmitter& g, const std::string& in) {
                const auto out = exportAttention(g, *attn, TokenSource::fixed(queries), in,
                                                 TokenSource::value(in));
                flops = g.flops();
                return out;
            },
            x, &ops);
        ASSERT_EQ(got.sizes(), expected.sizes());
        EXPECT_LT((expected - got).abs().max().item<double>(), 1e-4);
        // Since format 1.7: the logits (queries folded into the key projection), the value
        // projection, one AttentionPooling op, the output projection.
        std::vector<std::string> expectedOps = {"PointwiseConv", "PointwiseConv",
                                                "AttentionPooling", "PointwiseConv"};
        if (grid[1] != 1)
            expectedOps.insert(expectedOps.begin() + 3, "Reshape");
        EXPECT_EQ(ops, expectedOps);
        // Logits (2 heads x T rows of C), values (C x C) on the image's tokens, the T x tokens x C
        // product, the output projection (C x C) on the T queries; two FLOPs per multiply-add.
        const double tokens = kH * kW, t = double(grid[0] * grid[1]);
        EXPECT_EQ(flops, 2.0 * (2 * t * kDim * tokens + kDim * kDim * tokens + t * tokens * kDim +
                                kDim * kDim * t));
    }
}

TEST_P(GraphBlocks, ConstantQueriesAndValuesAreFoldedCorrectly)
{
    Attention attn(kDim, 4);
    const auto memory = torch::randn({1, kDim, kH, kW});
    const auto x = input();
    const auto expected = attn->forward(memory, x, memory).detach();
    const auto got = runExported(
        [&](GraphEmitter& g, const std::string& in) {
            return exportAttention(g, *attn, TokenSource::fixed(memory), in,
                                   TokenSource::fixed(memory));
        },
        x);
    EXPECT_LT((expected - got).abs().max().item<double>(), 1e-4);
}

TEST_P(GraphBlocks, LayerNormMatchesHandComputedValues)
{
    ChannelLayerNorm norm(kDim);
    const auto x = input();
    // Independent expectation: standardise each pixel's channel vector by hand.
    const auto mean = x.mean(1, true);
    const auto var = (x - mean).pow(2).mean(1, true);
    const auto expected = (x - mean) / torch::sqrt(var + 1e-5);
    const auto got = runExported(
        [&](GraphEmitter& g, const std::string& in) { return exportLayerNorm(g, *norm, in); }, x);
    EXPECT_LT((expected - got).abs().max().item<double>(), 1e-4);
}

TEST_P(GraphBlocks, FlowAnomalyMapMatchesLibTorch)
{
    Flow flow(kDim, 4, 2.f, 11);
    for (auto& p : flow->parameters())  // move away from the near-identity initialisation
        p.data().add_(torch::randn_like(p) * 0.3);
    const auto x = input();
    const auto expected = likelihoodAnomalyMap(flow->forward(x).first).detach();
    std::vector<std::string> ops;
    const auto got = runExported(
        [&](GraphEmitter& g, const std::string& in) { return exportFlowMap(g, *flow, in); }, x,
        &ops);
    EXPECT_LT((expected - got).abs().max().item<double>(), 1e-4);
    // Since format 1.6 the map 0.5 * mean z^2 is one op after the four coupling blocks.
    const std::vector<std::string> expectedOps = {"AffineCoupling", "AffineCoupling",
                                                  "AffineCoupling", "AffineCoupling",
                                                  "MeanSquaredDifference"};
    EXPECT_EQ(ops, expectedOps);
}

TEST_P(GraphBlocks, SquaredErrorMapMatchesLibTorch)
{
    const auto x = input();
    const auto expected = squaredErrorMap(x, torch::relu(x));
    std::vector<std::string> ops;
    const auto got = runExported(
        [&](GraphEmitter& g, const std::string& in) {
            return exportSquaredErrorMap(g, in, g.unary("Relu", in));
        },
        x, &ops);
    EXPECT_LT((expected - got).abs().max().item<double>(), 1e-5);
    EXPECT_EQ(ops, (std::vector<std::string>{"Relu", "MeanSquaredDifference"})) << "format 1.6";
}

TEST_P(GraphBlocks, UpsampleMatchesLibTorchBilinear)
{
    const auto x = input();
    const auto expected = upsample(x, 4);
    std::vector<std::string> ops;
    const auto got = runExported(
        [&](GraphEmitter& g, const std::string& in) { return g.upsample(in, 4); }, x, &ops);
    EXPECT_LT((expected - got).abs().max().item<double>(), 1e-5);
    EXPECT_EQ(ops, std::vector<std::string>{"BilinearUpsample"}) << "format 1.6";
}

TEST_P(GraphBlocks, PositionwiseLinearStoresTheTriangleOfExactlySymmetricWeights)
{
    // Symmetric weights at every position: written as their upper triangle (symmetric = 1,
    // [C(C+1)/2, H, W]); one weight one float step off: written in full. Both against LibTorch.
    const auto x = input();
    const auto a = torch::randn({kDim, kDim, kH, kW});
    const auto bias = torch::randn({kDim, kH, kW});
    auto symmetric = (a + a.transpose(0, 1)).contiguous();
    auto almost = symmetric.clone();
    almost[2][5][1][3] = std::nextafter(almost[2][5][1][3].item<float>(), 1e9f);
    for (const auto* weight : {&symmetric, &almost}) {
        const bool packed = weight == &symmetric;
        const auto expected = torch::einsum("ocij,ncij->noij", {*weight, x}) + bias.unsqueeze(0);
        onnx::GraphProto graph;
        const auto got = runExported(
            [&](GraphEmitter& g, const std::string& in) {
                return g.positionwiseLinear(in, *weight, bias);
            },
            x, nullptr, &graph);
        EXPECT_LT((expected - got).abs().max().item<double>(), 1e-4) << packed;
        ASSERT_EQ(graph.node_size(), 1);
        const auto& node = graph.node(0);
        EXPECT_EQ(node.attribute_size(), packed ? 1 : 0);
        const std::vector<int64_t> storedShape =
            packed ? std::vector<int64_t>{kDim * (kDim + 1) / 2, kH, kW}
                   : std::vector<int64_t>{kDim, kDim, kH, kW};
        for (const auto& t : graph.initializer())
            if (t.name() == node.input(1)) {
                const std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
                EXPECT_EQ(dims, storedShape) << packed;
            }
    }
}

INSTANTIATE_TEST_SUITE_P(Batch, GraphBlocks, ::testing::Values(1, 2));

TEST(FlowBlocks, AffineCouplingLogDeterminantMatchesAutograd)
{
    // Independent check of the log-determinant: the Jacobian of a tiny flow by autograd.
    torch::manual_seed(3);
    Flow flow(4, 2, 2.f, 5);
    for (auto& p : flow->parameters())
        p.data().add_(torch::randn_like(p) * 0.3);
    const auto x = torch::randn({1, 4, 1, 2}).requires_grad_(true);
    const auto y = flow->forward(x).first.reshape({8});
    auto jacobian = torch::zeros({8, 8});
    for (int64_t i = 0; i < 8; ++i)
        jacobian[i] = torch::autograd::grad({y[i]}, {x}, {}, true)[0].reshape({8});
    const double expected = std::get<1>(torch::slogdet(jacobian)).item<double>();
    EXPECT_NEAR(flow->forward(x).second.item<double>(), expected, 1e-4);
}

}  // namespace
