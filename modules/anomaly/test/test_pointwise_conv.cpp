// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.PointwiseConv against the matrix product written from its
// definition (doc/model-format.md section 6).
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <cstring>

namespace opencv_test {
namespace {

struct PointwiseCase
{
    int inChannels, outChannels, height, width;
};

std::ostream& operator<<(std::ostream& os, const PointwiseCase& c)
{
    return os << c.inChannels << "->" << c.outChannels << " on " << c.height << "x" << c.width;
}

/** x -> PointwiseConv(w, b) [-> activation] -> y. */
TestModel pointwiseModel(const PointwiseCase& c, const std::vector<float>& weight,
                         const std::vector<float>& bias, const std::string& activation = "",
                         const std::string& activationDomain = "")
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.inChannels, c.height, c.width});
    m.floatTensor("w", {c.outChannels, c.inChannels, 1, 1}, weight);
    m.floatTensor("b", {int64_t(bias.size())}, bias);
    m.node("PointwiseConv", {"x", "w", "b"}, {activation.empty() ? "y" : "conv"}, {},
           "org.opencv.anomaly");
    if (!activation.empty())
        m.node(activation, {"conv"}, {"y"}, {}, activationDomain);
    m.output("y", {-1, c.outChannels, c.height, c.width});
    return m;
}

/** The definition: y[n,o,i,j] = b[o] + sum over k of w[o,k] * x[n,k,i,j], in double. */
Mat directPointwise(const Mat& x, const PointwiseCase& c, const std::vector<float>& weight,
                    const std::vector<float>& bias)
{
    const int batch = x.size[0];
    const int shape[] = {batch, c.outChannels, c.height, c.width};
    Mat out(4, shape, CV_64F);
    for (int n = 0; n < batch; ++n)
        for (int o = 0; o < c.outChannels; ++o)
            for (int i = 0; i < c.height; ++i)
                for (int j = 0; j < c.width; ++j) {
                    double acc = bias[o];
                    for (int k = 0; k < c.inChannels; ++k)
                        acc += double(weight[size_t(o) * c.inChannels + k]) *
                               x.at<float>(Vec4i(n, k, i, j));
                    out.at<double>(Vec4i(n, o, i, j)) = acc;
                }
    return out;
}

TEST(Anomaly_PointwiseConv, matches_the_matrix_product_for_channel_counts_and_plane_sizes)
{
    // Output channels that fill whole strips of 6 and that leave 1-5 rows in the last one; planes
    // of whole pixel panels (16 and 8 wide), with a partial last panel, smaller than a panel, and
    // of more panels than one task packs (17 panels; 700 channels, where a task's block of panels
    // is capped by its size in bytes).
    const PointwiseCase cases[] = {
        {16, 96, 8, 8}, {24, 7, 5, 7},   {3, 13, 16, 17}, {40, 6, 3, 2},
        {1, 1, 1, 1},   {112, 11, 4, 4}, {9, 20, 2, 9},   {700, 7, 6, 30},
    };
    RNG rng(31);
    // The baseline kernel, and the AVX2 kernel where the build and the CPU have it.
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (const PointwiseCase& c : cases) {
            setUseOptimized(optimized);
            const auto weight = uniformValues(rng, size_t(c.outChannels) * c.inChannels, -1.f, 1.f);
            const auto bias = uniformValues(rng, size_t(c.outChannels), -1.f, 1.f);
            dnn::Net net = importWithCustomLayers(pointwiseModel(c, weight, bias));
            const Mat x = twinBatch(rng, c.inChannels, c.height, c.width);
            net.setInput(x);
            const Mat y = net.forward();
            ASSERT_EQ(y.dims, 4) << c;
            ASSERT_EQ(y.size[1], c.outChannels) << c;
            Mat y64;
            y.convertTo(y64, CV_64F);
            // At most 700 products of a weight below 1 and a normal value (sums of about 15 in
            // size): the float sum's rounding error stays below 1e-4.
            EXPECT_LE(cv::norm(y64, directPointwise(x, c, weight, bias), NORM_INF), 1e-4)
                << c << (optimized ? "" : ", baseline kernel");
            EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1),
                                     size_t(c.outChannels) * c.height * c.width * sizeof(float)))
                << c << ": the two copies of one image differ";
        }
    setUseOptimized(wasOptimized);
}

TEST(Anomaly_PointwiseConv, a_following_relu6_or_relu_is_fused_and_clamps)
{
    const PointwiseCase c{5, 8, 6, 7};
    RNG rng(32);
    // Weights and biases wide enough that outputs fall below 0, inside [0, 6] and above 6.
    const auto weight = uniformValues(rng, size_t(c.outChannels) * c.inChannels, -2.5f, 2.5f);
    const auto bias = uniformValues(rng, size_t(c.outChannels), -1.f, 4.f);
    expectReluFusionClamps(
        [&](const std::string& op, const std::string& domain) {
            return pointwiseModel(c, weight, bias, op, domain);
        },
        [&] { return twinBatch(rng, c.inChannels, c.height, c.width); },
        [&](const Mat& x) { return directPointwise(x, c, weight, bias); });
}

/** Time the net recorded for its layer of the given type (one such layer expected). */
double ticksOfLayerType(dnn::Net& net, const std::string& type)
{
    int found = -1;
    for (const String& layerName : net.getLayerNames()) {
        const int id = net.getLayerId(layerName);
        if (net.getLayer(id)->type == type)
            found = id;
    }
    CV_Assert(found > 0);
    return recordedTicks(net, found);
}

TEST(Anomaly_PointwiseConv, a_following_sigmoid_is_fused_and_runs_after_the_clamp)
{
    // 8 output channels on a 6x7 plane: two strips that small planes split between tasks, rows
    // of whole vectors and a scalar tail.
    const PointwiseCase c{5, 8, 6, 7};
    RNG rng(33);
    // Outputs from about -15 to 15: both tails of the logistic curve and its middle.
    const auto weight = uniformValues(rng, size_t(c.outChannels) * c.inChannels, -3.f, 3.f);
    const auto bias = uniformValues(rng, size_t(c.outChannels), -2.f, 2.f);
    const auto logistic = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    struct Chain
    {
        std::vector<std::string> ops;  // after the convolution, in order
        std::function<double(double)> definition;
        std::string runsAlone;  // the layer type fusion must leave to run, if any
    };
    const Chain chains[] = {
        {{"Sigmoid"}, logistic, ""},
        // A ReLU before the Sigmoid is fused too: sigmoid(max(x, 0)).
        {{"Relu", "Sigmoid"}, [&](double v) { return logistic(std::max(v, 0.0)); }, ""},
        // A clip after the Sigmoid must stay after it: absorbed into the convolution's clamp it
        // would run first and give sigmoid(clip(x)).
        {{"Sigmoid", "Clip"},
         [&](double v) { return std::min(std::max(logistic(v), 0.3), 0.6); },
         "ReLU6"},
    };
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (const Chain& chain : chains)
            for (bool fusion : {true, false}) {
                setUseOptimized(optimized);
                TestModel m;
                m.useCustomDomain();
                m.input("x", {-1, c.inChannels, c.height, c.width});
                m.floatTensor("w", {c.outChannels, c.inChannels, 1, 1}, weight);
                m.floatTensor("b", {int64_t(bias.size())}, bias);
                m.node("PointwiseConv", {"x", "w", "b"}, {"t0"}, {}, "org.opencv.anomaly");
                for (size_t i = 0; i < chain.ops.size(); ++i) {
                    const std::string in = "t" + std::to_string(i),
                                      out = i + 1 == chain.ops.size() ? "y"
                                                                      : "t" + std::to_string(i + 1);
                    if (chain.ops[i] == "Clip")
                        m.node("Clip", {in},
                               {out},  // OpenCV 4.6 reads Clip's bounds as attributes only
                               {TestAttr::real("min", 0.3f), TestAttr::real("max", 0.6f)});
                    else
                        m.node(chain.ops[i], {in}, {out});
                }
                m.output("y", {-1, c.outChannels, c.height, c.width});
                dnn::Net net = importWithCustomLayers(m);
                net.enableFusion(fusion);
                const Mat x = twinBatch(rng, c.inChannels, c.height, c.width);
                net.setInput(x);
                const Mat y = net.forward();
                Mat ref = directPointwise(x, c, weight, bias);
                double lo = 0, hi = 0;
                cv::minMaxIdx(ref, &lo, &hi);
                ASSERT_LT(lo, -10.0) << "the test would not see the lower tail";
                ASSERT_GT(hi, 10.0) << "the test would not see the upper tail";
                for (auto it = ref.begin<double>(); it != ref.end<double>(); ++it)
                    *it = chain.definition(*it);
                Mat y64;
                y.convertTo(y64, CV_64F);
                const std::string what = chain.ops.front() +
                                         (chain.ops.size() > 1 ? "+" + chain.ops.back() : "") +
                                         (fusion ? ", fusion on" : ", fusion off") +
                                         (optimized ? "" : ", baseline kernel");
                EXPECT_LE(cv::norm(y64, ref, NORM_INF), 1e-6) << what;
                if (fusion) {
                    EXPECT_EQ(ticksOfLayerType(net, "Sigmoid"), 0.0)
                        << what << ": Sigmoid ran alone";
                } else {
                    EXPECT_GT(ticksOfLayerType(net, "Sigmoid"), 0.0) << what;
                }
                if (!chain.runsAlone.empty()) {
                    EXPECT_GT(ticksOfLayerType(net, chain.runsAlone), 0.0) << what;
                }
            }
    setUseOptimized(wasOptimized);
}

TEST(Anomaly_PointwiseConv, reports_two_flops_per_input_channel_and_output)
{
    const PointwiseCase c{3, 5, 4, 6};
    dnn::Net net = importWithCustomLayers(
        pointwiseModel(c, std::vector<float>(15, 1.f), std::vector<float>(5, 0.f)));
    EXPECT_EQ(net.getFLOPS(dnn::MatShape{1, 3, 4, 6}), int64(2 * 3 * 5 * 4 * 6));
}

TEST(Anomaly_PointwiseConv, invalid_weights_and_inputs_raise)
{
    const PointwiseCase good{2, 3, 4, 4};
    const std::vector<float> w6(6, 0.5f), b3(3, 0.f);
    // Import, then one forward of a [1,channels,4,4] input: the channel check needs the input.
    const auto importAndRun = [](const TestModel& m, int channels) {
        dnn::Net net = importWithCustomLayers(m);
        const int shape[] = {1, channels, 4, 4};
        net.setInput(Mat(4, shape, CV_32F, Scalar(1)));
        net.forward();
    };
    ASSERT_NO_THROW(importAndRun(pointwiseModel(good, w6, b3), 2));

    // x [N,2,4,4] -> PointwiseConv with a weight of this shape and a bias of biasSize values
    // (none when 0).
    const auto malformed = [&](std::vector<int64_t> weightShape, int biasSize) {
        TestModel m;
        m.useCustomDomain();
        m.input("x", {-1, 2, 4, 4});
        m.floatTensor("w", weightShape, w6);
        std::vector<std::string> inputs = {"x", "w"};
        if (biasSize > 0) {
            m.floatTensor("b", {biasSize}, std::vector<float>(size_t(biasSize), 0.f));
            inputs.push_back("b");
        }
        m.node("PointwiseConv", inputs, {"y"}, {}, "org.opencv.anomaly");
        m.output("y", {-1, 3, 4, 4});
        return m;
    };
    ASSERT_NO_THROW(importAndRun(malformed({3, 2, 1, 1}, 3), 2)) << "the helper's good case";
    EXPECT_THROW(importAndRun(malformed({3, 2, 1, 1}, 0), 2), cv::Exception) << "no bias";
    EXPECT_THROW(importAndRun(malformed({3, 2, 1, 1}, 2), 2), cv::Exception) << "bias of 2 for 3";
    EXPECT_THROW(importAndRun(malformed({3, 1, 1, 2}, 3), 2), cv::Exception) << "a 1x2 kernel";
    EXPECT_THROW(importAndRun(malformed({3, 2}, 3), 2), cv::Exception) << "a 2-D weight";
    EXPECT_THROW(importAndRun(pointwiseModel(good, w6, b3), 3), cv::Exception)
        << "weight for 2 input channels, input with 3";
}

}  // namespace
}  // namespace opencv_test
