// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.PositionwiseLinear against hand-computed values, its
// definition in double and OpenCV's own 1x1 convolution.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace opencv_test {
namespace {

/** x [N,Cin,H,W] -> PositionwiseLinear(W [Cout,Cin,H,W], B [Cout,H,W]) -> y. */
TestModel positionwiseModel(int in, int out, int height, int width,
                            const std::vector<float>& weight, const std::vector<float>& bias,
                            const std::vector<TestAttr>& attributes = {})
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, in, height, width});
    m.floatTensor("w", {out, in, height, width}, weight);
    m.floatTensor("b", {out, height, width}, bias);
    m.node("PositionwiseLinear", {"x", "w", "b"}, {"y"}, attributes, "org.opencv.anomaly");
    m.output("y", {-1, out, height, width});
    return m;
}

/** x [N,C,H,W] -> PositionwiseLinear(symmetric = 1, W [C(C+1)/2,H,W], B [C,H,W]) -> y. */
TestModel symmetricModel(int channels, int height, int width, const std::vector<float>& packed,
                         const std::vector<float>& bias, int64_t symmetric = 1)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, channels, height, width});
    m.floatTensor("w", {int64_t(packed.size()) / (int64_t(height) * width), height, width}, packed);
    m.floatTensor("b", {channels, height, width}, bias);
    m.node("PositionwiseLinear", {"x", "w", "b"}, {"y"},
           {TestAttr::integer("symmetric", symmetric)}, "org.opencv.anomaly");
    m.output("y", {-1, channels, height, width});
    return m;
}

/** The full [C,C,H,W] weights of an upper triangle stored row by row (o <= c). */
std::vector<float> expandSymmetric(const std::vector<float>& packed, int channels, size_t plane)
{
    std::vector<float> full(size_t(channels) * channels * plane);
    size_t row = 0;
    for (int o = 0; o < channels; ++o)
        for (int c = o; c < channels; ++c, ++row)
            for (size_t p = 0; p < plane; ++p) {
                full[(size_t(o) * channels + c) * plane + p] = packed[row * plane + p];
                full[(size_t(c) * channels + o) * plane + p] = packed[row * plane + p];
            }
    return full;
}

/** Largest |y - definition| over every image, output and position, the definition
bias[o,p] + sum_c weight[o,c,p] x[n,c,p] computed in double (weight [Cout,Cin,plane]). */
double worstDifferenceFromDefinition(const Mat& y, const Mat& x, const std::vector<float>& weight,
                                     const std::vector<float>& bias)
{
    const int in = x.size[1], out = y.size[1];
    const size_t plane = size_t(x.size[2]) * x.size[3];
    double worst = 0;
    for (int n = 0; n < x.size[0]; ++n)
        for (int o = 0; o < out; ++o)
            for (size_t p = 0; p < plane; ++p) {
                double expected = bias[size_t(o) * plane + p];
                for (int c = 0; c < in; ++c)
                    expected +=
                        double(weight[(size_t(o) * in + c) * plane + p]) * x.ptr<float>(n, c)[p];
                worst = std::max(worst, std::abs(y.ptr<float>(n, o)[p] - expected));
            }
    return worst;
}

Mat runModel(const TestModel& m, const Mat& x)
{
    dnn::Net net = importWithCustomLayers(m);
    net.setInput(x, "x");
    return net.forward().clone();
}

TEST(Anomaly_PositionwiseLinear, gives_the_hand_computed_values)
{
    // Two positions, two channels in, one out. Position 0: weights (1, 2), bias 0.5, x (3, 4):
    // 0.5 + 3 + 8 = 11.5. Position 1: weights (-1, 0.25), bias -1, x (2, 8): -1 - 2 + 2 = -1.
    const TestModel m = positionwiseModel(2, 1, 1, 2, {1.f, -1.f, 2.f, 0.25f}, {0.5f, -1.f});
    const int shape[] = {1, 2, 1, 2};
    Mat x(4, shape, CV_32F);
    const float xv[] = {3.f, 2.f, 4.f, 8.f};  // channel 0 at both positions, then channel 1
    std::memcpy(x.ptr<float>(), xv, sizeof(xv));
    const Mat y = runModel(m, x);
    ASSERT_EQ(y.total(), 2u);
    EXPECT_FLOAT_EQ(y.ptr<float>()[0], 11.5f);
    EXPECT_FLOAT_EQ(y.ptr<float>()[1], -1.f);
}

TEST(Anomaly_PositionwiseLinear, matches_its_definition_for_shapes_and_thread_counts)
{
    // One position; planes that fill no vector; planes of several blocks of 512 positions (the
    // last partial); the shapes of the three feature scales of the default backbone.
    const int shapes[][4] = {{1, 1, 1, 1},     {3, 2, 5, 7},     {5, 4, 30, 40},
                             {24, 24, 64, 64}, {40, 40, 32, 32}, {112, 112, 16, 16}};
    RNG rng(83);
    const int threads = getNumThreads();
    for (int t : {1, 3})
        for (const auto& s : shapes) {
            setNumThreads(t);
            const int in = s[0], out = s[1], height = s[2], width = s[3];
            const size_t plane = size_t(height) * width;
            const auto weight = uniformValues(rng, size_t(out) * in * plane, -1.f, 1.f);
            const auto bias = uniformValues(rng, size_t(out) * plane, -1.f, 1.f);
            const Mat x = twinBatch(rng, in, height, width);
            const Mat y = runModel(positionwiseModel(in, out, height, width, weight, bias), x);
            ASSERT_EQ(y.size[1], out);
            const double worst = worstDifferenceFromDefinition(y, x, weight, bias);
            // Sums of up to 113 products of values below 1 and 4.5 in float.
            EXPECT_LE(worst, 1e-4) << in << "->" << out << " on " << height << "x" << width << ", "
                                   << t << " thread(s)";
            EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1), out * plane * sizeof(float)))
                << "the two copies of one image differ";
        }
    setNumThreads(threads);
}

TEST(Anomaly_PositionwiseLinear, symmetric_form_gives_the_hand_computed_values)
{
    // Two channels, two positions; stored rows (0,0), (0,1), (1,1). Position 0: rows (1, 2, 3),
    // bias (0.5, -1), x (1, 10): y0 = 0.5 + 1 + 20 = 21.5, y1 = -1 + 2 + 30 = 31. Position 1:
    // rows (0.5, -1, 0.25), bias (1, 2), x (4, 2): y0 = 1 + 2 - 2 = 1, y1 = 2 - 4 + 0.5 = -1.5.
    const TestModel m =
        symmetricModel(2, 1, 2, {1.f, 0.5f, 2.f, -1.f, 3.f, 0.25f}, {0.5f, 1.f, -1.f, 2.f});
    const int shape[] = {1, 2, 1, 2};
    Mat x(4, shape, CV_32F);
    const float xv[] = {1.f, 4.f, 10.f, 2.f};
    std::memcpy(x.ptr<float>(), xv, sizeof(xv));
    const Mat y = runModel(m, x);
    ASSERT_EQ(y.total(), 4u);
    EXPECT_FLOAT_EQ(y.ptr<float>()[0], 21.5f);
    EXPECT_FLOAT_EQ(y.ptr<float>()[1], 1.f);
    EXPECT_FLOAT_EQ(y.ptr<float>()[2], 31.f);
    EXPECT_FLOAT_EQ(y.ptr<float>()[3], -1.5f);
}

TEST(Anomaly_PositionwiseLinear, symmetric_form_matches_the_full_form_of_its_weights)
{
    // Planes that fill no vector, of several blocks of 64 positions (the last partial), and the
    // three feature scales of the default backbone; against the definition in double with the
    // expanded weights, and against the full-form layer given those weights.
    const int shapes[][3] = {{1, 1, 1},    {3, 5, 7},    {5, 30, 40},
                             {24, 64, 64}, {40, 32, 32}, {112, 16, 16}};
    RNG rng(97);
    const int threads = getNumThreads();
    for (int t : {1, 3})
        for (const auto& s : shapes) {
            setNumThreads(t);
            const int channels = s[0], height = s[1], width = s[2];
            const size_t plane = size_t(height) * width;
            const size_t rows = size_t(channels) * (channels + 1) / 2;
            const auto packed = uniformValues(rng, rows * plane, -1.f, 1.f);
            const auto bias = uniformValues(rng, size_t(channels) * plane, -1.f, 1.f);
            const auto full = expandSymmetric(packed, channels, plane);
            const Mat x = twinBatch(rng, channels, height, width);
            const Mat y = runModel(symmetricModel(channels, height, width, packed, bias), x);
            const Mat reference =
                runModel(positionwiseModel(channels, channels, height, width, full, bias), x);
            ASSERT_EQ(y.size[1], channels);
            const double worst = worstDifferenceFromDefinition(y, x, full, bias);
            EXPECT_LE(worst, 1e-4) << channels << " channels on " << height << "x" << width << ", "
                                   << t << " thread(s)";
            EXPECT_LE(cv::norm(y.reshape(1, 1), reference.reshape(1, 1), NORM_INF), 1e-4);
            EXPECT_EQ(
                0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1), channels * plane * sizeof(float)))
                << "the two copies of one image differ";
        }
    setNumThreads(threads);
}

TEST(Anomaly_PositionwiseLinear, equals_opencvs_1x1_convolution_when_every_position_has_its_weights)
{
    const int in = 6, out = 5, height = 9, width = 11;
    const size_t plane = size_t(height) * width;
    RNG rng(89);
    const auto convWeight = uniformValues(rng, size_t(out) * in, -1.f, 1.f);
    const auto convBias = uniformValues(rng, size_t(out), -1.f, 1.f);
    std::vector<float> weight, bias;
    for (float w : convWeight)
        weight.insert(weight.end(), plane, w);
    for (float b : convBias)
        bias.insert(bias.end(), plane, b);

    TestModel conv;
    conv.input("x", {-1, in, height, width});
    conv.floatTensor("w", {out, in, 1, 1}, convWeight);
    conv.floatTensor("b", {out}, convBias);
    conv.node("Conv", {"x", "w", "b"}, {"y"}, {TestAttr::list("kernel_shape", {1, 1})});
    conv.output("y", {-1, out, height, width});

    const Mat x = twinBatch(rng, in, height, width);
    const Mat expected = runModel(conv, x);
    const Mat y = runModel(positionwiseModel(in, out, height, width, weight, bias), x);
    ASSERT_EQ(y.total(), expected.total());
    EXPECT_LE(cv::norm(y.reshape(1, 1), expected.reshape(1, 1), NORM_INF), 1e-5);
}

TEST(Anomaly_PositionwiseLinear, invalid_inputs_and_weights_raise)
{
    const std::vector<float> weight(2 * 3 * 2 * 2, 1.f), bias(3 * 2 * 2, 0.f);
    const auto run = [](const TestModel& m, std::vector<int> shape) {
        runModel(m, Mat(int(shape.size()), shape.data(), CV_32F, Scalar(1)));
    };
    ASSERT_NO_THROW(run(positionwiseModel(2, 3, 2, 2, weight, bias), {1, 2, 2, 2}));
    EXPECT_THROW(run(positionwiseModel(2, 3, 2, 2, weight, bias), {1, 2, 2, 3}), cv::Exception)
        << "an input plane of another size";
    EXPECT_THROW(run(positionwiseModel(2, 3, 2, 2, weight, bias), {1, 3, 2, 2}), cv::Exception)
        << "an input of other channels";

    std::vector<float> infinite = weight;
    infinite[5] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(run(positionwiseModel(2, 3, 2, 2, infinite, bias), {1, 2, 2, 2}), cv::Exception)
        << "an infinite weight";

    TestModel biasOfAnotherPlane;
    biasOfAnotherPlane.useCustomDomain();
    biasOfAnotherPlane.input("x", {-1, 2, 2, 2});
    biasOfAnotherPlane.floatTensor("w", {3, 2, 2, 2}, weight);
    biasOfAnotherPlane.floatTensor("b", {3, 1, 4}, bias);
    biasOfAnotherPlane.node("PositionwiseLinear", {"x", "w", "b"}, {"y"}, {}, "org.opencv.anomaly");
    biasOfAnotherPlane.output("y", {-1, 3, 2, 2});
    EXPECT_THROW(run(biasOfAnotherPlane, {1, 2, 2, 2}), cv::Exception) << "a bias [3,1,4]";

    TestModel noBias;
    noBias.useCustomDomain();
    noBias.input("x", {-1, 2, 2, 2});
    noBias.floatTensor("w", {3, 2, 2, 2}, weight);
    noBias.node("PositionwiseLinear", {"x", "w"}, {"y"}, {}, "org.opencv.anomaly");
    noBias.output("y", {-1, 3, 2, 2});
    EXPECT_THROW(run(noBias, {1, 2, 2, 2}), cv::Exception) << "no bias";

    // The symmetric form: 3 channels store 6 rows.
    const std::vector<float> packed(6 * 2 * 2, 1.f);
    ASSERT_NO_THROW(run(symmetricModel(3, 2, 2, packed, bias), {1, 3, 2, 2}));
    EXPECT_THROW(run(symmetricModel(3, 2, 2, packed, bias), {1, 2, 2, 2}), cv::Exception)
        << "an input of other channels than the outputs";
    EXPECT_THROW(
        run(symmetricModel(3, 2, 2, std::vector<float>(5 * 2 * 2, 1.f), bias), {1, 3, 2, 2}),
        cv::Exception)
        << "5 stored rows for 3 channels";
    EXPECT_THROW(run(symmetricModel(3, 2, 2, packed, bias, 2), {1, 3, 2, 2}), cv::Exception)
        << "symmetric = 2";
    EXPECT_THROW(
        run(positionwiseModel(2, 3, 2, 2, weight, bias, {TestAttr::integer("symmetric", 1)}),
            {1, 2, 2, 2}),
        cv::Exception)
        << "symmetric with W [Cout,Cin,H,W]";
}

}  // namespace
}  // namespace opencv_test
