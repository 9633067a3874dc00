// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "custom_layers.hpp"

#include "precomp.hpp"

#include <cmath>
#include <mutex>

namespace cv {
namespace anomaly {

const char* const kLayerNormType = "org.opencv.anomaly.LayerNorm";
const char* const kChannelAffinePermuteType = "org.opencv.anomaly.ChannelAffinePermute";

namespace {

void requireNchw(const std::vector<dnn::MatShape>& inputs, const String& op, const String& name)
{
    if (inputs.size() != 1)
        CV_Error(Error::StsBadArg, cv::format("%s '%s': expects 1 non-constant input, got %d",
                                              op.c_str(), name.c_str(), int(inputs.size())));
    if (inputs[0].size() != 4)
        CV_Error(Error::StsBadArg, cv::format("%s '%s': input must be 4-D NCHW, got %d-D",
                                              op.c_str(), name.c_str(), int(inputs[0].size())));
}

void requireFloatBlob(const std::vector<Mat>& blobs, size_t index, int channels, const char* what,
                      const String& op, const String& name)
{
    if (blobs.size() <= index || blobs[index].depth() != CV_32F ||
        int(blobs[index].total()) != channels)
        CV_Error(Error::StsBadArg,
                 cv::format("%s '%s': '%s' must be a float initializer with %d values", op.c_str(),
                            name.c_str(), what, channels));
}

}  // namespace

LayerNormLayer::LayerNormLayer(const dnn::LayerParams& params) : Layer(params)
{
    epsilon_ = params.get<float>("epsilon", 1e-5f);
    if (!(epsilon_ > 0.f) || !std::isfinite(epsilon_))
        CV_Error(Error::StsBadArg,
                 cv::format("LayerNorm '%s': epsilon must be positive and finite", name.c_str()));
    if (blobs.size() != 2)
        CV_Error(Error::StsBadArg,
                 cv::format("LayerNorm '%s': expects gamma and beta initializers, got %d",
                            name.c_str(), int(blobs.size())));
}

Ptr<dnn::Layer> LayerNormLayer::create(dnn::LayerParams& params)
{
    return makePtr<LayerNormLayer>(params);
}

bool LayerNormLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                     std::vector<dnn::MatShape>& outputs,
                                     std::vector<dnn::MatShape>&) const
{
    requireNchw(inputs, "LayerNorm", name);
    const int channels = inputs[0][1];
    requireFloatBlob(blobs, 0, channels, "gamma", "LayerNorm", name);
    requireFloatBlob(blobs, 1, channels, "beta", "LayerNorm", name);
    outputs.assign(1, inputs[0]);
    return false;
}

void LayerNormLayer::forward(InputArrayOfArrays inputsArr, OutputArrayOfArrays outputsArr,
                             OutputArrayOfArrays)
{
    std::vector<Mat> inputs, outputs;
    inputsArr.getMatVector(inputs);
    outputsArr.getMatVector(outputs);
    const Mat& x = inputs[0];
    Mat& y = outputs[0];
    const int batch = x.size[0], channels = x.size[1];
    const int plane = x.size[2] * x.size[3];
    const float* gamma = blobs[0].ptr<float>();
    const float* beta = blobs[1].ptr<float>();

    // Pixels are independent; within a pixel the channel values are plane-strided in NCHW, so work
    // on rows of pixels at once to keep the inner loops contiguous.
    parallel_for_(
        Range(0, batch * plane),
        [&](const Range& r) {
            for (int idx = r.start; idx < r.end; ++idx) {
                const int n = idx / plane, p = idx % plane;
                const float* src = x.ptr<float>(n) + p;
                float* dst = y.ptr<float>(n) + p;
                double sum = 0, sumSq = 0;
                for (int c = 0; c < channels; ++c) {
                    const double v = src[size_t(c) * plane];
                    sum += v;
                    sumSq += v * v;
                }
                const double mean = sum / channels;
                const double var = std::max(sumSq / channels - mean * mean, 0.0);
                const float invStd = float(1.0 / std::sqrt(var + epsilon_));
                const float m = float(mean);
                for (int c = 0; c < channels; ++c)
                    dst[size_t(c) * plane] =
                        (src[size_t(c) * plane] - m) * invStd * gamma[c] + beta[c];
            }
        },
        double(batch * plane) / 4096);
}

ChannelAffinePermuteLayer::ChannelAffinePermuteLayer(const dnn::LayerParams& params) : Layer(params)
{
    if (blobs.size() != 3)
        CV_Error(Error::StsBadArg,
                 cv::format("ChannelAffinePermute '%s': expects scale, bias and perm initializers, "
                            "got %d",
                            name.c_str(), int(blobs.size())));
    const Mat& perm = blobs[2];
    if (perm.depth() != CV_32S)
        CV_Error(Error::StsBadArg,
                 cv::format("ChannelAffinePermute '%s': perm must be an integer initializer",
                            name.c_str()));
    perm_.assign(perm.ptr<int>(), perm.ptr<int>() + perm.total());
    std::vector<bool> seen(perm_.size(), false);
    for (int v : perm_) {
        if (v < 0 || v >= int(perm_.size()) || seen[v])
            CV_Error(Error::StsBadArg,
                     cv::format("ChannelAffinePermute '%s': perm is not a permutation of 0..%d",
                                name.c_str(), int(perm_.size()) - 1));
        seen[v] = true;
    }
}

Ptr<dnn::Layer> ChannelAffinePermuteLayer::create(dnn::LayerParams& params)
{
    return makePtr<ChannelAffinePermuteLayer>(params);
}

bool ChannelAffinePermuteLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                                std::vector<dnn::MatShape>& outputs,
                                                std::vector<dnn::MatShape>&) const
{
    requireNchw(inputs, "ChannelAffinePermute", name);
    const int channels = inputs[0][1];
    requireFloatBlob(blobs, 0, channels, "scale", "ChannelAffinePermute", name);
    requireFloatBlob(blobs, 1, channels, "bias", "ChannelAffinePermute", name);
    if (int(perm_.size()) != channels)
        CV_Error(Error::StsBadArg,
                 cv::format("ChannelAffinePermute '%s': perm has %d entries for %d channels",
                            name.c_str(), int(perm_.size()), channels));
    outputs.assign(1, inputs[0]);
    return false;
}

void ChannelAffinePermuteLayer::forward(InputArrayOfArrays inputsArr,
                                        OutputArrayOfArrays outputsArr, OutputArrayOfArrays)
{
    std::vector<Mat> inputs, outputs;
    inputsArr.getMatVector(inputs);
    outputsArr.getMatVector(outputs);
    const Mat& x = inputs[0];
    Mat& y = outputs[0];
    const int batch = x.size[0], channels = x.size[1];
    const size_t plane = size_t(x.size[2]) * x.size[3];
    const float* scale = blobs[0].ptr<float>();
    const float* bias = blobs[1].ptr<float>();
    parallel_for_(Range(0, batch * channels), [&](const Range& r) {
        for (int idx = r.start; idx < r.end; ++idx) {
            const int n = idx / channels, c = idx % channels, from = perm_[c];
            const float* src = x.ptr<float>(n) + from * plane;
            float* dst = y.ptr<float>(n) + c * plane;
            const float s = scale[from], b = bias[from];
            for (size_t i = 0; i < plane; ++i)
                dst[i] = src[i] * s + b;
        }
    });
}

void registerCustomLayers()
{
    static std::once_flag once;
    std::call_once(once, [] {
        // Our types live in our own domain, so they cannot shadow an OpenCV built-in; the check
        // keeps a second copy of the module (e.g. in-tree plus standalone) from double-registering.
        if (!dnn::LayerFactory::isLayerRegistered(kLayerNormType))
            dnn::LayerFactory::registerLayer(kLayerNormType, LayerNormLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kChannelAffinePermuteType))
            dnn::LayerFactory::registerLayer(kChannelAffinePermuteType,
                                             ChannelAffinePermuteLayer::create);
    });
}

}  // namespace anomaly
}  // namespace cv
