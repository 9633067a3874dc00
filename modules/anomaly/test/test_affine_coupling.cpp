// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.AffineCoupling against its definition written out in double
// (doc/model-format.md section 6) and against the chain of separate layers it replaces.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <cmath>
#include <cstring>
#include <numeric>

namespace opencv_test {
namespace {

struct CouplingCase
{
    int channels, kernel, height, width;
    int split() const { return (channels + 1) / 2; }
    int rest() const { return channels - split(); }
};

std::ostream& operator<<(std::ostream& os, const CouplingCase& c)
{
    return os << c.channels << " channels, " << c.kernel << "x" << c.kernel << " on " << c.height
              << "x" << c.width;
}

struct CouplingWeights
{
    std::vector<float> depthwise, depthwiseBias, project, projectBias, scale, bias;
    std::vector<int64_t> perm;
    float clamp = 2.f, slope = 0.1f;
};

CouplingWeights randomWeights(RNG& rng, const CouplingCase& c)
{
    CouplingWeights w;
    const size_t s = size_t(c.split()), r = size_t(c.rest()), k2 = size_t(c.kernel * c.kernel);
    w.depthwise = uniformValues(rng, s * k2, -1.f, 1.f);
    w.depthwiseBias = uniformValues(rng, s, -0.5f, 0.5f);
    // Log-scales up to about +-3 before the soft clamp, so tanh saturates for some values.
    w.project = uniformValues(rng, 2 * r * s, -1.5f, 1.5f);
    w.projectBias = uniformValues(rng, 2 * r, -0.5f, 0.5f);
    w.scale = uniformValues(rng, size_t(c.channels), 0.5f, 1.5f);
    w.bias = uniformValues(rng, size_t(c.channels), -0.5f, 0.5f);
    w.perm.resize(size_t(c.channels));
    std::iota(w.perm.begin(), w.perm.end(), 0);
    for (size_t i = w.perm.size(); i > 1; --i)
        std::swap(w.perm[i - 1], w.perm[size_t(rng.uniform(0, int(i)))]);
    return w;
}

/** Shapes from the value counts, so that a test can give inconsistent ones. */
void addInitializers(TestModel& m, const CouplingCase& c, const CouplingWeights& w)
{
    const int64_t split = int64_t(w.depthwiseBias.size()),
                  doubleRest = int64_t(w.projectBias.size());
    m.floatTensor("dw", {split, 1, c.kernel, c.kernel}, w.depthwise);
    m.floatTensor("db", {split}, w.depthwiseBias);
    m.floatTensor("pw", {doubleRest, int64_t(w.project.size()) / doubleRest, 1, 1}, w.project);
    m.floatTensor("pb", {doubleRest}, w.projectBias);
    m.floatTensor("scale", {int64_t(w.scale.size())}, w.scale);
    m.floatTensor("bias", {int64_t(w.bias.size())}, w.bias);
    m.int64Tensor("perm", w.perm);
}

/** x -> AffineCoupling -> y. */
TestModel couplingModel(const CouplingCase& c, const CouplingWeights& w)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.channels, c.height, c.width});
    addInitializers(m, c, w);
    m.node("AffineCoupling", {"x", "dw", "db", "pw", "pb", "scale", "bias", "perm"}, {"y"},
           {TestAttr::real("clamp", w.clamp), TestAttr::real("slope", w.slope)},
           "org.opencv.anomaly");
    m.output("y", {-1, c.channels, c.height, c.width});
    return m;
}

/** The same block as the separate ops anomaly_train wrote before format 1.4. */
TestModel separateLayersModel(const CouplingCase& c, const CouplingWeights& w)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.channels, c.height, c.width});
    addInitializers(m, c, w);
    m.int64Tensor("axes", {1});
    m.int64Tensor("x1_begin", {0});
    m.int64Tensor("x1_end", {c.split()});
    m.int64Tensor("x2_end", {c.channels});
    const int pad = c.kernel / 2;
    m.node("Slice", {"x", "x1_begin", "x1_end", "axes"}, {"x1"});
    m.node("Slice", {"x", "x1_end", "x2_end", "axes"}, {"x2"});
    m.node("DepthwiseConv", {"x1", "dw", "db"}, {"d"},
           {TestAttr::list("padding", {pad, pad, pad, pad})}, "org.opencv.anomaly");
    m.node("LeakyRelu", {"d"}, {"h"}, {TestAttr::real("alpha", w.slope)});
    m.node("PointwiseConv", {"h", "pw", "pb"}, {"a"}, {}, "org.opencv.anomaly");
    m.node("SoftClampAffine", {"x2", "a"}, {"y2"}, {TestAttr::real("clamp", w.clamp)},
           "org.opencv.anomaly");
    m.node("Concat", {"x1", "y2"}, {"u"}, {TestAttr::integer("axis", 1)});
    m.node("ChannelAffinePermute", {"u", "scale", "bias", "perm"}, {"y"}, {}, "org.opencv.anomaly");
    m.output("y", {-1, c.channels, c.height, c.width});
    return m;
}

/** The definition of doc/model-format.md, in double. */
Mat directCoupling(const Mat& x, const CouplingCase& c, const CouplingWeights& w)
{
    const int batch = x.size[0], s = c.split(), r = c.rest(), k = c.kernel, pad = k / 2;
    const int shape[] = {batch, c.channels, c.height, c.width};
    Mat out(4, shape, CV_64F);
    std::vector<double> hidden(static_cast<size_t>(s)), u(static_cast<size_t>(c.channels));
    for (int n = 0; n < batch; ++n)
        for (int i = 0; i < c.height; ++i)
            for (int j = 0; j < c.width; ++j) {
                for (int ch = 0; ch < s; ++ch) {
                    double acc = w.depthwiseBias[size_t(ch)];
                    for (int u0 = 0; u0 < k; ++u0)
                        for (int v0 = 0; v0 < k; ++v0) {
                            const int yy = i - pad + u0, xx = j - pad + v0;
                            if (yy >= 0 && yy < c.height && xx >= 0 && xx < c.width)
                                acc += double(w.depthwise[size_t((ch * k + u0) * k + v0)]) *
                                       x.at<float>(Vec4i(n, ch, yy, xx));
                        }
                    hidden[size_t(ch)] = acc >= 0 ? acc : acc * w.slope;
                    u[size_t(ch)] = x.at<float>(Vec4i(n, ch, i, j));
                }
                for (int ch = 0; ch < r; ++ch) {
                    double logScale = w.projectBias[size_t(ch)],
                           shift = w.projectBias[size_t(r + ch)];
                    for (int h = 0; h < s; ++h) {
                        logScale += double(w.project[size_t(ch * s + h)]) * hidden[size_t(h)];
                        shift += double(w.project[size_t((r + ch) * s + h)]) * hidden[size_t(h)];
                    }
                    u[size_t(s + ch)] = x.at<float>(Vec4i(n, s + ch, i, j)) *
                                            std::exp(double(w.clamp) * std::tanh(logScale)) +
                                        shift;
                }
                for (int ch = 0; ch < c.channels; ++ch) {
                    const size_t from = size_t(w.perm[size_t(ch)]);
                    out.at<double>(Vec4i(n, ch, i, j)) = u[from] * w.scale[from] + w.bias[from];
                }
            }
    return out;
}

TEST(Anomaly_AffineCoupling, matches_its_definition_for_channel_counts_kernels_and_plane_sizes)
{
    // Odd and even channel counts (uneven split), 1x1, 3x3 and 5x5 kernels, a 1x1 plane, planes
    // of one band and of several with a partial last band, the flows' 64x64 planes, a width that
    // fills no vector of the coupling's exp.
    const CouplingCase cases[] = {
        {5, 3, 5, 7},  {24, 3, 64, 64}, {7, 1, 16, 16}, {4, 3, 1, 1},
        {10, 5, 9, 3}, {56, 1, 16, 16}, {6, 3, 33, 10}, {2, 3, 2, 40},
    };
    RNG rng(41);
    // The baseline kernels, and the AVX2 kernels where the build and the CPU have them.
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (const CouplingCase& c : cases) {
            setUseOptimized(optimized);
            const CouplingWeights w = randomWeights(rng, c);
            dnn::Net net = importWithCustomLayers(couplingModel(c, w));
            const Mat x = twinBatch(rng, c.channels, c.height, c.width);
            net.setInput(x);
            const Mat y = net.forward();
            ASSERT_EQ(y.dims, 4) << c;
            ASSERT_EQ(y.size[1], c.channels) << c;
            Mat y64;
            y.convertTo(y64, CV_64F);
            // Float sums of at most 25 + 28 products of order-1 values, then exp of at most
            // +-2 (the approximation's relative error is 2e-7): errors of order 1e-6.
            EXPECT_LE(cv::norm(y64, directCoupling(x, c, w), NORM_INF), 1e-4)
                << c << (optimized ? "" : ", baseline kernels");
            EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1),
                                     size_t(c.channels) * c.height * c.width * sizeof(float)))
                << c << ": the two copies of one image differ";
        }
    setUseOptimized(wasOptimized);
}

TEST(Anomaly_AffineCoupling, equals_the_separate_layers_it_replaces)
{
    // Bands whose length is a whole number of vectors, as on every plane of the shipped flows:
    // each value is then the same sequence of operations as in the separate layers.
    const CouplingCase cases[] = {{24, 3, 64, 64}, {40, 1, 32, 32}, {112, 3, 16, 16}};
    RNG rng(42);
    for (const CouplingCase& c : cases) {
        const CouplingWeights w = randomWeights(rng, c);
        dnn::Net fused = importWithCustomLayers(couplingModel(c, w));
        dnn::Net separate = importWithCustomLayers(separateLayersModel(c, w));
        ASSERT_GT(layerIdOfType(separate, "org.opencv.anomaly.SoftClampAffine"), 0);
        const Mat x = twinBatch(rng, c.channels, c.height, c.width);
        fused.setInput(x);
        separate.setInput(x);
        const Mat a = fused.forward(), b = separate.forward();
        ASSERT_EQ(a.total(), b.total()) << c;
        EXPECT_EQ(cv::norm(a, b, NORM_INF), 0.0) << c;
    }
}

TEST(Anomaly_AffineCoupling, reports_the_multiply_adds_of_its_two_convolutions)
{
    const CouplingCase c{5, 3, 4, 6};  // split 3, rest 2
    RNG rng(43);
    dnn::Net net = importWithCustomLayers(couplingModel(c, randomWeights(rng, c)));
    EXPECT_EQ(net.getFLOPS(dnn::MatShape{1, 5, 4, 6}), int64(2 * 24 * 3 * (9 + 4)));
}

TEST(Anomaly_AffineCoupling, invalid_parameters_and_inputs_raise)
{
    const CouplingCase c{5, 3, 4, 4};
    RNG rng(44);
    const CouplingWeights good = randomWeights(rng, c);
    const auto importAndRun = [&](const TestModel& m) {
        dnn::Net net = importWithCustomLayers(m);
        const int shape[] = {1, c.channels, c.height, c.width};
        net.setInput(Mat(4, shape, CV_32F, Scalar(1)));
        net.forward();
    };
    ASSERT_NO_THROW(importAndRun(couplingModel(c, good)));

    CouplingWeights w = good;
    w.clamp = 0.f;
    EXPECT_THROW(importAndRun(couplingModel(c, w)), cv::Exception) << "clamp 0";
    w = good;
    w.slope = std::nanf("");
    EXPECT_THROW(importAndRun(couplingModel(c, w)), cv::Exception) << "slope NaN";
    w = good;
    w.perm[0] = w.perm[1];
    EXPECT_THROW(importAndRun(couplingModel(c, w)), cv::Exception) << "perm repeats a channel";
    w = good;
    w.perm[0] = c.channels;
    EXPECT_THROW(importAndRun(couplingModel(c, w)), cv::Exception) << "perm out of range";

    // An even kernel has no "same" padding.
    const CouplingCase even{5, 2, 4, 4};
    EXPECT_THROW(importAndRun(couplingModel(even, randomWeights(rng, even))), cv::Exception);

    // A projection for another split: [2R, S+1] weights.
    w = good;
    w.project.resize(size_t(2 * c.rest() * (c.split() + 1)), 0.f);
    EXPECT_THROW(importAndRun(couplingModel(c, w)), cv::Exception) << "projection shape";
    w = good;
    w.projectBias.pop_back();
    EXPECT_THROW(importAndRun(couplingModel(c, w)), cv::Exception) << "projection bias";

    // Scale, bias and perm for as many channels as the depthwise kernels: nothing to transform.
    w = good;
    w.scale.resize(size_t(c.split()));
    w.bias.resize(size_t(c.split()));
    w.perm = {2, 0, 1};
    EXPECT_THROW(importAndRun(couplingModel(c, w)), cv::Exception) << "no channels to transform";
    w = good;
    w.bias.pop_back();
    EXPECT_THROW(importAndRun(couplingModel(c, w)), cv::Exception) << "bias count";

    // An input with another channel count than the weights.
    dnn::Net net = importWithCustomLayers(couplingModel(c, good));
    const int shape[] = {1, c.channels + 1, c.height, c.width};
    net.setInput(Mat(4, shape, CV_32F, Scalar(1)));
    EXPECT_THROW(net.forward(), cv::Exception) << "input channels";
}

}  // namespace
}  // namespace opencv_test
