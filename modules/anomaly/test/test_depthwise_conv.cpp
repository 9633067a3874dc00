// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.DepthwiseConv against a direct convolution written from its
// definition (doc/model-format.md section 6).
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <array>
#include <cstring>

namespace opencv_test {
namespace {

struct DepthwiseCase
{
    int channels, height, width, kernelH, kernelW, stride;
    std::array<int, 4> pads;  // top, left, bottom, right

    // (A refused stride of 0 is declared as 1 in the test model's output shape.)
    int outH() const { return (height + pads[0] + pads[2] - kernelH) / std::max(stride, 1) + 1; }
    int outW() const { return (width + pads[1] + pads[3] - kernelW) / std::max(stride, 1) + 1; }
};

std::ostream& operator<<(std::ostream& os, const DepthwiseCase& c)
{
    return os << c.channels << "x" << c.height << "x" << c.width << " kernel " << c.kernelH << "x"
              << c.kernelW << " stride " << c.stride << " pads " << c.pads[0] << "," << c.pads[1]
              << "," << c.pads[2] << "," << c.pads[3];
}

/** x -> DepthwiseConv(w, b) [-> activation] -> y. */
TestModel depthwiseModel(const DepthwiseCase& c, const std::vector<float>& weight,
                         const std::vector<float>& bias, const std::string& activation = "",
                         const std::string& activationDomain = "")
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.channels, c.height, c.width});
    m.floatTensor("w", {c.channels, 1, c.kernelH, c.kernelW}, weight);
    m.floatTensor("b", {int64_t(bias.size())}, bias);
    const std::vector<int64_t> pads(c.pads.begin(), c.pads.end());
    m.node("DepthwiseConv", {"x", "w", "b"}, {activation.empty() ? "y" : "conv"},
           {TestAttr::integer("stride", c.stride), TestAttr::list("padding", pads)},
           "org.opencv.anomaly");
    if (!activation.empty())
        m.node(activation, {"conv"}, {"y"}, {}, activationDomain);
    m.output("y", {-1, c.channels, c.outH(), c.outW()});
    return m;
}

/** The definition: out[n,c,i,j] = b[c] + sum over (u,v) of w[c,u,v] * x[n,c, i*s - top + u,
j*s - left + v], the input taken as 0 outside its plane; computed in double. */
Mat directDepthwise(const Mat& x, const DepthwiseCase& c, const std::vector<float>& weight,
                    const std::vector<float>& bias)
{
    const int batch = x.size[0];
    const int shape[] = {batch, c.channels, c.outH(), c.outW()};
    Mat out(4, shape, CV_64F);
    for (int n = 0; n < batch; ++n)
        for (int ch = 0; ch < c.channels; ++ch)
            for (int i = 0; i < c.outH(); ++i)
                for (int j = 0; j < c.outW(); ++j) {
                    double acc = bias[ch];
                    for (int u = 0; u < c.kernelH; ++u)
                        for (int v = 0; v < c.kernelW; ++v) {
                            const int yi = i * c.stride - c.pads[0] + u;
                            const int xj = j * c.stride - c.pads[1] + v;
                            if (yi < 0 || yi >= c.height || xj < 0 || xj >= c.width)
                                continue;
                            acc += double(weight[(ch * c.kernelH + u) * c.kernelW + v]) *
                                   x.at<float>(Vec4i(n, ch, yi, xj));
                        }
                    out.at<double>(Vec4i(n, ch, i, j)) = acc;
                }
    return out;
}

TEST(Anomaly_DepthwiseConv, matches_the_direct_convolution_for_kernels_strides_and_paddings)
{
    // Output widths 15 and 29 make the two-vector loop, the one-vector loop and the scalar tail
    // all run at 4 and at 8 lanes; 9 rows of width 70 run a 3x3 kernel one row at a time and a
    // 5x5 kernel in groups of four rows plus one; the stride-2 cases use TensorFlow "SAME" padding
    // (one pixel more at the bottom/right), as EfficientNet-Lite does, plus stride-2 rows with an
    // odd left pad (the input's even and odd columns trade phases), a left pad of 2, odd widths,
    // and a last input column that no output reads (2x2 kernel on a width of 9).
    const DepthwiseCase cases[] = {
        {2, 7, 19, 3, 3, 2, {1, 1, 1, 1}},  {2, 7, 33, 5, 5, 2, {2, 2, 2, 2}},
        {2, 6, 9, 2, 2, 2, {0, 0, 0, 0}},   {3, 7, 15, 3, 3, 1, {1, 1, 1, 1}},
        {5, 9, 29, 5, 5, 1, {2, 2, 2, 2}},  {4, 20, 30, 5, 5, 2, {1, 1, 2, 2}},
        {3, 16, 58, 3, 3, 2, {0, 0, 1, 1}}, {2, 6, 17, 3, 5, 1, {1, 2, 1, 2}},
        {2, 5, 31, 3, 3, 3, {1, 1, 1, 1}},  {3, 4, 15, 1, 1, 1, {0, 0, 0, 0}},
        {2, 8, 16, 3, 3, 1, {0, 0, 0, 0}},  {2, 9, 70, 3, 3, 1, {1, 1, 1, 1}},
        {2, 9, 70, 5, 5, 1, {2, 2, 2, 2}},
    };
    RNG rng(21);
    // The baseline kernel, and the AVX2 kernel where the build and the CPU have it.
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (const DepthwiseCase& c : cases) {
            setUseOptimized(optimized);
            const auto weight =
                uniformValues(rng, size_t(c.channels) * c.kernelH * c.kernelW, -1, 1);
            const auto bias = uniformValues(rng, size_t(c.channels), -1, 1);
            dnn::Net net = importWithCustomLayers(depthwiseModel(c, weight, bias));
            const Mat x = twinBatch(rng, c.channels, c.height, c.width);
            net.setInput(x);
            const Mat y = net.forward();
            ASSERT_EQ(y.dims, 4) << c;
            ASSERT_EQ(y.size[2], c.outH()) << c;
            ASSERT_EQ(y.size[3], c.outW()) << c;
            Mat y64;
            y.convertTo(y64, CV_64F);
            // At most 25 products of values below 4 in size: float rounding stays far below 1e-4.
            EXPECT_LE(cv::norm(y64, directDepthwise(x, c, weight, bias), NORM_INF), 1e-4)
                << c << (optimized ? "" : ", baseline kernel");
            EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1),
                                     size_t(c.channels) * c.outH() * c.outW() * sizeof(float)))
                << c << ": the two copies of one image differ";
        }
    setUseOptimized(wasOptimized);
}

TEST(Anomaly_DepthwiseConv, a_following_relu6_or_relu_is_fused_and_clamps)
{
    const DepthwiseCase c{4, 9, 18, 5, 5, 1, {2, 2, 2, 2}};
    RNG rng(22);
    // Weights and biases wide enough that outputs fall below 0, inside [0, 6] and above 6.
    const auto weight = uniformValues(rng, size_t(c.channels) * 25, -1.5f, 1.5f);
    const auto bias = uniformValues(rng, size_t(c.channels), -1.f, 4.f);
    expectReluFusionClamps(
        [&](const std::string& op, const std::string& domain) {
            return depthwiseModel(c, weight, bias, op, domain);
        },
        [&] { return twinBatch(rng, c.channels, c.height, c.width); },
        [&](const Mat& x) { return directDepthwise(x, c, weight, bias); });
}

TEST(Anomaly_DepthwiseConv, reports_two_flops_per_tap_and_output)
{
    const DepthwiseCase c{3, 8, 8, 3, 3, 2, {1, 1, 1, 1}};  // output 3 x 4 x 4
    dnn::Net net =
        importWithCustomLayers(depthwiseModel(c, std::vector<float>(27, 1.f), {0.f, 0.f, 0.f}));
    EXPECT_EQ(net.getFLOPS(dnn::MatShape{1, 3, 8, 8}), int64(2 * 3 * 4 * 4 * 9));
}

TEST(Anomaly_DepthwiseConv, invalid_weights_attributes_and_inputs_raise)
{
    const DepthwiseCase good{2, 6, 6, 3, 3, 1, {1, 1, 1, 1}};
    const std::vector<float> w18(18, 0.5f), b2(2, 0.f);
    ASSERT_NO_THROW(importWithCustomLayers(depthwiseModel(good, w18, b2)));

    // Import, then one forward of a [1,C,h,w] input: some checks need the input's shape.
    const auto importAndRun = [](const TestModel& m, int channels, int size) {
        dnn::Net net = importWithCustomLayers(m);
        const int shape[] = {1, channels, size, size};
        net.setInput(Mat(4, shape, CV_32F, Scalar(1)));
        net.forward();
    };
    const auto expectRefused = [&](const TestModel& m, const char* why) {
        EXPECT_THROW(importAndRun(m, 2, 6), cv::Exception) << why;
    };
    expectRefused(depthwiseModel(good, w18, {0.f, 0.f, 0.f}), "bias of 3 values for 2 kernels");
    DepthwiseCase c = good;
    c.stride = 0;
    expectRefused(depthwiseModel(c, w18, b2), "stride 0");
    c = good;
    c.pads = {3, 1, 1, 1};
    expectRefused(depthwiseModel(c, w18, b2), "padding as large as the kernel");
    c = good;
    c.pads = {1, -1, 1, 1};
    expectRefused(depthwiseModel(c, w18, b2), "negative padding");

    // x [N,2,6,6] -> DepthwiseConv with a weight of this shape, a bias of biasSize values (none
    // when 0) and these attributes.
    const auto malformed = [&](std::vector<int64_t> weightShape, int biasSize,
                               std::vector<TestAttr> attributes) {
        TestModel m;
        m.useCustomDomain();
        m.input("x", {-1, 2, 6, 6});
        m.floatTensor("w", weightShape, w18);
        std::vector<std::string> inputs = {"x", "w"};
        if (biasSize > 0) {
            m.floatTensor("b", {biasSize}, std::vector<float>(size_t(biasSize), 0.f));
            inputs.push_back("b");
        }
        m.node("DepthwiseConv", inputs, {"y"}, attributes, "org.opencv.anomaly");
        m.output("y", {-1, 2, 6, 6});
        return m;
    };
    expectRefused(malformed({1, 2, 3, 3}, 1, {}), "weight with 2 input channels per kernel");
    expectRefused(malformed({2, 1, 3, 3}, 0, {}), "no bias");
    expectRefused(malformed({2, 1, 3, 3}, 2, {TestAttr::list("padding", {1, 1, 1})}),
                  "padding with 3 values");
    ASSERT_NO_THROW(
        importAndRun(malformed({2, 1, 3, 3}, 2, {TestAttr::list("padding", {1, 1, 1, 1})}), 2, 6))
        << "the helper's well-formed case";

    EXPECT_THROW(importAndRun(depthwiseModel(good, w18, b2), 3, 6), cv::Exception)
        << "kernels for 2 channels, input with 3";
    c = good;
    c.pads = {0, 0, 0, 0};
    EXPECT_THROW(importAndRun(depthwiseModel(c, w18, b2), 2, 2), cv::Exception)
        << "a 2x2 input is smaller than the unpadded 3x3 kernel";
}

}  // namespace
}  // namespace opencv_test
