// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.AttentionPooling against hand-computed values, its definition
// in double and the standard nodes it replaces (Reshape, Softmax, Transpose, MatMul) run by
// OpenCV's own layers.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <cmath>
#include <cstring>

namespace opencv_test {
namespace {

struct PoolingCase
{
    int heads, queries, channels, height, width;

    int keys() const { return height * width; }
};

std::ostream& operator<<(std::ostream& os, const PoolingCase& c)
{
    return os << c.heads << " heads, " << c.queries << " queries, " << c.channels
              << " value channels, plane " << c.height << "x" << c.width;
}

/** l [N,heads*T,H,W], v [N,C,H,W] -> AttentionPooling(heads) -> y [N,C,T,1]. */
TestModel poolingModel(const PoolingCase& c)
{
    TestModel m;
    m.useCustomDomain();
    m.input("l", {-1, c.heads * c.queries, c.height, c.width});
    m.input("v", {-1, c.channels, c.height, c.width});
    m.node("AttentionPooling", {"l", "v"}, {"y"}, {TestAttr::integer("heads", c.heads)},
           "org.opencv.anomaly");
    m.output("y", {-1, c.channels, c.queries, 1});
    return m;
}

/** The same pooling as the standard nodes anomaly_train wrote before format 1.7. */
TestModel standardPoolingModel(const PoolingCase& c)
{
    const int64_t h = c.heads, d = c.channels / c.heads, t = c.queries, k = c.keys();
    TestModel m;
    m.input("l", {-1, c.heads * c.queries, c.height, c.width});
    m.input("v", {-1, c.channels, c.height, c.width});
    m.int64Tensor("l_heads", {0, h, t, k});
    m.int64Tensor("v_heads", {0, h, d, k});
    m.int64Tensor("back", {0, c.channels, t, 1});
    const std::vector<int64_t> swap = {0, 1, 3, 2};
    m.node("Reshape", {"l", "l_heads"}, {"l4"});
    m.node("Softmax", {"l4"}, {"weights"}, {TestAttr::integer("axis", 3)});
    m.node("Reshape", {"v", "v_heads"}, {"v4"});
    m.node("Transpose", {"v4"}, {"vT"}, {TestAttr::list("perm", swap)});
    m.node("MatMul", {"weights", "vT"}, {"pooled"});
    m.node("Transpose", {"pooled"}, {"pooledT"}, {TestAttr::list("perm", swap)});
    m.node("Reshape", {"pooledT", "back"}, {"y"});
    m.output("y", {-1, c.channels, c.queries, 1});
    return m;
}

Mat randomBlob(RNG& rng, int batch, int channels, int height, int width, double sigma)
{
    const int shape[] = {batch, channels, height, width};
    Mat x(4, shape, CV_32F);
    rng.fill(x, RNG::NORMAL, 0.0, sigma);
    return x;
}

/** The definition, in double. */
Mat directPooling(const Mat& l, const Mat& v, const PoolingCase& c)
{
    const int batch = l.size[0], d = c.channels / c.heads, keys = c.keys();
    const int shape[] = {batch, c.channels, c.queries, 1};
    Mat out(4, shape, CV_64F);
    std::vector<double> weights(static_cast<size_t>(keys));
    for (int n = 0; n < batch; ++n)
        for (int h = 0; h < c.heads; ++h)
            for (int t = 0; t < c.queries; ++t) {
                const float* logits = l.ptr<float>(n, h * c.queries + t);
                double maxValue = -1e300, sum = 0;
                for (int k = 0; k < keys; ++k)
                    maxValue = std::max(maxValue, double(logits[k]));
                for (int k = 0; k < keys; ++k)
                    sum += weights[size_t(k)] = std::exp(logits[k] - maxValue);
                for (int e = 0; e < d; ++e) {
                    double acc = 0;
                    for (int k = 0; k < keys; ++k)
                        acc += weights[size_t(k)] / sum * v.ptr<float>(n, h * d + e)[k];
                    out.ptr<double>(n, h * d + e)[t] = acc;
                }
            }
    return out;
}

Mat runPooling(dnn::Net net, const Mat& l, const Mat& v)
{
    net.setInput(l, "l");
    net.setInput(v, "v");
    return net.forward().clone();
}

TEST(Anomaly_AttentionPooling, matches_hand_computed_values)
{
    // One head, one query, two positions: logits 0 and ln 3 give weights 1/4 and 3/4, so the
    // values 4 and 8 pool to 7 and the values -2 and 2 to 1.
    const PoolingCase c{1, 1, 2, 1, 2};
    const int lShape[] = {1, 1, 1, 2}, vShape[] = {1, 2, 1, 2};
    const float logits[] = {0.f, std::log(3.f)}, values[] = {4.f, 8.f, -2.f, 2.f};
    const Mat y = runPooling(importWithCustomLayers(poolingModel(c)),
                             Mat(4, lShape, CV_32F, const_cast<float*>(logits)),
                             Mat(4, vShape, CV_32F, const_cast<float*>(values)));
    ASSERT_EQ(y.total(), 2u);
    EXPECT_NEAR(y.ptr<float>()[0], 7.f, 1e-5f);
    EXPECT_NEAR(y.ptr<float>()[1], 1.f, 1e-5f);
}

TEST(Anomaly_AttentionPooling, matches_its_definition_and_the_standard_nodes_it_replaces)
{
    // The global branch's prototypes (4 heads of 16 queries over 16x16 tokens) and its semantic
    // queries (4 heads of 256 queries over 16 prototypes: four blocks of 64); query counts that
    // fill no tile or block exactly (35, 81, 3); one head; a single position.
    const PoolingCase cases[] = {
        {4, 16, 128, 16, 16}, {4, 256, 128, 16, 1}, {3, 35, 12, 5, 7},
        {1, 81, 8, 3, 5},     {2, 3, 6, 4, 4},      {2, 5, 4, 1, 1},
    };
    RNG rng(53);
    const int threads = getNumThreads();
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (int t : {1, 3})
            for (const PoolingCase& c : cases) {
                setUseOptimized(optimized);
                setNumThreads(t);
                // Logits of spread 3: weights from nearly one-hot to nearly even.
                const Mat l = randomBlob(rng, 2, c.heads * c.queries, c.height, c.width, 3.0);
                const Mat v = randomBlob(rng, 2, c.channels, c.height, c.width, 1.0);
                const Mat y = runPooling(importWithCustomLayers(poolingModel(c)), l, v);
                ASSERT_EQ(y.dims, 4) << c;
                ASSERT_EQ(y.size[2], c.queries) << c;
                Mat y64;
                y.convertTo(y64, CV_64F);
                const std::string where =
                    cv::format(" (%d thread(s)%s)", t, optimized ? "" : ", baseline kernels");
                // Convex combinations of normal values: float rounding and the vector exp (2e-7
                // relative) stay far below 1e-5.
                EXPECT_LE(cv::norm(y64, directPooling(l, v, c), NORM_INF), 1e-5) << c << where;
                const Mat standard =
                    runPooling(dnn::readNetFromONNX(standardPoolingModel(c).serialize()), l, v);
                EXPECT_LE(cv::norm(y, standard, NORM_INF), 1e-5)
                    << c << where << ": against OpenCV's Softmax and MatMul layers";
            }
    setUseOptimized(wasOptimized);
    setNumThreads(threads);
}

TEST(Anomaly_AttentionPooling, an_image_gives_the_same_values_at_any_position_in_the_batch)
{
    const PoolingCase c{2, 9, 8, 6, 6};
    RNG rng(54);
    const Mat l = twinBatch(rng, c.heads * c.queries, c.height, c.width);
    const Mat v = twinBatch(rng, c.channels, c.height, c.width);
    const Mat y = runPooling(importWithCustomLayers(poolingModel(c)), l, v);
    EXPECT_EQ(0, std::memcmp(y.ptr<float>(0), y.ptr<float>(1), y.total() / 2 * sizeof(float)));
}

TEST(Anomaly_AttentionPooling, reports_one_product_of_queries_positions_and_channels)
{
    const PoolingCase c{2, 3, 8, 5, 2};
    dnn::Net net = importWithCustomLayers(poolingModel(c));
    const std::vector<dnn::MatShape> shapes = {{1, 6, 5, 2}, {1, 8, 5, 2}};
    EXPECT_EQ(net.getFLOPS(shapes), int64(2 * 3 * 10 * 8));
}

TEST(Anomaly_AttentionPooling, invalid_heads_and_inputs_raise)
{
    const auto importAndRun = [](const TestModel& m, const PoolingCase& c, int logitChannels,
                                 int valueHeight) {
        dnn::Net net = importWithCustomLayers(m);
        const int lShape[] = {1, logitChannels, c.height, c.width};
        const int vShape[] = {1, c.channels, valueHeight, c.width};
        net.setInput(Mat(4, lShape, CV_32F, Scalar(1)), "l");
        net.setInput(Mat(4, vShape, CV_32F, Scalar(1)), "v");
        net.forward();
    };
    const PoolingCase good{2, 3, 8, 3, 3};
    ASSERT_NO_THROW(importAndRun(poolingModel(good), good, 6, 3));
    PoolingCase c = good;
    c.heads = 0;
    EXPECT_THROW(importAndRun(poolingModel(c), c, 6, 3), cv::Exception) << "0 heads";
    EXPECT_THROW(importAndRun(poolingModel(good), good, 7, 3), cv::Exception)
        << "7 logit channels in 2 heads";
    c = good;
    c.channels = 9;
    EXPECT_THROW(importAndRun(poolingModel(c), c, 6, 3), cv::Exception)
        << "9 value channels in 2 heads";
    EXPECT_THROW(importAndRun(poolingModel(good), good, 6, 4), cv::Exception)
        << "values on another plane than the logits";
    // The values as an initializer.
    TestModel constantValues;
    constantValues.useCustomDomain();
    constantValues.input("l", {-1, 6, 3, 3});
    constantValues.floatTensor("v", {1, 8, 3, 3}, std::vector<float>(72, 1.f));
    constantValues.node("AttentionPooling", {"l", "v"}, {"y"}, {TestAttr::integer("heads", 2)},
                        "org.opencv.anomaly");
    constantValues.output("y", {-1, 8, 3, 1});
    EXPECT_THROW(importWithCustomLayers(constantValues), cv::Exception) << "an initializer input";
}

}  // namespace
}  // namespace opencv_test
