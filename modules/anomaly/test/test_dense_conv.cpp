// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.DenseConv against a direct convolution written from its
// definition (doc/model-format.md section 6).
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <array>
#include <cstring>

namespace opencv_test {
namespace {

struct DenseCase
{
    int inChannels, outChannels, height, width, kernelH, kernelW, stride;
    std::array<int, 4> pads;  // top, left, bottom, right

    // (A refused stride of 0 is declared as 1 in the test model's output shape.)
    int outH() const { return (height + pads[0] + pads[2] - kernelH) / std::max(stride, 1) + 1; }
    int outW() const { return (width + pads[1] + pads[3] - kernelW) / std::max(stride, 1) + 1; }
};

std::ostream& operator<<(std::ostream& os, const DenseCase& c)
{
    return os << c.inChannels << "->" << c.outChannels << " on " << c.height << "x" << c.width
              << " kernel " << c.kernelH << "x" << c.kernelW << " stride " << c.stride << " pads "
              << c.pads[0] << "," << c.pads[1] << "," << c.pads[2] << "," << c.pads[3];
}

/** x -> DenseConv(w, b) [-> activation] -> y. */
TestModel denseModel(const DenseCase& c, const std::vector<float>& weight,
                     const std::vector<float>& bias, const std::string& activation = "",
                     const std::string& activationDomain = "")
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.inChannels, c.height, c.width});
    m.floatTensor("w", {c.outChannels, c.inChannels, c.kernelH, c.kernelW}, weight);
    m.floatTensor("b", {int64_t(bias.size())}, bias);
    const std::vector<int64_t> pads(c.pads.begin(), c.pads.end());
    m.node("DenseConv", {"x", "w", "b"}, {activation.empty() ? "y" : "conv"},
           {TestAttr::integer("stride", c.stride), TestAttr::list("padding", pads)},
           "org.opencv.anomaly");
    if (!activation.empty())
        m.node(activation, {"conv"}, {"y"}, {}, activationDomain);
    m.output("y", {-1, c.outChannels, c.outH(), c.outW()});
    return m;
}

/** The definition: y[n,o,i,j] = b[o] + sum over (c,u,v) of w[o,c,u,v] * x[n,c,i*s-top+u,
j*s-left+v], the input taken as 0 outside its plane; computed in double. */
Mat directDense(const Mat& x, const DenseCase& c, const std::vector<float>& weight,
                const std::vector<float>& bias)
{
    const int batch = x.size[0];
    const int shape[] = {batch, c.outChannels, c.outH(), c.outW()};
    Mat out(4, shape, CV_64F);
    for (int n = 0; n < batch; ++n)
        for (int o = 0; o < c.outChannels; ++o)
            for (int i = 0; i < c.outH(); ++i)
                for (int j = 0; j < c.outW(); ++j) {
                    double acc = bias[size_t(o)];
                    for (int ch = 0; ch < c.inChannels; ++ch)
                        for (int u = 0; u < c.kernelH; ++u)
                            for (int v = 0; v < c.kernelW; ++v) {
                                const int yi = i * c.stride - c.pads[0] + u;
                                const int xj = j * c.stride - c.pads[1] + v;
                                if (yi < 0 || yi >= c.height || xj < 0 || xj >= c.width)
                                    continue;
                                acc += double(weight[size_t(
                                           ((o * c.inChannels + ch) * c.kernelH + u) * c.kernelW +
                                           v)]) *
                                       x.at<float>(Vec4i(n, ch, yi, xj));
                            }
                    out.at<double>(Vec4i(n, o, i, j)) = acc;
                }
    return out;
}

TEST(Anomaly_DenseConv, matches_the_direct_convolution_for_kernels_strides_and_paddings)
{
    // EfficientNet-Lite0's stem (3 -> 32, 3x3, stride 2, TensorFlow "SAME": padding only at the
    // bottom and right) on an odd plane; symmetric padding; a 5x5 kernel; a patch embedding
    // (kernel = stride = 4, no padding); a 1x1 kernel with a stride; one channel; planes whose
    // output rows do not fill whole panels; more output channels than one strip.
    const DenseCase cases[] = {
        {3, 32, 17, 17, 3, 3, 2, {0, 0, 1, 1}}, {3, 32, 32, 32, 3, 3, 2, {0, 0, 1, 1}},
        {4, 7, 9, 6, 3, 3, 1, {1, 1, 1, 1}},    {2, 5, 8, 11, 5, 5, 1, {2, 2, 2, 2}},
        {6, 13, 16, 16, 4, 4, 4, {0, 0, 0, 0}}, {5, 3, 7, 9, 1, 1, 2, {0, 0, 0, 0}},
        {1, 1, 5, 5, 3, 3, 1, {1, 1, 1, 1}},    {8, 40, 6, 20, 3, 1, 1, {1, 0, 1, 0}},
    };
    RNG rng(51);
    // The baseline kernel, and the AVX2 kernel where the build and the CPU have it.
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (const DenseCase& c : cases) {
            setUseOptimized(optimized);
            const auto weight = uniformValues(
                rng, size_t(c.outChannels) * c.inChannels * c.kernelH * c.kernelW, -1.f, 1.f);
            const auto bias = uniformValues(rng, size_t(c.outChannels), -1.f, 1.f);
            dnn::Net net = importWithCustomLayers(denseModel(c, weight, bias));
            const Mat x = twinBatch(rng, c.inChannels, c.height, c.width);
            net.setInput(x);
            const Mat y = net.forward();
            ASSERT_EQ(y.dims, 4) << c;
            ASSERT_EQ(y.size[1], c.outChannels) << c;
            ASSERT_EQ(y.size[2], c.outH()) << c;
            ASSERT_EQ(y.size[3], c.outW()) << c;
            Mat y64;
            y.convertTo(y64, CV_64F);
            // At most 200 products of a weight below 1 and a normal value.
            EXPECT_LE(cv::norm(y64, directDense(x, c, weight, bias), NORM_INF), 1e-4)
                << c << (optimized ? "" : ", baseline kernel");
            EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1),
                                     size_t(c.outChannels) * c.outH() * c.outW() * sizeof(float)))
                << c << ": the two copies of one image differ";
        }
    setUseOptimized(wasOptimized);
}

TEST(Anomaly_DenseConv, a_following_relu6_or_relu_is_fused_and_clamps)
{
    const DenseCase c{3, 8, 9, 9, 3, 3, 2, {0, 0, 1, 1}};
    RNG rng(52);
    // Weights and biases wide enough that outputs fall below 0, inside [0, 6] and above 6.
    const auto weight = uniformValues(rng, size_t(c.outChannels) * 27, -1.5f, 1.5f);
    const auto bias = uniformValues(rng, size_t(c.outChannels), -1.f, 4.f);
    expectReluFusionClamps(
        [&](const std::string& op, const std::string& domain) {
            return denseModel(c, weight, bias, op, domain);
        },
        [&] { return twinBatch(rng, c.inChannels, c.height, c.width); },
        [&](const Mat& x) { return directDense(x, c, weight, bias); });
}

TEST(Anomaly_DenseConv, reports_two_flops_per_kernel_input_and_output)
{
    const DenseCase c{3, 5, 8, 8, 3, 3, 2, {0, 0, 1, 1}};  // 4x4 outputs
    dnn::Net net = importWithCustomLayers(
        denseModel(c, std::vector<float>(5 * 27, 0.1f), std::vector<float>(5, 0.f)));
    EXPECT_EQ(net.getFLOPS(dnn::MatShape{1, 3, 8, 8}), int64(2 * 5 * 16 * 27));
}

TEST(Anomaly_DenseConv, invalid_weights_attributes_and_inputs_raise)
{
    const DenseCase good{2, 3, 6, 6, 3, 3, 1, {1, 1, 1, 1}};
    const std::vector<float> weight(3 * 2 * 9, 0.1f), bias(3, 0.f);
    const auto importAndRun = [](const TestModel& m, int channels) {
        dnn::Net net = importWithCustomLayers(m);
        const int shape[] = {1, channels, 6, 6};
        net.setInput(Mat(4, shape, CV_32F, Scalar(1)));
        net.forward();
    };
    ASSERT_NO_THROW(importAndRun(denseModel(good, weight, bias), 2));

    DenseCase c = good;
    c.stride = 0;
    EXPECT_THROW(importAndRun(denseModel(c, weight, bias), 2), cv::Exception) << "stride 0";
    c = good;
    c.pads = {3, 1, 1, 1};
    EXPECT_THROW(importAndRun(denseModel(c, weight, bias), 2), cv::Exception) << "pad = kernel";
    EXPECT_THROW(importAndRun(denseModel(good, weight, {0.f, 0.f}), 2), cv::Exception)
        << "bias of 2 values for 3 outputs";
    EXPECT_THROW(importAndRun(denseModel(good, weight, bias), 3), cv::Exception)
        << "input of 3 channels for a weight of 2";
    // No bias initializer at all.
    TestModel noBias;
    noBias.useCustomDomain();
    noBias.input("x", {-1, 2, 6, 6});
    noBias.floatTensor("w", {3, 2, 3, 3}, weight);
    noBias.node("DenseConv", {"x", "w"}, {"y"}, {}, "org.opencv.anomaly");
    noBias.output("y", {-1, 3, 4, 4});
    EXPECT_THROW(importAndRun(noBias, 2), cv::Exception) << "no bias";
    // A kernel larger than the padded input.
    const DenseCase big{2, 3, 6, 6, 7, 7, 1, {0, 0, 0, 0}};
    EXPECT_THROW(importAndRun(denseModel(big, std::vector<float>(3 * 2 * 49, 0.1f), bias), 2),
                 cv::Exception)
        << "kernel larger than the input";
}

}  // namespace
}  // namespace opencv_test
