// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Helpers shared by the tests of the custom cv::dnn layers.
#ifndef OPENCV_ANOMALY_CUSTOM_LAYER_TEST_SUPPORT_HPP
#define OPENCV_ANOMALY_CUSTOM_LAYER_TEST_SUPPORT_HPP

#include "test_precomp.hpp"

#include "onnx_test_writer.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <algorithm>
#include <cfloat>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace opencv_test {

/** The test model through OpenCV's importer with the module's layers registered. */
inline dnn::Net importWithCustomLayers(const TestModel& m)
{
    registerCustomLayers();
    return dnn::readNetFromONNX(m.serialize());
}

/** n values drawn uniformly from [lo, hi). */
inline std::vector<float> uniformValues(RNG& rng, size_t n, float lo, float hi)
{
    std::vector<float> v(n);
    for (float& x : v)
        x = rng.uniform(lo, hi);
    return v;
}

/** A [2,channels,height,width] batch of normal values whose second image is the first: a layer's
output for an image must not depend on its position in the batch. */
inline Mat twinBatch(RNG& rng, int channels, int height, int width)
{
    const int shape[] = {2, channels, height, width};
    Mat x(4, shape, CV_32F);
    Mat first(channels * height * width, 1, CV_32F, x.ptr<float>(0));
    rng.fill(first, RNG::NORMAL, 0.0, 1.0);
    std::copy(x.ptr<float>(0), x.ptr<float>(1), x.ptr<float>(1));
    return x;
}

/** Id of the first layer of this type in the imported net, -1 when none. */
inline int layerIdOfType(const dnn::Net& net, const std::string& type)
{
    for (const auto& name : net.getLayerNames()) {
        const int id = net.getLayerId(name);
        if (net.getLayer(id)->type == type)
            return id;
    }
    return -1;
}

/** Ticks the last forward recorded for layer `id`: 0 for a layer fused into the one before it,
which the net skips. */
inline double recordedTicks(dnn::Net& net, int id)
{
    std::vector<double> ticks;
    net.getPerfProfile(ticks);  // one entry per layer after the input layer (id 0)
    CV_Assert(id > 0 && id <= int(ticks.size()));
    return ticks[size_t(id - 1)];
}

/** For a convolution layer that absorbs a following ReLU6 or ReLU: builds the model with each of
them after the convolution (modelWith(op, domain)), runs it with the net's fusion on and off on
input(), and expects the output to be the clamped reference(x) (in double, unclamped) to 1e-4, and
the activation, when fused, to record no time (the net skips it). The reference must have values
below 0 and above 6, or the test could not see the clamp. */
inline void expectReluFusionClamps(
    const std::function<TestModel(const std::string& op, const std::string& domain)>& modelWith,
    const std::function<Mat()>& input, const std::function<Mat(const Mat&)>& reference)
{
    const std::pair<std::string, std::string> activations[] = {{"Relu6", "org.opencv.anomaly"},
                                                               {"Relu", ""}};
    for (const auto& activation : activations) {
        const double upper = activation.first == "Relu6" ? 6.0 : DBL_MAX;
        for (bool fusion : {true, false}) {
            dnn::Net net = importWithCustomLayers(modelWith(activation.first, activation.second));
            net.enableFusion(fusion);
            const Mat x = input();
            net.setInput(x);
            const Mat y = net.forward();
            Mat ref = reference(x);
            double lo = 0, hi = 0;
            cv::minMaxIdx(ref, &lo, &hi);
            ASSERT_LT(lo, 0.0) << "no output below 0: the test would not see the clamp";
            ASSERT_GT(hi, 6.0) << "no output above 6: the test would not see the clamp";
            for (auto it = ref.begin<double>(); it != ref.end<double>(); ++it)
                *it = std::min(std::max(*it, 0.0), upper);
            Mat y64;
            y.convertTo(y64, CV_64F);
            EXPECT_LE(cv::norm(y64, ref, NORM_INF), 1e-4)
                << activation.first << ", fusion " << fusion;
            int activationId = -1;  // the importer also adds an identity layer for the output
            for (const String& layerName : net.getLayerNames()) {
                const int id = net.getLayerId(layerName);
                if (!net.getLayer(id).dynamicCast<dnn::ActivationLayer>().empty())
                    activationId = id;
            }
            ASSERT_GT(activationId, 0);
            if (fusion)
                EXPECT_EQ(recordedTicks(net, activationId), 0.0)
                    << activation.first << " ran on its own";
            else
                EXPECT_GT(recordedTicks(net, activationId), 0.0) << activation.first;
        }
    }
}

}  // namespace opencv_test

#endif  // OPENCV_ANOMALY_CUSTOM_LAYER_TEST_SUPPORT_HPP
