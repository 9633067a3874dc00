// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "test_precomp.hpp"

#include "custom_layer_test_support.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <thread>

namespace opencv_test {
namespace {

constexpr int C = 7, H = 5, W = 3;

Mat randomBlob(RNG& rng, int batch)
{
    const int shape[] = {batch, C, H, W};
    Mat blob(4, shape, CV_32F);
    rng.fill(blob, RNG::NORMAL, 0.5, 2.0);
    return blob;
}

TestModel layerNormModel(const std::vector<float>& gamma, const std::vector<float>& beta, float eps,
                         int height = H, int width = W)
{
    const int64_t channels = int64_t(gamma.size());
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, channels, height, width});
    m.floatTensor("gamma", {int64_t(gamma.size())}, gamma);
    m.floatTensor("beta", {int64_t(beta.size())}, beta);
    m.node("LayerNorm", {"x", "gamma", "beta"}, {"y"}, {TestAttr::real("epsilon", eps)},
           "org.opencv.anomaly");
    m.output("y", {-1, channels, height, width});
    return m;
}

TestModel affinePermuteModel(const std::vector<float>& scale, const std::vector<float>& bias,
                             const std::vector<int64_t>& perm)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, C, H, W});
    m.floatTensor("scale", {int64_t(scale.size())}, scale);
    m.floatTensor("bias", {int64_t(bias.size())}, bias);
    m.int64Tensor("perm", perm);
    m.node("ChannelAffinePermute", {"x", "scale", "bias", "perm"}, {"y"}, {}, "org.opencv.anomaly");
    m.output("y", {-1, C, H, W});
    return m;
}

// x2 [N,R,5,7] and a [N,aChannels,5,7] -> SoftClampAffine -> y. 35 values per plane: the vector
// loop and its scalar tail both run.
constexpr int kCouplingRest = 3, kCouplingH = 5, kCouplingW = 7;

TestModel softClampAffineModel(float clamp, int aChannels = 2 * kCouplingRest)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x2", {-1, kCouplingRest, kCouplingH, kCouplingW});
    m.input("a", {-1, aChannels, kCouplingH, kCouplingW});
    m.node("SoftClampAffine", {"x2", "a"}, {"y"}, {TestAttr::real("clamp", clamp)},
           "org.opencv.anomaly");
    m.output("y", {-1, kCouplingRest, kCouplingH, kCouplingW});
    return m;
}

TEST(Anomaly_CustomLayers, soft_clamp_affine_matches_its_definition_including_saturation)
{
    RNG rng(13);
    const float clamp = 2.f;
    dnn::Net net = importWithCustomLayers(softClampAffineModel(clamp));
    // The baseline kernel, and the AVX2 kernel where the build and the CPU have it.
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (int batch : {1, 2}) {
            setUseOptimized(optimized);
            const int xShape[] = {batch, kCouplingRest, kCouplingH, kCouplingW};
            const int aShape[] = {batch, 2 * kCouplingRest, kCouplingH, kCouplingW};
            Mat x2(4, xShape, CV_32F), a(4, aShape, CV_32F);
            rng.fill(x2, RNG::NORMAL, 0.0, 2.0);
            // Log-scales from about -30 to 30 (tanh saturated at both ends) and around 0.
            rng.fill(a, RNG::NORMAL, 0.0, 10.0);
            net.setInput(x2, "x2");
            net.setInput(a, "a");
            Mat y = net.forward();
            ASSERT_EQ(y.total(), x2.total());
            double worst = 0;
            for (int n = 0; n < batch; ++n)
                for (int c = 0; c < kCouplingRest; ++c)
                    for (int i = 0; i < kCouplingH; ++i)
                        for (int j = 0; j < kCouplingW; ++j) {
                            const double x = x2.at<float>(Vec4i(n, c, i, j));
                            const double u = a.at<float>(Vec4i(n, c, i, j));
                            const double t = a.at<float>(Vec4i(n, c + kCouplingRest, i, j));
                            const double scaled = x * std::exp(clamp * std::tanh(u));
                            const double err =
                                std::abs(scaled + t - y.at<float>(Vec4i(n, c, i, j)));
                            // float rounding of the product and the sum, relative to their terms
                            worst = std::max(
                                worst, err / (2e-6 * (std::abs(scaled) + std::abs(t)) + 1e-7));
                        }
            EXPECT_LE(worst, 1.0) << "batch " << batch << (optimized ? "" : ", baseline kernel");
        }
    setUseOptimized(wasOptimized);
}

TestModel softmaxModel(const std::vector<int64_t>& shape, bool withInitializer = false)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", shape);
    std::vector<std::string> inputs = {"x"};
    if (withInitializer) {
        m.floatTensor("extra", {1}, {1.f});
        inputs.push_back("extra");
    }
    m.node("SoftmaxLastAxis", inputs, {"y"}, {}, "org.opencv.anomaly");
    m.output("y", shape);
    return m;
}

TEST(Anomaly_CustomLayers, softmax_last_axis_matches_the_definition)
{
    RNG rng(14);
    // Rows of one value, of fewer values than a vector, of 37 (vector loop and tail) and of 256
    // with the local branch's -1e4 mask added to part of each row; a batch of two equal images
    // must give equal outputs. The baseline kernel and the AVX2 one where the CPU has it.
    const bool wasOptimized = useOptimized();
    for (bool optimized : {false, true})
        for (int length : {1, 3, 37, 256}) {
            setUseOptimized(optimized);
            const int shape[] = {2, 3, 5, length};
            dnn::Net net = importWithCustomLayers(softmaxModel({-1, 3, 5, length}));
            Mat x(4, shape, CV_32F);
            Mat first(3 * 5 * length, 1, CV_32F, x.ptr<float>(0));
            rng.fill(first, RNG::NORMAL, 0.0, 4.0);
            if (length == 256)
                for (int i = 0; i < 3 * 5 * length; i += 3)
                    first.at<float>(i) -= 1e4f;
            std::copy(x.ptr<float>(0), x.ptr<float>(1), x.ptr<float>(1));
            net.setInput(x);
            const Mat y = net.forward();
            ASSERT_EQ(y.total(), x.total());
            double worst = 0, smallestSum = 2, largestSum = 0;
            const size_t rows = x.total() / size_t(length);
            for (size_t row = 0; row < rows; ++row) {
                const float* in = x.ptr<float>() + row * length;
                const float* out = y.ptr<float>() + row * length;
                double maxValue = -DBL_MAX, sum = 0, outSum = 0;
                for (int i = 0; i < length; ++i)
                    maxValue = std::max(maxValue, double(in[i]));
                for (int i = 0; i < length; ++i)
                    sum += std::exp(in[i] - maxValue);
                for (int i = 0; i < length; ++i) {
                    const double ref = std::exp(in[i] - maxValue) / sum;
                    worst = std::max(worst, std::abs(ref - out[i]) / (ref + 1e-7));
                    outSum += out[i];
                }
                smallestSum = std::min(smallestSum, outSum);
                largestSum = std::max(largestSum, outSum);
            }
            const char* kernel = optimized ? "" : ", baseline kernel";
            EXPECT_LE(worst, 1e-5) << "relative error, rows of " << length << kernel;
            EXPECT_NEAR(smallestSum, 1.0, 1e-5) << kernel;
            EXPECT_NEAR(largestSum, 1.0, 1e-5) << kernel;
            EXPECT_EQ(0,
                      std::memcmp(y.ptr<float>(0), y.ptr<float>(1), 3 * 5 * length * sizeof(float)))
                << "the two copies of one image differ" << kernel;
        }
    setUseOptimized(wasOptimized);
    EXPECT_THROW(importWithCustomLayers(softmaxModel({-1, 3, 5, 7}, true)), cv::Exception)
        << "an initializer input";
}

TEST(Anomaly_CustomLayers, layer_norm_matches_reference_on_random_inputs)
{
    RNG rng(11);
    const auto gamma = uniformValues(rng, C, 0.5f, 2.f), beta = uniformValues(rng, C, -1.f, 1.f);
    const float eps = 1e-5f;
    // Planes of 15 and 63 pixels: groups of four vectors, single vectors and the scalar tail
    // each run at 4 and at 8 lanes (63 = 3 * 16 + 3 * 4 + 3 = 32 + 3 * 8 + 7).
    for (const Size plane : {Size(W, H), Size(7, 9)})
        for (int batch : {1, 3}) {
            dnn::Net net =
                importWithCustomLayers(layerNormModel(gamma, beta, eps, plane.height, plane.width));
            const int shape[] = {batch, C, plane.height, plane.width};
            Mat x(4, shape, CV_32F);
            rng.fill(x, RNG::NORMAL, 0.5, 2.0);
            net.setInput(x);
            Mat y = net.forward();
            ASSERT_EQ(y.total(), x.total());
            double maxErr = 0;
            // Plain two-pass reference in double: mean, then biased variance, per pixel over
            // channels.
            for (int n = 0; n < batch; ++n)
                for (int i = 0; i < plane.height; ++i)
                    for (int j = 0; j < plane.width; ++j) {
                        double mean = 0, var = 0;
                        for (int c = 0; c < C; ++c)
                            mean += x.at<float>(Vec4i(n, c, i, j));
                        mean /= C;
                        for (int c = 0; c < C; ++c) {
                            const double d = x.at<float>(Vec4i(n, c, i, j)) - mean;
                            var += d * d;
                        }
                        var /= C;
                        for (int c = 0; c < C; ++c) {
                            const double ref = (x.at<float>(Vec4i(n, c, i, j)) - mean) /
                                                   std::sqrt(var + eps) * gamma[c] +
                                               beta[c];
                            maxErr =
                                std::max(maxErr, std::abs(ref - y.at<float>(Vec4i(n, c, i, j))));
                        }
                    }
            EXPECT_LE(maxErr, 1e-4) << "batch " << batch << ", plane " << plane;
        }
}

TEST(Anomaly_CustomLayers, layer_norm_stays_exact_when_the_mean_is_large_against_the_spread)
{
    // The transformer's token shape (128 channels on 16x16, several runs of pixels per image),
    // values around 1000 with a spread of 1: a one-pass float variance E[x^2] - E[x]^2 would lose
    // every digit of it (1e6 against 1 in a 24-bit mantissa).
    const int channels = 128, height = 16, width = 16;
    RNG rng(14);
    const std::vector<float> gamma(channels, 1.f), beta(channels, 0.f);
    dnn::Net net = importWithCustomLayers(layerNormModel(gamma, beta, 1e-5f, height, width));
    const int shape[] = {1, channels, height, width};
    Mat x(4, shape, CV_32F);
    rng.fill(x, RNG::NORMAL, 1000.0, 1.0);
    net.setInput(x);
    const Mat y = net.forward();
    double maxErr = 0;
    for (int p = 0; p < height * width; ++p) {
        double mean = 0, var = 0;
        for (int c = 0; c < channels; ++c)
            mean += x.ptr<float>(0, c)[p];
        mean /= channels;
        for (int c = 0; c < channels; ++c)
            var += (x.ptr<float>(0, c)[p] - mean) * (x.ptr<float>(0, c)[p] - mean);
        var /= channels;
        for (int c = 0; c < channels; ++c)
            maxErr =
                std::max(maxErr, std::abs((x.ptr<float>(0, c)[p] - mean) / std::sqrt(var + 1e-5) -
                                          y.ptr<float>(0, c)[p]));
    }
    // The inputs themselves carry float rounding of 1000 * 6e-8 = 6e-5 against a spread of 1.
    EXPECT_LE(maxErr, 1e-3);
}

TEST(Anomaly_CustomLayers, channel_affine_permute_matches_reference_on_random_inputs)
{
    RNG rng(12);
    const auto scale = uniformValues(rng, C, 0.5f, 2.f), bias = uniformValues(rng, C, -1.f, 1.f);
    std::vector<int64_t> perm(C);
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937 shuffler(12);  // fixed seed: the same permutation every run
    std::shuffle(perm.begin(), perm.end(), shuffler);
    dnn::Net net = importWithCustomLayers(affinePermuteModel(scale, bias, perm));
    for (int batch : {1, 2}) {
        Mat x = randomBlob(rng, batch);
        net.setInput(x);
        Mat y = net.forward();
        double maxErr = 0;
        for (int n = 0; n < batch; ++n)
            for (int c = 0; c < C; ++c)
                for (int i = 0; i < H; ++i)
                    for (int j = 0; j < W; ++j) {
                        const int from = int(perm[c]);
                        const double ref =
                            double(x.at<float>(Vec4i(n, from, i, j))) * scale[from] + bias[from];
                        maxErr = std::max(maxErr, std::abs(ref - y.at<float>(Vec4i(n, c, i, j))));
                    }
        EXPECT_LE(maxErr, 1e-4) << "batch " << batch;
    }
}

TEST(Anomaly_CustomLayers, invalid_attributes_and_shapes_raise)
{
    const std::vector<float> ones(C, 1.f), zeros(C, 0.f);
    // Not a permutation (3 repeated).
    std::vector<int64_t> notPerm = {0, 1, 2, 3, 3, 5, 6};
    EXPECT_THROW(importWithCustomLayers(affinePermuteModel(ones, zeros, notPerm)), cv::Exception);
    std::vector<int64_t> outOfRange = {0, 1, 2, 3, 4, 5, 9};
    EXPECT_THROW(importWithCustomLayers(affinePermuteModel(ones, zeros, outOfRange)),
                 cv::Exception);
    EXPECT_THROW(importWithCustomLayers(layerNormModel(ones, zeros, 0.f)), cv::Exception);
    EXPECT_THROW(importWithCustomLayers(softClampAffineModel(0.f)), cv::Exception);
    EXPECT_THROW(importWithCustomLayers(softClampAffineModel(-1.f)), cv::Exception);
    EXPECT_THROW(importWithCustomLayers(layerNormModel(ones, zeros, -1.f)), cv::Exception);
    // gamma with the wrong channel count: refused when shapes are known.
    const std::vector<float> short4(4, 1.f);
    EXPECT_THROW(
        {
            dnn::Net net = importWithCustomLayers(layerNormModel(short4, short4, 1e-5f));
            RNG rng(1);
            net.setInput(randomBlob(rng, 1));
            net.forward();
        },
        cv::Exception);
    // SoftClampAffine's a needs exactly twice the channels of x2.
    const auto runWithOddChannels = [] {
        dnn::Net net = importWithCustomLayers(softClampAffineModel(2.f, 2 * kCouplingRest + 1));
        const int xShape[] = {1, kCouplingRest, kCouplingH, kCouplingW};
        const int aShape[] = {1, 2 * kCouplingRest + 1, kCouplingH, kCouplingW};
        net.setInput(Mat(4, xShape, CV_32F, Scalar(1)), "x2");
        net.setInput(Mat(4, aShape, CV_32F, Scalar(0)), "a");
        net.forward();
    };
    EXPECT_THROW(runWithOddChannels(), cv::Exception);
}

// Conv (3x3, pad 1, bias) -> Relu6: the shape OpenCV fuses. Weights are wide enough that the
// convolution's outputs fall below 0, inside [0, 6] and above 6.
constexpr int kConvIn = 3, kConvOut = 4, kConvSize = 6;

TestModel convRelu6Model(const std::vector<float>& weight, const std::vector<float>& bias)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, kConvIn, kConvSize, kConvSize});
    m.floatTensor("w", {kConvOut, kConvIn, 3, 3}, weight);
    m.floatTensor("b", {kConvOut}, bias);
    m.node("Conv", {"x", "w", "b"}, {"conv"},
           {TestAttr::list("kernel_shape", {3, 3}), TestAttr::list("pads", {1, 1, 1, 1}),
            TestAttr::list("strides", {1, 1})});
    m.node("Relu6", {"conv"}, {"y"}, {}, "org.opencv.anomaly");
    m.output("y", {-1, kConvOut, kConvSize, kConvSize});
    return m;
}

/** Direct convolution in double, then the clamp to [0, 6]. Also counts outputs per clamp side. */
Mat convThenClampReference(const Mat& x, const std::vector<float>& weight,
                           const std::vector<float>& bias, int counts[3])
{
    const int batch = x.size[0];
    const int shape[] = {batch, kConvOut, kConvSize, kConvSize};
    Mat ref(4, shape, CV_64F);
    for (int n = 0; n < batch; ++n)
        for (int o = 0; o < kConvOut; ++o)
            for (int i = 0; i < kConvSize; ++i)
                for (int j = 0; j < kConvSize; ++j) {
                    double acc = bias[o];
                    for (int c = 0; c < kConvIn; ++c)
                        for (int di = 0; di < 3; ++di)
                            for (int dj = 0; dj < 3; ++dj) {
                                const int yi = i + di - 1, xj = j + dj - 1;
                                if (yi < 0 || yi >= kConvSize || xj < 0 || xj >= kConvSize)
                                    continue;
                                acc += double(weight[((o * kConvIn + c) * 3 + di) * 3 + dj]) *
                                       x.at<float>(Vec4i(n, c, yi, xj));
                            }
                    counts[acc < 0 ? 0 : acc > 6 ? 2 : 1]++;
                    ref.at<double>(Vec4i(n, o, i, j)) = std::min(std::max(acc, 0.0), 6.0);
                }
    return ref;
}

TEST(Anomaly_CustomLayers, relu6_after_conv_matches_conv_then_clamp_and_is_fused)
{
    RNG rng(13);
    const auto weight = uniformValues(rng, kConvOut * kConvIn * 9, -1.5f, 1.5f);
    const auto bias = uniformValues(rng, kConvOut, -1.f, 4.f);
    for (bool fusion : {true, false}) {
        dnn::Net net = importWithCustomLayers(convRelu6Model(weight, bias));
        net.enableFusion(fusion);
        const int relu6Id = layerIdOfType(net, "org.opencv.anomaly.Relu6");
        ASSERT_GT(relu6Id, 0);
        // OpenCV's own ReLU6 layer: what its conv+activation fusion and CUDA backend recognise.
        Ptr<dnn::ReLU6Layer> relu6 = net.getLayer(relu6Id).dynamicCast<dnn::ReLU6Layer>();
        ASSERT_FALSE(relu6.empty());
        EXPECT_EQ(relu6->minValue, 0.f);
        EXPECT_EQ(relu6->maxValue, 6.f);
        for (int batch : {1, 2}) {
            const int shape[] = {batch, kConvIn, kConvSize, kConvSize};
            Mat x(4, shape, CV_32F);
            rng.fill(x, RNG::NORMAL, 0.5, 2.0);
            net.setInput(x);
            Mat y = net.forward();
            int counts[3] = {0, 0, 0};
            const Mat ref = convThenClampReference(x, weight, bias, counts);
            ASSERT_EQ(y.total(), ref.total());
            EXPECT_GT(counts[0], 0) << "no output below 0: the test would not see the clamp";
            EXPECT_GT(counts[1], 0);
            EXPECT_GT(counts[2], 0) << "no output above 6: the test would not see the clamp";
            Mat y64;
            y.convertTo(y64, CV_64F);
            EXPECT_LE(cv::norm(y64, ref, NORM_INF), 1e-4)
                << "fusion " << fusion << ", batch " << batch;
            // A layer fused into the convolution is skipped at forward: it records no time.
            if (fusion)
                EXPECT_EQ(recordedTicks(net, relu6Id), 0.0) << "Relu6 ran as its own layer";
            else
                EXPECT_GT(recordedTicks(net, relu6Id), 0.0);
        }
    }
}

TEST(Anomaly_CustomLayers, relu6_with_a_constant_input_raises)
{
    TestModel m;
    m.useCustomDomain();
    m.input("x", {-1, C, H, W});
    m.floatTensor("six", {1}, {6.f});
    m.node("Relu6", {"x", "six"}, {"y"}, {}, "org.opencv.anomaly");
    m.output("y", {-1, C, H, W});
    EXPECT_THROW(importWithCustomLayers(m), cv::Exception);
}

TEST(Anomaly_CustomLayers, registration_is_thread_safe_and_idempotent)
{
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([] { registerCustomLayers(); });
    for (auto& th : threads)
        th.join();
    registerCustomLayers();
    EXPECT_TRUE(dnn::LayerFactory::isLayerRegistered("org.opencv.anomaly.LayerNorm"));
    EXPECT_TRUE(dnn::LayerFactory::isLayerRegistered("org.opencv.anomaly.ChannelAffinePermute"));
    EXPECT_TRUE(dnn::LayerFactory::isLayerRegistered("org.opencv.anomaly.Relu6"));
    EXPECT_TRUE(dnn::LayerFactory::isLayerRegistered("org.opencv.anomaly.SoftClampAffine"));
    EXPECT_TRUE(dnn::LayerFactory::isLayerRegistered("org.opencv.anomaly.DepthwiseConv"));
    EXPECT_TRUE(dnn::LayerFactory::isLayerRegistered("org.opencv.anomaly.SoftmaxLastAxis"));
}

}  // namespace
}  // namespace opencv_test
