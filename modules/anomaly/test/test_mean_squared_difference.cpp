// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.MeanSquaredDifference against hand-computed values and its
// definition in double.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace opencv_test {
namespace {

/** a [N,C,H,W] (, b) -> MeanSquaredDifference(scale) -> y [N,1,H,W]. */
TestModel squaresModel(int channels, int height, int width, bool withB, float scale)
{
    TestModel m;
    m.useCustomDomain();
    m.input("a", {-1, channels, height, width});
    std::vector<std::string> inputs = {"a"};
    if (withB) {
        m.input("b", {-1, channels, height, width});
        inputs.push_back("b");
    }
    m.node("MeanSquaredDifference", inputs, {"y"}, {TestAttr::real("scale", scale)},
           "org.opencv.anomaly");
    m.output("y", {-1, 1, height, width});
    return m;
}

Mat runSquares(const TestModel& m, const Mat& a, const Mat* b)
{
    dnn::Net net = importWithCustomLayers(m);
    net.setInput(a, "a");
    if (b)
        net.setInput(*b, "b");
    return net.forward().clone();
}

TEST(Anomaly_MeanSquaredDifference, gives_the_hand_computed_values)
{
    // One pixel, three channels: a = (1, 2, 4), b = (0, 4, 1): squares 1, 4, 9, mean 14/3.
    const int shape[] = {1, 3, 1, 1};
    Mat a(4, shape, CV_32F), b(4, shape, CV_32F);
    const float av[] = {1.f, 2.f, 4.f}, bv[] = {0.f, 4.f, 1.f};
    std::memcpy(a.ptr<float>(), av, sizeof(av));
    std::memcpy(b.ptr<float>(), bv, sizeof(bv));
    EXPECT_NEAR(runSquares(squaresModel(3, 1, 1, true, 1.f), a, &b).at<float>(0), 14.f / 3, 1e-6);
    // Without b and scaled by 0.5: 0.5 * (1 + 4 + 16) / 3 = 3.5.
    EXPECT_NEAR(runSquares(squaresModel(3, 1, 1, false, 0.5f), a, nullptr).at<float>(0), 3.5f,
                1e-6);
}

TEST(Anomaly_MeanSquaredDifference, matches_its_definition_for_shapes_and_thread_counts)
{
    // A plane of one pixel; planes that fill no vector; planes of several blocks of 4096 pixels
    // (the last partial), the 64x64 maps of the models.
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {24, 64, 64}, {2, 70, 90}, {112, 16, 16}};
    RNG rng(61);
    const int threads = getNumThreads();
    for (int t : {1, 3})
        for (const auto& s : shapes)
            for (bool withB : {false, true}) {
                setNumThreads(t);
                const int channels = s[0], height = s[1], width = s[2];
                const float scale = withB ? 1.f : 0.5f;
                const Mat a = twinBatch(rng, channels, height, width);
                const Mat b = twinBatch(rng, channels, height, width);
                const Mat y = runSquares(squaresModel(channels, height, width, withB, scale), a,
                                         withB ? &b : nullptr);
                ASSERT_EQ(y.size[1], 1);
                const size_t plane = size_t(height) * width;
                double worst = 0;
                for (int n = 0; n < 2; ++n)
                    for (size_t p = 0; p < plane; ++p) {
                        double sum = 0;
                        for (int c = 0; c < channels; ++c) {
                            const double d = double(a.ptr<float>(n, c)[p]) -
                                             (withB ? double(b.ptr<float>(n, c)[p]) : 0.0);
                            sum += d * d;
                        }
                        const double expected = scale * sum / channels;
                        worst = std::max(worst, std::abs(y.ptr<float>(n)[p] - expected) /
                                                    std::max(1.0, expected));
                    }
                // Sums of up to 112 squares in float: relative rounding far below 1e-5.
                EXPECT_LE(worst, 1e-5)
                    << channels << "x" << height << "x" << width
                    << (withB ? " with b" : " without b") << ", " << t << " thread(s)";
                EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1), plane * sizeof(float)))
                    << "the two copies of one image differ";
            }
    setNumThreads(threads);
}

TEST(Anomaly_MeanSquaredDifference, invalid_inputs_and_scales_raise)
{
    const auto run = [](const TestModel& m, std::vector<int> aShape, std::vector<int> bShape) {
        dnn::Net net = importWithCustomLayers(m);
        net.setInput(Mat(int(aShape.size()), aShape.data(), CV_32F, Scalar(1)), "a");
        if (!bShape.empty())
            net.setInput(Mat(int(bShape.size()), bShape.data(), CV_32F, Scalar(1)), "b");
        net.forward();
    };
    ASSERT_NO_THROW(run(squaresModel(2, 3, 3, true, 1.f), {1, 2, 3, 3}, {1, 2, 3, 3}));
    EXPECT_THROW(run(squaresModel(2, 3, 3, true, 1.f), {1, 2, 3, 3}, {1, 2, 3, 4}), cv::Exception)
        << "b of another shape";
    EXPECT_THROW(
        run(squaresModel(2, 3, 3, false, std::numeric_limits<float>::infinity()), {1, 2, 3, 3}, {}),
        cv::Exception)
        << "an infinite scale";

    TestModel withInitializer;
    withInitializer.useCustomDomain();
    withInitializer.input("a", {-1, 2, 3, 3});
    withInitializer.floatTensor("w", {2}, {1.f, 2.f});
    withInitializer.node("MeanSquaredDifference", {"a", "w"}, {"y"}, {}, "org.opencv.anomaly");
    withInitializer.output("y", {-1, 1, 3, 3});
    EXPECT_THROW(run(withInitializer, {1, 2, 3, 3}, {}), cv::Exception) << "an initializer";

    TestModel flat;
    flat.useCustomDomain();
    flat.input("a", {-1, 6});
    flat.node("MeanSquaredDifference", {"a"}, {"y"}, {}, "org.opencv.anomaly");
    flat.output("y", {-1, 1});
    EXPECT_THROW(run(flat, {1, 6}, {}), cv::Exception) << "a 2-D input";
}

}  // namespace
}  // namespace opencv_test
