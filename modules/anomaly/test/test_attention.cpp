// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.Attention against its definition in double and against the
// standard nodes it replaces (Reshape, Transpose, MatMul, Add, Softmax) run by OpenCV's own layers.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <cmath>
#include <cstring>

namespace opencv_test {
namespace {

struct AttentionCase
{
    int channels, heads, queryH, queryW, keyH, keyW;
    bool masked;

    int queries() const { return queryH * queryW; }
    int keys() const { return keyH * keyW; }
};

std::ostream& operator<<(std::ostream& os, const AttentionCase& c)
{
    return os << c.channels << " channels, " << c.heads << " heads, queries " << c.queryH << "x"
              << c.queryW << ", keys " << c.keyH << "x" << c.keyW << (c.masked ? ", masked" : "");
}

/** A mask in the spirit of the local branch's: -1e4 on a band of keys near each query, 0 else. */
std::vector<float> bandMask(const AttentionCase& c)
{
    std::vector<float> mask(size_t(c.queries()) * c.keys(), 0.f);
    for (int t = 0; t < c.queries(); ++t)
        for (int k = 0; k < c.keys(); ++k)
            if (std::abs(t * c.keys() / c.queries() - k) <= 1)
                mask[size_t(t) * c.keys() + k] = -1e4f;
    return mask;
}

/** q, k, v [N,C,h,w] -> Attention(heads[, mask]) -> y. */
TestModel attentionModel(const AttentionCase& c, const std::vector<float>& mask)
{
    TestModel m;
    m.useCustomDomain();
    m.input("q", {-1, c.channels, c.queryH, c.queryW});
    m.input("k", {-1, c.channels, c.keyH, c.keyW});
    m.input("v", {-1, c.channels, c.keyH, c.keyW});
    std::vector<std::string> inputs = {"q", "k", "v"};
    if (c.masked) {
        m.floatTensor("mask", {c.queries(), c.keys()}, mask);
        inputs.push_back("mask");
    }
    m.node("Attention", inputs, {"y"}, {TestAttr::integer("heads", c.heads)}, "org.opencv.anomaly");
    m.output("y", {-1, c.channels, c.queryH, c.queryW});
    return m;
}

/** The same attention as the standard nodes anomaly_train wrote before format 1.6. */
TestModel standardAttentionModel(const AttentionCase& c, const std::vector<float>& mask)
{
    const int64_t h = c.heads, d = c.channels / c.heads, tq = c.queries(), tk = c.keys();
    TestModel m;
    m.input("q", {-1, c.channels, c.queryH, c.queryW});
    m.input("k", {-1, c.channels, c.keyH, c.keyW});
    m.input("v", {-1, c.channels, c.keyH, c.keyW});
    m.int64Tensor("q_heads", {0, h, d, tq});
    m.int64Tensor("k_heads", {0, h, d, tk});
    m.int64Tensor("back", {0, c.channels, c.queryH, c.queryW});
    const std::vector<int64_t> swap = {0, 1, 3, 2};
    m.node("Reshape", {"q", "q_heads"}, {"q4"});
    m.node("Transpose", {"q4"}, {"qT"}, {TestAttr::list("perm", swap)});
    m.node("Reshape", {"k", "k_heads"}, {"k4"});
    m.node("MatMul", {"qT", "k4"}, {"scores"});
    std::string scores = "scores";
    if (c.masked) {
        std::vector<float> perHead;
        for (int i = 0; i < c.heads; ++i)
            perHead.insert(perHead.end(), mask.begin(), mask.end());
        m.floatTensor("mask", {h, tq, tk}, perHead);
        m.node("Add", {"scores", "mask"}, {"masked"});
        scores = "masked";
    }
    m.node("Softmax", {scores}, {"weights"}, {TestAttr::integer("axis", 3)});
    m.node("Reshape", {"v", "k_heads"}, {"v4"});
    m.node("Transpose", {"v4"}, {"vT"}, {TestAttr::list("perm", swap)});
    m.node("MatMul", {"weights", "vT"}, {"attended"});
    m.node("Transpose", {"attended"}, {"attendedT"}, {TestAttr::list("perm", swap)});
    m.node("Reshape", {"attendedT", "back"}, {"y"});
    m.output("y", {-1, c.channels, c.queryH, c.queryW});
    return m;
}

Mat randomTokens(RNG& rng, int batch, int channels, int height, int width)
{
    const int shape[] = {batch, channels, height, width};
    Mat x(4, shape, CV_32F);
    rng.fill(x, RNG::NORMAL, 0.0, 1.0);
    return x;
}

/** The definition, in double. */
Mat directAttention(const Mat& q, const Mat& k, const Mat& v, const AttentionCase& c,
                    const std::vector<float>& mask)
{
    const int batch = q.size[0], d = c.channels / c.heads, tq = c.queries(), tk = c.keys();
    const int shape[] = {batch, c.channels, c.queryH, c.queryW};
    Mat out(4, shape, CV_64F);
    std::vector<double> weights(static_cast<size_t>(tk));
    for (int n = 0; n < batch; ++n)
        for (int h = 0; h < c.heads; ++h)
            for (int t = 0; t < tq; ++t) {
                double maxValue = -1e300, sum = 0;
                for (int j = 0; j < tk; ++j) {
                    double s = c.masked ? mask[size_t(t) * tk + j] : 0.0;
                    for (int e = 0; e < d; ++e)
                        s += double(q.ptr<float>(n, h * d + e)[t]) * k.ptr<float>(n, h * d + e)[j];
                    weights[size_t(j)] = s;
                    maxValue = std::max(maxValue, s);
                }
                for (double& w : weights)
                    sum += w = std::exp(w - maxValue);
                for (int e = 0; e < d; ++e) {
                    double acc = 0;
                    for (int j = 0; j < tk; ++j)
                        acc += weights[size_t(j)] / sum * v.ptr<float>(n, h * d + e)[j];
                    out.ptr<double>(n, h * d + e)[t] = acc;
                }
            }
    return out;
}

TEST(Anomaly_Attention, matches_its_definition_and_the_standard_nodes_it_replaces)
{
    // The local branch's shape (16x16 tokens, 4 heads of 32, masked: four blocks of 64 queries);
    // cross attention from 4x4 queries to 16x16 keys and back; query counts that fill no tile or
    // block exactly (35, 81); one head; a single query and a single key.
    const AttentionCase cases[] = {
        {128, 4, 16, 16, 16, 16, true}, {16, 2, 4, 4, 16, 16, false}, {16, 2, 16, 16, 4, 4, true},
        {12, 3, 5, 7, 5, 7, true},      {8, 1, 9, 9, 3, 5, false},    {6, 2, 1, 1, 1, 1, false},
    };
    RNG rng(51);
    const int threads = getNumThreads();
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (int t : {1, 3})
            for (const AttentionCase& c : cases) {
                setUseOptimized(optimized);
                setNumThreads(t);
                const std::vector<float> mask = bandMask(c);
                const Mat q = randomTokens(rng, 2, c.channels, c.queryH, c.queryW);
                const Mat k = randomTokens(rng, 2, c.channels, c.keyH, c.keyW);
                const Mat v = randomTokens(rng, 2, c.channels, c.keyH, c.keyW);
                const auto run = [&](dnn::Net net) {
                    net.setInput(q, "q");
                    net.setInput(k, "k");
                    net.setInput(v, "v");
                    return net.forward().clone();
                };
                const Mat y = run(importWithCustomLayers(attentionModel(c, mask)));
                ASSERT_EQ(y.dims, 4) << c;
                Mat y64;
                y.convertTo(y64, CV_64F);
                const std::string where =
                    cv::format(" (%d thread(s)%s)", t, optimized ? "" : ", baseline kernels");
                // Scores of sums of up to 32 products of normal values: float rounding and the
                // vector exp (2e-7 relative) stay far below 1e-4 on outputs of order 1.
                EXPECT_LE(cv::norm(y64, directAttention(q, k, v, c, mask), NORM_INF), 1e-4)
                    << c << where;
                const Mat standard =
                    run(dnn::readNetFromONNX(standardAttentionModel(c, mask).serialize()));
                EXPECT_LE(cv::norm(y, standard, NORM_INF), 1e-4)
                    << c << where << ": against OpenCV's MatMul and Softmax layers";
            }
    setUseOptimized(wasOptimized);
    setNumThreads(threads);
}

TEST(Anomaly_Attention, an_image_gives_the_same_values_at_any_position_in_the_batch)
{
    const AttentionCase c{32, 4, 8, 8, 8, 8, true};
    RNG rng(52);
    const std::vector<float> mask = bandMask(c);
    dnn::Net net = importWithCustomLayers(attentionModel(c, mask));
    const Mat q = twinBatch(rng, c.channels, c.queryH, c.queryW);
    const Mat k = twinBatch(rng, c.channels, c.keyH, c.keyW);
    const Mat v = twinBatch(rng, c.channels, c.keyH, c.keyW);
    net.setInput(q, "q");
    net.setInput(k, "k");
    net.setInput(v, "v");
    const Mat y = net.forward();
    EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1), y.total() / 2 * sizeof(float)));
}

TEST(Anomaly_Attention, reports_two_products_of_queries_keys_and_channels)
{
    const AttentionCase c{8, 2, 3, 4, 5, 2, false};
    dnn::Net net = importWithCustomLayers(attentionModel(c, {}));
    const std::vector<dnn::MatShape> shapes = {{1, 8, 3, 4}, {1, 8, 5, 2}, {1, 8, 5, 2}};
    EXPECT_EQ(net.getFLOPS(shapes), int64(2 * 2 * 12 * 10 * 8));
}

TEST(Anomaly_Attention, invalid_heads_masks_and_inputs_raise)
{
    const auto importAndRun = [](const TestModel& m, const AttentionCase& c) {
        dnn::Net net = importWithCustomLayers(m);
        const int qShape[] = {1, c.channels, c.queryH, c.queryW};
        const int kShape[] = {1, c.channels, c.keyH, c.keyW};
        net.setInput(Mat(4, qShape, CV_32F, Scalar(1)), "q");
        net.setInput(Mat(4, kShape, CV_32F, Scalar(1)), "k");
        net.setInput(Mat(4, kShape, CV_32F, Scalar(1)), "v");
        net.forward();
    };
    const AttentionCase good{8, 2, 3, 3, 2, 2, true};
    ASSERT_NO_THROW(importAndRun(attentionModel(good, bandMask(good)), good));

    AttentionCase c = good;
    c.heads = 3;
    EXPECT_THROW(importAndRun(attentionModel(c, bandMask(c)), c), cv::Exception)
        << "8 channels in 3 heads";
    c.heads = 0;
    EXPECT_THROW(importAndRun(attentionModel(c, bandMask(c)), c), cv::Exception) << "0 heads";

    // A mask of the wrong size: made for 4 queries instead of 9.
    AttentionCase other = good;
    other.queryH = 2;
    other.queryW = 2;
    TestModel smallMask;
    smallMask.useCustomDomain();
    smallMask.input("q", {-1, 8, 3, 3});
    smallMask.input("k", {-1, 8, 2, 2});
    smallMask.input("v", {-1, 8, 2, 2});
    smallMask.floatTensor("mask", {other.queries(), other.keys()}, bandMask(other));
    smallMask.node("Attention", {"q", "k", "v", "mask"}, {"y"}, {TestAttr::integer("heads", 2)},
                   "org.opencv.anomaly");
    smallMask.output("y", {-1, 8, 3, 3});
    EXPECT_THROW(importAndRun(smallMask, good), cv::Exception) << "a [4,4] mask for 9 queries";

    // Keys and values of different planes.
    TestModel mismatched;
    mismatched.useCustomDomain();
    mismatched.input("q", {-1, 8, 3, 3});
    mismatched.input("k", {-1, 8, 2, 2});
    mismatched.input("v", {-1, 8, 3, 3});
    mismatched.node("Attention", {"q", "k", "v"}, {"y"}, {TestAttr::integer("heads", 2)},
                    "org.opencv.anomaly");
    mismatched.output("y", {-1, 8, 3, 3});
    const auto runMismatched = [&] {
        dnn::Net net = importWithCustomLayers(mismatched);
        const int qShape[] = {1, 8, 3, 3}, kShape[] = {1, 8, 2, 2};
        net.setInput(Mat(4, qShape, CV_32F, Scalar(1)), "q");
        net.setInput(Mat(4, kShape, CV_32F, Scalar(1)), "k");
        net.setInput(Mat(4, qShape, CV_32F, Scalar(1)), "v");
        net.forward();
    };
    EXPECT_THROW(runMismatched(), cv::Exception) << "values on another plane than keys";
}

}  // namespace
}  // namespace opencv_test
