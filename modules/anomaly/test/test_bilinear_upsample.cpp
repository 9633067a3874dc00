// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.BilinearUpsample against hand-computed values, its definition
// (ONNX Resize, linear, half_pixel) in double, and OpenCV's own Resize layer on the same input.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <cmath>
#include <cstring>

namespace opencv_test {
namespace {

struct UpsampleCase
{
    int channels, height, width, factor;
};

std::ostream& operator<<(std::ostream& os, const UpsampleCase& c)
{
    return os << c.channels << "x" << c.height << "x" << c.width << " factor " << c.factor;
}

/** x [N,C,H,W] -> BilinearUpsample(factor) -> y. */
TestModel upsampleModel(const UpsampleCase& c)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.channels, c.height, c.width});
    m.node("BilinearUpsample", {"x"}, {"y"}, {TestAttr::integer("factor", c.factor)},
           "org.opencv.anomaly");
    m.output("y", {-1, c.channels, c.height * c.factor, c.width * c.factor});
    return m;
}

/** The same upsampling as the standard ONNX Resize node it stands for, run by OpenCV's layer. */
TestModel resizeModel(const UpsampleCase& c)
{
    TestModel m;
    m.input("x", {-1, c.channels, c.height, c.width});
    m.floatTensor("roi", {0}, {});
    const float f = float(c.factor);
    m.floatTensor("scales", {4}, {1.f, 1.f, f, f});
    m.node("Resize", {"x", "roi", "scales"}, {"y"},
           {TestAttr::string("mode", "linear"),
            TestAttr::string("coordinate_transformation_mode", "half_pixel")});
    m.output("y", {-1, c.channels, c.height * c.factor, c.width * c.factor});
    return m;
}

/** Where output index o of an axis of n inputs reads in ONNX Resize's half_pixel mode: the
coordinate (o + 0.5) / f - 0.5, clamped to [0, n - 1], split into a lower index and a weight. */
void sourceCoordinate(int o, int n, int f, int& lower, int& upper, double& weight)
{
    double s = (o + 0.5) / f - 0.5;
    s = std::min(std::max(s, 0.0), double(n - 1));
    lower = int(std::floor(s));
    upper = std::min(lower + 1, n - 1);
    weight = s - lower;
}

Mat directUpsample(const Mat& x, const UpsampleCase& c)
{
    const int batch = x.size[0], outH = c.height * c.factor, outW = c.width * c.factor;
    const int shape[] = {batch, c.channels, outH, outW};
    Mat out(4, shape, CV_64F);
    for (int n = 0; n < batch; ++n)
        for (int ch = 0; ch < c.channels; ++ch)
            for (int i = 0; i < outH; ++i)
                for (int j = 0; j < outW; ++j) {
                    int y0, y1, x0, x1;
                    double wy, wx;
                    sourceCoordinate(i, c.height, c.factor, y0, y1, wy);
                    sourceCoordinate(j, c.width, c.factor, x0, x1, wx);
                    const auto at = [&](int yy, int xx) {
                        return double(x.at<float>(Vec4i(n, ch, yy, xx)));
                    };
                    out.at<double>(Vec4i(n, ch, i, j)) =
                        (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) +
                        wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
                }
    return out;
}

TEST(Anomaly_BilinearUpsample, doubles_a_2x2_plane_to_the_hand_computed_values)
{
    dnn::Net net = importWithCustomLayers(upsampleModel({1, 2, 2, 2}));
    const int shape[] = {1, 1, 2, 2};
    Mat x(4, shape, CV_32F);
    const float values[] = {0.f, 1.f, 2.f, 3.f};
    std::memcpy(x.ptr<float>(), values, sizeof(values));
    net.setInput(x);
    const Mat y = net.forward();
    ASSERT_EQ(y.total(), 16u);
    // Coordinates of the four output columns (and rows): -0.25 -> 0, 0.25, 0.75, 1.25 -> 1.
    const float expected[] = {0.f,  0.25f, 0.75f, 1.f,  0.5f, 0.75f, 1.25f, 1.5f,
                              1.5f, 1.75f, 2.25f, 2.5f, 2.f,  2.25f, 2.75f, 3.f};
    for (int i = 0; i < 16; ++i)
        EXPECT_NEAR(y.ptr<float>()[i], expected[i], 1e-6) << "output " << i;
}

TEST(Anomaly_BilinearUpsample, matches_its_definition_and_opencvs_resize_layer)
{
    // A 1x1 plane; factor 1 (a copy); odd sizes and factors; a single map split into bands of
    // rows (an output width of 128 gives bands of 16 rows; one of 90 bands of 22 rows, the last
    // shorter); the 16x16 -> 64x64 and 32x32 -> 64x64 maps of the models.
    const UpsampleCase cases[] = {{2, 1, 1, 3},   {3, 4, 5, 1},   {2, 5, 7, 3},   {1, 3, 2, 7},
                                  {1, 64, 64, 2}, {1, 33, 45, 2}, {3, 16, 16, 4}, {2, 32, 32, 2}};
    RNG rng(41);
    const int threads = getNumThreads();
    for (int t : {1, 3})
        for (const UpsampleCase& c : cases) {
            setNumThreads(t);
            const Mat x = twinBatch(rng, c.channels, c.height, c.width);
            dnn::Net net = importWithCustomLayers(upsampleModel(c));
            net.setInput(x);
            const Mat y = net.forward();
            ASSERT_EQ(y.dims, 4) << c;
            ASSERT_EQ(y.size[2], c.height * c.factor) << c;
            ASSERT_EQ(y.size[3], c.width * c.factor) << c;
            Mat y64;
            y.convertTo(y64, CV_64F);
            // Two blends of normal values in float: rounding far below 1e-5.
            EXPECT_LE(cv::norm(y64, directUpsample(x, c), NORM_INF), 1e-5)
                << c << ", " << t << " thread(s)";
            dnn::Net resize = dnn::readNetFromONNX(resizeModel(c).serialize());
            resize.setInput(x);
            EXPECT_LE(cv::norm(y, resize.forward(), NORM_INF), 1e-5)
                << c << ": against OpenCV's Resize layer";
            const size_t perImage = y.total() / 2 * sizeof(float);
            EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1), perImage))
                << c << ": the two copies of one image differ";
        }
    setNumThreads(threads);
}

TEST(Anomaly_BilinearUpsample, invalid_factors_initializers_and_inputs_raise)
{
    const auto importAndRun = [](const TestModel& m, std::vector<int> shape) {
        dnn::Net net = importWithCustomLayers(m);
        net.setInput(Mat(int(shape.size()), shape.data(), CV_32F, Scalar(1)));
        net.forward();
    };
    ASSERT_NO_THROW(importAndRun(upsampleModel({2, 3, 3, 2}), {1, 2, 3, 3}));
    EXPECT_THROW(importAndRun(upsampleModel({2, 3, 3, 0}), {1, 2, 3, 3}), cv::Exception)
        << "factor 0";
    EXPECT_THROW(importAndRun(upsampleModel({2, 3, 3, -2}), {1, 2, 3, 3}), cv::Exception)
        << "negative factor";
    EXPECT_THROW(importAndRun(upsampleModel({2, 3, 3, 65}), {1, 2, 3, 3}), cv::Exception)
        << "factor above 64";

    TestModel noFactor;
    noFactor.useCustomDomain();
    noFactor.input("x", {-1, 2, 3, 3});
    noFactor.node("BilinearUpsample", {"x"}, {"y"}, {}, "org.opencv.anomaly");
    noFactor.output("y", {-1, 2, 6, 6});
    EXPECT_THROW(importAndRun(noFactor, {1, 2, 3, 3}), cv::Exception) << "no factor";

    TestModel withInitializer;
    withInitializer.useCustomDomain();
    withInitializer.input("x", {-1, 2, 3, 3});
    withInitializer.floatTensor("w", {2}, {1.f, 2.f});
    withInitializer.node("BilinearUpsample", {"x", "w"}, {"y"}, {TestAttr::integer("factor", 2)},
                         "org.opencv.anomaly");
    withInitializer.output("y", {-1, 2, 6, 6});
    EXPECT_THROW(importAndRun(withInitializer, {1, 2, 3, 3}), cv::Exception) << "an initializer";

    TestModel flat;
    flat.useCustomDomain();
    flat.input("x", {-1, 6});
    flat.node("BilinearUpsample", {"x"}, {"y"}, {TestAttr::integer("factor", 2)},
              "org.opencv.anomaly");
    flat.output("y", {-1, 12});
    EXPECT_THROW(importAndRun(flat, {1, 6}), cv::Exception) << "a 2-D input";
}

}  // namespace
}  // namespace opencv_test
