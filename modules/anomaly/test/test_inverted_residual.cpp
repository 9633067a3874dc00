// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.InvertedResidual against its definition written out in double
// (doc/model-format.md section 6) and against the chain of separate layers it replaces.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <cmath>
#include <cstring>

namespace opencv_test {
namespace {

struct BlockCase
{
    int channels, hidden,
        outChannels;  // hidden 0: no expansion (the hidden channels are the input)
    int kernel, stride;
    std::vector<int64_t> padding;  // top, left, bottom, right
    int height, width;
    bool residual;

    bool expands() const { return hidden > 0; }
    int hiddenChannels() const { return expands() ? hidden : channels; }
    int outH() const { return int(height + padding[0] + padding[2] - kernel) / stride + 1; }
    int outW() const { return int(width + padding[1] + padding[3] - kernel) / stride + 1; }
};

std::ostream& operator<<(std::ostream& os, const BlockCase& c)
{
    return os << c.channels << "->" << c.hiddenChannels() << "->" << c.outChannels << ", "
              << c.kernel << "x" << c.kernel << " stride " << c.stride << " pads " << c.padding[0]
              << "," << c.padding[1] << "," << c.padding[2] << "," << c.padding[3] << " on "
              << c.height << "x" << c.width << (c.residual ? ", residual" : "");
}

struct BlockWeights
{
    std::vector<float> expand, expandBias, depthwise, depthwiseBias, project, projectBias;
};

BlockWeights randomWeights(RNG& rng, const BlockCase& c)
{
    // Scaled by 1/sqrt(fan-in), as trained weights roughly are, with biases that put part of the
    // hidden values below 0 and part above the clamp at 6.
    BlockWeights w;
    const int e = c.hiddenChannels(), k2 = c.kernel * c.kernel;
    if (c.expands()) {
        const float s = 3.f / std::sqrt(float(c.channels));
        w.expand = uniformValues(rng, size_t(e) * c.channels, -s, s);
        w.expandBias = uniformValues(rng, size_t(e), -1.f, 3.f);
    }
    const float sd = 3.f / std::sqrt(float(k2));
    w.depthwise = uniformValues(rng, size_t(e) * k2, -sd, sd);
    w.depthwiseBias = uniformValues(rng, size_t(e), -1.f, 3.f);
    const float sp = 1.f / std::sqrt(float(e));
    w.project = uniformValues(rng, size_t(c.outChannels) * e, -sp, sp);
    w.projectBias = uniformValues(rng, size_t(c.outChannels), -0.5f, 0.5f);
    return w;
}

/** Shapes from the value counts, so that a test can give inconsistent ones. */
std::vector<std::string> addInitializers(TestModel& m, const BlockCase& c, const BlockWeights& w)
{
    std::vector<std::string> names;
    if (!w.expand.empty()) {
        const int64_t e = int64_t(w.expandBias.size());
        m.floatTensor("ew", {e, int64_t(w.expand.size()) / e, 1, 1}, w.expand);
        m.floatTensor("eb", {e}, w.expandBias);
        names = {"ew", "eb"};
    }
    const int64_t e = int64_t(w.depthwiseBias.size()), o = int64_t(w.projectBias.size());
    m.floatTensor("dw", {e, 1, c.kernel, c.kernel}, w.depthwise);
    m.floatTensor("db", {e}, w.depthwiseBias);
    m.floatTensor("pw", {o, int64_t(w.project.size()) / o, 1, 1}, w.project);
    m.floatTensor("pb", {o}, w.projectBias);
    names.insert(names.end(), {"dw", "db", "pw", "pb"});
    return names;
}

/** x -> InvertedResidual -> y. */
TestModel blockModel(const BlockCase& c, const BlockWeights& w)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.channels, c.height, c.width});
    std::vector<std::string> inputs = {"x"};
    for (const std::string& name : addInitializers(m, c, w))
        inputs.push_back(name);
    std::vector<TestAttr> attributes = {TestAttr::integer("stride", c.stride),
                                        TestAttr::list("padding", c.padding)};
    if (c.residual)
        attributes.push_back(TestAttr::integer("residual", 1));
    m.node("InvertedResidual", inputs, {"y"}, attributes, "org.opencv.anomaly");
    m.output("y", {-1, c.outChannels, c.outH(), c.outW()});
    return m;
}

/** The same block as the separate ops the backbone converter wrote before format 1.5. */
TestModel separateLayersModel(const BlockCase& c, const BlockWeights& w)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.channels, c.height, c.width});
    addInitializers(m, c, w);
    std::string h = "x";
    if (c.expands()) {
        m.node("PointwiseConv", {"x", "ew", "eb"}, {"e"}, {}, "org.opencv.anomaly");
        m.node("Relu6", {"e"}, {"h"}, {}, "org.opencv.anomaly");
        h = "h";
    }
    m.node("DepthwiseConv", {h, "dw", "db"}, {"d"},
           {TestAttr::integer("stride", c.stride), TestAttr::list("padding", c.padding)},
           "org.opencv.anomaly");
    m.node("Relu6", {"d"}, {"r"}, {}, "org.opencv.anomaly");
    m.node("PointwiseConv", {"r", "pw", "pb"}, {c.residual ? "p" : "y"}, {}, "org.opencv.anomaly");
    if (c.residual)
        m.node("Add", {"p", "x"}, {"y"});
    m.output("y", {-1, c.outChannels, c.outH(), c.outW()});
    return m;
}

double relu6(double v)
{
    return std::min(std::max(v, 0.0), 6.0);
}

/** The definition of doc/model-format.md, in double. */
Mat directBlock(const Mat& x, const BlockCase& c, const BlockWeights& w)
{
    const int batch = x.size[0], e = c.hiddenChannels(), k = c.kernel;
    const int outH = c.outH(), outW = c.outW();
    const int hiddenShape[] = {batch, e, c.height, c.width};
    Mat hidden(4, hiddenShape, CV_64F);
    for (int n = 0; n < batch; ++n)
        for (int ch = 0; ch < e; ++ch)
            for (int i = 0; i < c.height; ++i)
                for (int j = 0; j < c.width; ++j) {
                    double v = x.at<float>(Vec4i(n, ch < c.channels ? ch : 0, i, j));
                    if (c.expands()) {
                        v = w.expandBias[size_t(ch)];
                        for (int in = 0; in < c.channels; ++in)
                            v += double(w.expand[size_t(ch) * c.channels + in]) *
                                 x.at<float>(Vec4i(n, in, i, j));
                        v = relu6(v);
                    }
                    hidden.at<double>(Vec4i(n, ch, i, j)) = v;
                }
    const int outShape[] = {batch, c.outChannels, outH, outW};
    Mat out(4, outShape, CV_64F);
    std::vector<double> d(static_cast<size_t>(e));
    for (int n = 0; n < batch; ++n)
        for (int i = 0; i < outH; ++i)
            for (int j = 0; j < outW; ++j) {
                for (int ch = 0; ch < e; ++ch) {
                    double acc = w.depthwiseBias[size_t(ch)];
                    for (int u = 0; u < k; ++u)
                        for (int v = 0; v < k; ++v) {
                            const int yy = i * c.stride - int(c.padding[0]) + u;
                            const int xx = j * c.stride - int(c.padding[1]) + v;
                            if (yy >= 0 && yy < c.height && xx >= 0 && xx < c.width)
                                acc += double(w.depthwise[size_t((ch * k + u) * k + v)]) *
                                       hidden.at<double>(Vec4i(n, ch, yy, xx));
                        }
                    d[size_t(ch)] = relu6(acc);
                }
                for (int o = 0; o < c.outChannels; ++o) {
                    double acc = w.projectBias[size_t(o)];
                    for (int ch = 0; ch < e; ++ch)
                        acc += double(w.project[size_t(o) * e + ch]) * d[size_t(ch)];
                    if (c.residual)
                        acc += x.at<float>(Vec4i(n, o, i, j));
                    out.at<double>(Vec4i(n, o, i, j)) = acc;
                }
            }
    return out;
}

/** The blocks of EfficientNet-Lite0 at 256x256 input (TensorFlow "SAME" padding: the extra pixel of
a stride-2 layer at the bottom and right). */
const BlockCase kEfficientNetBlocks[] = {
    {32, 0, 16, 3, 1, {1, 1, 1, 1}, 128, 128, false},   // stage 1: no expansion
    {16, 96, 24, 3, 2, {0, 0, 1, 1}, 128, 128, false},  // stage 2, first block
    {24, 144, 24, 3, 1, {1, 1, 1, 1}, 64, 64, true},    // stage 2, second block
    {24, 144, 40, 5, 2, {1, 1, 2, 2}, 64, 64, false},   // stage 3, first block
    {40, 240, 40, 5, 1, {2, 2, 2, 2}, 32, 32, true},    // stage 3, second block
    {112, 672, 112, 5, 1, {2, 2, 2, 2}, 16, 16, true},  // stage 5
};

TEST(Anomaly_InvertedResidual, matches_its_definition_for_block_shapes_and_thread_counts)
{
    // EfficientNet-Lite0's geometries plus odd ones: a 1x1 plane, planes whose bands do not
    // divide them, a stride-2 block without expansion, a 1x1 depthwise kernel, few channels.
    std::vector<BlockCase> cases(std::begin(kEfficientNetBlocks), std::end(kEfficientNetBlocks));
    cases.push_back({5, 7, 5, 3, 1, {1, 1, 1, 1}, 9, 11, true});
    cases.push_back({3, 0, 6, 5, 2, {2, 2, 2, 2}, 13, 7, false});
    cases.push_back({4, 6, 4, 3, 1, {1, 1, 1, 1}, 1, 1, true});
    cases.push_back({6, 20, 9, 1, 1, {0, 0, 0, 0}, 5, 33, false});
    cases.push_back({8, 48, 12, 3, 2, {1, 1, 1, 1}, 77, 50, false});
    RNG rng(51);
    const int threads = getNumThreads();
    const bool wasOptimized = useOptimized();
    // The baseline kernels and the AVX2 ones where the build and the CPU have them; 1 thread (one
    // task per image walks all bands) and 3 (an image cut into parts that expand their shared
    // rows again).
    for (bool optimized : {false, true})
        for (int t : {1, 3})
            for (const BlockCase& c : cases) {
                setUseOptimized(optimized);
                setNumThreads(t);
                const BlockWeights w = randomWeights(rng, c);
                dnn::Net net = importWithCustomLayers(blockModel(c, w));
                const Mat x = twinBatch(rng, c.channels, c.height, c.width);
                net.setInput(x);
                const Mat y = net.forward();
                ASSERT_EQ(y.dims, 4) << c;
                ASSERT_EQ(y.size[1], c.outChannels) << c;
                ASSERT_EQ(y.size[2], c.outH()) << c;
                ASSERT_EQ(y.size[3], c.outW()) << c;
                Mat y64;
                y.convertTo(y64, CV_64F);
                // Float sums of up to 672 products of values of order 1-6: errors of order 1e-5.
                EXPECT_LE(cv::norm(y64, directBlock(x, c, w), NORM_INF), 2e-4)
                    << c << ", " << t << " thread(s)" << (optimized ? "" : ", baseline kernels");
                const size_t outFloats = size_t(c.outChannels) * c.outH() * c.outW();
                EXPECT_EQ(0,
                          std::memcmp(y.ptr<float>(0), y.ptr<float>(1), outFloats * sizeof(float)))
                    << c << ": the two copies of one image differ";
            }
    setNumThreads(threads);
    setUseOptimized(wasOptimized);
}

TEST(Anomaly_InvertedResidual, equals_the_separate_layers_it_replaces)
{
    RNG rng(52);
    for (const BlockCase& c : kEfficientNetBlocks) {
        const BlockWeights w = randomWeights(rng, c);
        dnn::Net fused = importWithCustomLayers(blockModel(c, w));
        dnn::Net separate = importWithCustomLayers(separateLayersModel(c, w));
        ASSERT_GT(layerIdOfType(separate, "org.opencv.anomaly.DepthwiseConv"), 0);
        const Mat x = twinBatch(rng, c.channels, c.height, c.width);
        fused.setInput(x);
        separate.setInput(x);
        const Mat a = fused.forward(), b = separate.forward();
        ASSERT_EQ(a.total(), b.total()) << c;
        // Each value is the same sequence of float operations in both.
        EXPECT_EQ(cv::norm(a, b, NORM_INF), 0.0) << c;
    }
}

TEST(Anomaly_InvertedResidual, reports_the_multiply_adds_of_its_three_convolutions)
{
    const BlockCase c{4, 10, 6, 3, 2, {1, 1, 1, 1}, 8, 6, false};  // output 4x3
    RNG rng(53);
    dnn::Net net = importWithCustomLayers(blockModel(c, randomWeights(rng, c)));
    EXPECT_EQ(net.getFLOPS(dnn::MatShape{1, 4, 8, 6}),
              int64(2 * (48 * 4 * 10 + 12 * 10 * (9 + 6))));
    const BlockCase plain{4, 0, 6, 3, 1, {1, 1, 1, 1}, 8, 6, false};
    dnn::Net noExpansion = importWithCustomLayers(blockModel(plain, randomWeights(rng, plain)));
    EXPECT_EQ(noExpansion.getFLOPS(dnn::MatShape{1, 4, 8, 6}), int64(2 * 48 * 4 * (9 + 6)));
}

TEST(Anomaly_InvertedResidual, invalid_parameters_and_inputs_raise)
{
    const BlockCase c{4, 8, 4, 3, 1, {1, 1, 1, 1}, 6, 6, true};
    RNG rng(54);
    const BlockWeights good = randomWeights(rng, c);
    const auto importAndRun = [&](const BlockCase& bc, const BlockWeights& w) {
        dnn::Net net = importWithCustomLayers(blockModel(bc, w));
        const int shape[] = {1, bc.channels, bc.height, bc.width};
        net.setInput(Mat(4, shape, CV_32F, Scalar(1)));
        net.forward();
    };
    ASSERT_NO_THROW(importAndRun(c, good));

    BlockCase bc = c;
    bc.stride = 2;
    EXPECT_THROW(importAndRun(bc, good), cv::Exception) << "residual with stride 2";
    bc = c;
    bc.padding = {0, 0, 0, 0};
    EXPECT_THROW(importAndRun(bc, good), cv::Exception) << "residual on a shrinking plane";
    bc = c;
    bc.outChannels = 5;
    BlockWeights w = randomWeights(rng, bc);
    EXPECT_THROW(importAndRun(bc, w), cv::Exception) << "residual to other channels";
    bc = c;
    bc.padding = {1, 1, 3, 1};
    EXPECT_THROW(importAndRun(bc, good), cv::Exception) << "pad as large as the kernel";

    w = good;
    w.expand.resize(w.expand.size() + 8, 0.f);  // [8, 5] for a 4-channel input
    EXPECT_THROW(importAndRun(c, w), cv::Exception) << "expansion for 5 input channels";
    w = good;
    w.expandBias.pop_back();
    w.expand.resize(w.expand.size() - 4);
    EXPECT_THROW(importAndRun(c, w), cv::Exception) << "expansion to 7 for 8 depthwise kernels";
    w = good;
    w.project.resize(w.project.size() + 4, 0.f);  // [4, 9]
    EXPECT_THROW(importAndRun(c, w), cv::Exception) << "projection from 9 channels";
    w = good;
    w.depthwiseBias.pop_back();
    EXPECT_THROW(importAndRun(c, w), cv::Exception) << "depthwise bias count";

    // Five initializers: an expansion weight without its bias.
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, c.channels, c.height, c.width});
    addInitializers(m, c, good);
    m.node("InvertedResidual", {"x", "ew", "dw", "db", "pw", "pb"}, {"y"}, {},
           "org.opencv.anomaly");
    m.output("y", {-1, c.outChannels, c.height, c.width});
    EXPECT_THROW(importWithCustomLayers(m), cv::Exception) << "five initializers";

    // An input with another channel count than the weights.
    dnn::Net net = importWithCustomLayers(blockModel(c, good));
    const int shape[] = {1, c.channels + 1, c.height, c.width};
    net.setInput(Mat(4, shape, CV_32F, Scalar(1)));
    EXPECT_THROW(net.forward(), cv::Exception) << "input channels";
}

}  // namespace
}  // namespace opencv_test
