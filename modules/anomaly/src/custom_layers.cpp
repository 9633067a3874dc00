// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "custom_layers.hpp"

#include "affine_coupling_layer.hpp"
#include "attention_layer.hpp"
#include "attention_pooling_layer.hpp"
#include "bilinear_upsample_layer.hpp"
#include "dense_conv_layer.hpp"
#include "depthwise_conv_layer.hpp"
#include "inverted_residual_layer.hpp"
#include "mean_squared_difference_layer.hpp"
#include "pointwise_conv_layer.hpp"
#include "positionwise_linear_layer.hpp"
#include "precomp.hpp"
#include "simd_lanes.hpp"
#include "soft_clamp_affine_kernel.hpp"
#include "softmax_kernel.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

namespace cv {
namespace anomaly {

const char* const kLayerNormType = "org.opencv.anomaly.LayerNorm";
const char* const kChannelAffinePermuteType = "org.opencv.anomaly.ChannelAffinePermute";
const char* const kRelu6Type = "org.opencv.anomaly.Relu6";
const char* const kSoftClampAffineType = "org.opencv.anomaly.SoftClampAffine";
const char* const kSoftmaxLastAxisType = "org.opencv.anomaly.SoftmaxLastAxis";

void softClampAffineRow(const float* x2, const float* logScale, const float* shift, float clamp,
                        int length, float* out)
{
#ifdef ANOMALY_HAVE_AVX2_KERNEL
    int i = avx2KernelsUsable()
                ? softclamp::affineVectorsAvx2(x2, logScale, shift, clamp, length, out)
                : softclamp::affineVectors<UniversalLanes>(x2, logScale, shift, clamp, length, out);
#else
    int i = softclamp::affineVectors<UniversalLanes>(x2, logScale, shift, clamp, length, out);
#endif
    for (; i < length; ++i)
        out[i] = x2[i] * std::exp(clamp * std::tanh(logScale[i])) + shift[i];
}

PerChannelNchwLayer::PerChannelNchwLayer(const dnn::LayerParams& params, const char* opName,
                                         std::vector<const char*> parameterNames, size_t blobCount)
    : SingleOutputLayer(params), opName_(opName), parameterNames_(std::move(parameterNames))
{
    if (blobs.size() != blobCount)
        CV_Error(Error::StsBadArg, cv::format("%s '%s': expects %d initializers, got %d", opName_,
                                              name.c_str(), int(blobCount), int(blobs.size())));
}

void PerChannelNchwLayer::checkChannels(int) const {}

bool PerChannelNchwLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                          std::vector<dnn::MatShape>& outputs,
                                          std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 1)
        CV_Error(Error::StsBadArg, cv::format("%s '%s': expects 1 non-constant input, got %d",
                                              opName_, name.c_str(), int(inputs.size())));
    if (inputs[0].size() != 4)
        CV_Error(Error::StsBadArg, cv::format("%s '%s': input must be 4-D NCHW, got %d-D", opName_,
                                              name.c_str(), int(inputs[0].size())));
    const int channels = inputs[0][1];
    for (size_t i = 0; i < parameterNames_.size(); ++i)
        if (blobs[i].depth() != CV_32F || int(blobs[i].total()) != channels)
            CV_Error(Error::StsBadArg,
                     cv::format("%s '%s': '%s' must be a float initializer with %d values", opName_,
                                name.c_str(), parameterNames_[i], channels));
    checkChannels(channels);
    outputs.assign(1, inputs[0]);
    return false;
}

LayerNormLayer::LayerNormLayer(const dnn::LayerParams& params)
    : PerChannelNchwLayer(params, "LayerNorm", {"gamma", "beta"}, 2)
{
    epsilon_ = params.get<float>("epsilon", 1e-5f);
    if (!(epsilon_ > 0.f) || !std::isfinite(epsilon_))
        CV_Error(Error::StsBadArg,
                 cv::format("LayerNorm '%s': epsilon must be positive and finite", name.c_str()));
}

Ptr<dnn::Layer> LayerNormLayer::create(dnn::LayerParams& params)
{
    return makePtr<LayerNormLayer>(params);
}

#if CV_SIMD
namespace {

/** LayerNorm of kVectors adjacent vectors of pixels starting at pixel p: the mean over the
channels, then the spread around it (exact when the mean is large against the spread), then the
normalised values. A sum over the channels is a chain of dependent additions; one vector's chain
waits on the addition latency at every channel, so kVectors independent chains run side by side.
Each pixel's arithmetic is the same whatever kVectors is. */
template <int kVectors>
void normalizeVectors(const float* src, float* dst, size_t stride, int p, int channels,
                      const float* gamma, const float* beta, float invChannels, float epsilon)
{
    const int lanes = v_float32::nlanes;
    const v_float32 vInvChannels = vx_setall_f32(invChannels), vEpsilon = vx_setall_f32(epsilon),
                    one = vx_setall_f32(1.f);
    v_float32 mean[kVectors], spread[kVectors], invStd[kVectors];
    for (int v = 0; v < kVectors; ++v)
        mean[v] = spread[v] = vx_setzero_f32();
    for (int c = 0; c < channels; ++c)
        for (int v = 0; v < kVectors; ++v)
            mean[v] += vx_load(src + c * stride + p + v * lanes);
    for (int v = 0; v < kVectors; ++v)
        mean[v] = mean[v] * vInvChannels;
    for (int c = 0; c < channels; ++c)
        for (int v = 0; v < kVectors; ++v) {
            const v_float32 d = vx_load(src + c * stride + p + v * lanes) - mean[v];
            spread[v] += d * d;
        }
    for (int v = 0; v < kVectors; ++v)
        invStd[v] = one / v_sqrt(spread[v] * vInvChannels + vEpsilon);
    for (int c = 0; c < channels; ++c) {
        const v_float32 g = vx_setall_f32(gamma[c]), b = vx_setall_f32(beta[c]);
        for (int v = 0; v < kVectors; ++v) {
            const size_t at = c * stride + p + v * lanes;
            v_store(dst + at, (vx_load(src + at) - mean[v]) * invStd[v] * g + b);
        }
    }
}

}  // namespace
#endif

void LayerNormLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int batch = x.size[0], channels = x.size[1];
    const int plane = x.size[2] * x.size[3];
    const size_t stride = size_t(plane);
    const float* gamma = blobs[0].ptr<float>();
    const float* beta = blobs[1].ptr<float>();
    const float invChannels = 1.f / float(channels), epsilon = epsilon_;

    // Pixels are independent, and adjacent pixels are adjacent within each channel's plane: a
    // vector holds adjacent pixels and walks the channels. A task takes a run of pixels of one
    // image, so that even the transformer's 16x16 planes are shared by the threads. The scalar
    // tail repeats the vector operations in the same order, so a pixel's values do not depend on
    // where it falls.
    constexpr int kRunPixels = 64;
    const int runs = (plane + kRunPixels - 1) / kRunPixels;
    parallel_for_(Range(0, batch * runs), [&](const Range& r) {
        for (int task = r.start; task < r.end; ++task) {
            const int n = task / runs, first = task % runs * kRunPixels;
            const int end = std::min(plane, first + kRunPixels);
            const float* src = x.ptr<float>(n);
            float* dst = y.ptr<float>(n);
            int p = first;
#if CV_SIMD
            constexpr int kVectors = 4;
            const int lanes = v_float32::nlanes;
            for (; p + kVectors * lanes <= end; p += kVectors * lanes)
                normalizeVectors<kVectors>(src, dst, stride, p, channels, gamma, beta, invChannels,
                                           epsilon);
            for (; p + lanes <= end; p += lanes)
                normalizeVectors<1>(src, dst, stride, p, channels, gamma, beta, invChannels,
                                    epsilon);
#endif
            for (; p < end; ++p) {
                float sum = 0.f;
                for (int c = 0; c < channels; ++c)
                    sum += src[c * stride + p];
                const float mean = sum * invChannels;
                float spread = 0.f;
                for (int c = 0; c < channels; ++c) {
                    const float d = src[c * stride + p] - mean;
                    spread += d * d;
                }
                const float invStd = 1.f / std::sqrt(spread * invChannels + epsilon);
                for (int c = 0; c < channels; ++c)
                    dst[c * stride + p] =
                        (src[c * stride + p] - mean) * invStd * gamma[c] + beta[c];
            }
        }
    });
}

ChannelAffinePermuteLayer::ChannelAffinePermuteLayer(const dnn::LayerParams& params)
    : PerChannelNchwLayer(params, "ChannelAffinePermute", {"scale", "bias"}, 3)
{
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

void ChannelAffinePermuteLayer::checkChannels(int channels) const
{
    if (int(perm_.size()) != channels)
        CV_Error(Error::StsBadArg,
                 cv::format("ChannelAffinePermute '%s': perm has %d entries for %d channels",
                            name.c_str(), int(perm_.size()), channels));
}

void ChannelAffinePermuteLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
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

Ptr<dnn::Layer> createRelu6Layer(dnn::LayerParams& params)
{
    // The importer turns constant inputs into blobs; Relu6 has exactly one non-constant input.
    if (!params.blobs.empty())
        CV_Error(Error::StsBadArg,
                 cv::format("Relu6 '%s': expects 1 non-constant input and no initializers, got %d",
                            params.name.c_str(), int(params.blobs.size())));
    dnn::LayerParams relu6 = params;
    relu6.set("min_value", 0.f);
    relu6.set("max_value", 6.f);
    return dnn::ReLU6Layer::create(relu6);
}

SoftClampAffineLayer::SoftClampAffineLayer(const dnn::LayerParams& params)
    : SingleOutputLayer(params)
{
    clamp_ = params.get<float>("clamp", 0.f);
    if (!(clamp_ > 0.f) || !std::isfinite(clamp_))
        CV_Error(
            Error::StsBadArg,
            cv::format("SoftClampAffine '%s': clamp must be positive and finite", name.c_str()));
    requireNoInitializers("SoftClampAffine", "2 non-constant inputs");
}

Ptr<dnn::Layer> SoftClampAffineLayer::create(dnn::LayerParams& params)
{
    return makePtr<SoftClampAffineLayer>(params);
}

bool SoftClampAffineLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                           std::vector<dnn::MatShape>& outputs,
                                           std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 2)
        CV_Error(Error::StsBadArg, cv::format("SoftClampAffine '%s': expects 2 inputs, got %d",
                                              name.c_str(), int(inputs.size())));
    const dnn::MatShape &x = inputs[0], &a = inputs[1];
    if (x.size() != 4 || a.size() != 4 || a[0] != x[0] || a[1] != 2 * x[1] || a[2] != x[2] ||
        a[3] != x[3])
        CV_Error(Error::StsBadArg,
                 cv::format("SoftClampAffine '%s': inputs must be [N,R,H,W] and [N,2R,H,W]",
                            name.c_str()));
    outputs.assign(1, x);
    return false;
}

void SoftClampAffineLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat &x = inputs[0], &a = inputs[1];
    const int batch = x.size[0], channels = x.size[1];
    const int plane = x.size[2] * x.size[3];
    // One (image, channel) plane per task; every plane starts its vector loop at its first
    // element, so an image gets the same values whatever its position in the batch.
    parallel_for_(Range(0, batch * channels), [&](const Range& r) {
        for (int idx = r.start; idx < r.end; ++idx) {
            const int n = idx / channels, c = idx % channels;
            softClampAffineRow(x.ptr<float>(n, c), a.ptr<float>(n, c),
                               a.ptr<float>(n, c + channels), clamp_, plane, y.ptr<float>(n, c));
        }
    });
}

SoftmaxLastAxisLayer::SoftmaxLastAxisLayer(const dnn::LayerParams& params)
    : SingleOutputLayer(params)
{
    requireNoInitializers("SoftmaxLastAxis", "1 non-constant input");
}

Ptr<dnn::Layer> SoftmaxLastAxisLayer::create(dnn::LayerParams& params)
{
    return makePtr<SoftmaxLastAxisLayer>(params);
}

bool SoftmaxLastAxisLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                           std::vector<dnn::MatShape>& outputs,
                                           std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 1 || inputs[0].empty() || inputs[0].back() < 1)
        CV_Error(Error::StsBadArg,
                 cv::format("SoftmaxLastAxis '%s': expects 1 input with a non-empty last axis",
                            name.c_str()));
    outputs.assign(1, inputs[0]);
    return false;
}

void SoftmaxLastAxisLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int length = x.size[x.dims - 1];
    const int rows = int(x.total() / size_t(length));
    // Rows are independent; each runs the same sequence, so values do not depend on batch size.
    parallel_for_(
        Range(0, rows),
        [&](const Range& r) {
#ifdef ANOMALY_HAVE_AVX2_KERNEL
            const auto vectorRow =
                avx2KernelsUsable() ? softmax::rowAvx2 : softmax::row<UniversalLanes>;
#else
            const auto vectorRow = softmax::row<UniversalLanes>;
#endif
            for (int row = r.start; row < r.end; ++row) {
                const float* src = x.ptr<float>() + size_t(row) * length;
                float* dst = y.ptr<float>() + size_t(row) * length;
                if (vectorRow(src, length, dst))
                    continue;
                const float maxValue = *std::max_element(src, src + length);
                float sum = 0.f;
                for (int i = 0; i < length; ++i)
                    sum += dst[i] = std::exp(src[i] - maxValue);
                for (int i = 0; i < length; ++i)
                    dst[i] /= sum;
            }
        },
        double(x.total()) / 16384);
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
        if (!dnn::LayerFactory::isLayerRegistered(kRelu6Type))
            dnn::LayerFactory::registerLayer(kRelu6Type, createRelu6Layer);
        if (!dnn::LayerFactory::isLayerRegistered(kSoftClampAffineType))
            dnn::LayerFactory::registerLayer(kSoftClampAffineType, SoftClampAffineLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kSoftmaxLastAxisType))
            dnn::LayerFactory::registerLayer(kSoftmaxLastAxisType, SoftmaxLastAxisLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kDepthwiseConvType))
            dnn::LayerFactory::registerLayer(kDepthwiseConvType, DepthwiseConvLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kPointwiseConvType))
            dnn::LayerFactory::registerLayer(kPointwiseConvType, PointwiseConvLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kDenseConvType))
            dnn::LayerFactory::registerLayer(kDenseConvType, DenseConvLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kAffineCouplingType))
            dnn::LayerFactory::registerLayer(kAffineCouplingType, AffineCouplingLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kInvertedResidualType))
            dnn::LayerFactory::registerLayer(kInvertedResidualType, InvertedResidualLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kAttentionType))
            dnn::LayerFactory::registerLayer(kAttentionType, AttentionLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kAttentionPoolingType))
            dnn::LayerFactory::registerLayer(kAttentionPoolingType, AttentionPoolingLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kMeanSquaredDifferenceType))
            dnn::LayerFactory::registerLayer(kMeanSquaredDifferenceType,
                                             MeanSquaredDifferenceLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kBilinearUpsampleType))
            dnn::LayerFactory::registerLayer(kBilinearUpsampleType, BilinearUpsampleLayer::create);
        if (!dnn::LayerFactory::isLayerRegistered(kPositionwiseLinearType))
            dnn::LayerFactory::registerLayer(kPositionwiseLinearType,
                                             PositionwiseLinearLayer::create);
    });
}

}  // namespace anomaly
}  // namespace cv
