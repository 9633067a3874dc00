// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "affine_coupling_layer.hpp"

#include "custom_layers.hpp"
#include "depthwise_conv_layer.hpp"

#include "precomp.hpp"

#include <opencv2/core/hal/intrin.hpp>

#include <opencv2/dnn/shape_utils.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cv {
namespace anomaly {

const char* const kAffineCouplingType = "org.opencv.anomaly.AffineCoupling";

namespace {

enum Blob
{
    kDepthwiseWeight,
    kDepthwiseBias,
    kProjectWeight,
    kProjectBias,
    kScale,
    kBias,
    kPerm,
    kBlobCount
};

/** Pixels per band: the band's intermediates (S + 2R values per pixel, 24-100 channels in the
flows of EfficientNet-Lite0 models) stay within the core's L2 cache. */
constexpr int kBandPixels = 256;

/** Packs `pixels` values of each of `channels` rows (row stride `pixels`) into consecutive
[channels][columns] panels, applying the leaky ReLU on the way. */
void packLeakyPanels(const float* rows, int channels, size_t pixels, int columns, float slope,
                     float* panels)
{
    for (size_t first = 0; first < pixels; first += size_t(columns)) {
        const int count = int(std::min<size_t>(columns, pixels - first));
        for (int c = 0; c < channels; ++c, panels += columns) {
            const float* src = rows + size_t(c) * pixels + first;
            // max(v, 0) + slope * min(v, 0): the leaky ReLU exactly, without a branch per value
            // (a compare-and-jump on random signs cost more than the whole 1x1 product).
            int j = 0;
#if CV_SIMD
            const v_float32 zero = vx_setzero_f32(), vSlope = vx_setall_f32(slope);
            for (; j + v_float32::nlanes <= count; j += v_float32::nlanes) {
                const v_float32 v = vx_load(src + j);
                v_store(panels + j, v_fma(v_min(v, zero), vSlope, v_max(v, zero)));
            }
#endif
            for (; j < count; ++j)
                panels[j] = std::max(src[j], 0.f) + slope * std::min(src[j], 0.f);
            std::fill(panels + count, panels + columns, 0.f);
        }
    }
}

}  // namespace

AffineCouplingLayer::AffineCouplingLayer(const dnn::LayerParams& params) : SingleOutputLayer(params)
{
    const char* const what = name.c_str();
    if (blobs.size() != kBlobCount)
        CV_Error(Error::StsBadArg,
                 cv::format("AffineCoupling '%s': expects the input plus %d initializers "
                            "(depthwise weight and bias, projection weight and bias, scale, "
                            "bias, perm), got %d",
                            what, int(kBlobCount), int(blobs.size())));
    const Mat &dw = blobs[kDepthwiseWeight], &pw = blobs[kProjectWeight];
    if (dw.dims != 4 || dw.size[0] < 1 || dw.size[1] != 1 || dw.size[2] != dw.size[3] ||
        dw.size[2] % 2 != 1)
        CV_Error(
            Error::StsBadArg,
            cv::format("AffineCoupling '%s': depthwise weight must be [S,1,k,k] with k odd", what));
    split_ = dw.size[0];
    kernel_ = dw.size[2];
    channels_ = int(blobs[kScale].total());
    const int rest = channels_ - split_;
    if (rest < 1)
        CV_Error(Error::StsBadArg,
                 cv::format("AffineCoupling '%s': %d scale values leave no channels for the "
                            "%d depthwise kernels to transform",
                            what, channels_, split_));
    for (int i = 0; i < kPerm; ++i)
        if (blobs[i].depth() != CV_32F)
            CV_Error(Error::StsBadArg,
                     cv::format("AffineCoupling '%s': initializer %d must be float", what, i + 1));
    if (int(blobs[kDepthwiseBias].total()) != split_)
        CV_Error(
            Error::StsBadArg,
            cv::format("AffineCoupling '%s': depthwise bias must have %d values", what, split_));
    if (pw.dims != 4 || pw.size[0] != 2 * rest || pw.size[1] != split_ || pw.size[2] != 1 ||
        pw.size[3] != 1 || int(blobs[kProjectBias].total()) != 2 * rest)
        CV_Error(Error::StsBadArg,
                 cv::format("AffineCoupling '%s': projection must be a [%d,%d,1,1] weight and "
                            "%d bias values",
                            what, 2 * rest, split_, 2 * rest));
    if (int(blobs[kBias].total()) != channels_)
        CV_Error(Error::StsBadArg,
                 cv::format("AffineCoupling '%s': bias must have %d values", what, channels_));
    const Mat& perm = blobs[kPerm];
    if (perm.depth() != CV_32S || int(perm.total()) != channels_)
        CV_Error(Error::StsBadArg,
                 cv::format("AffineCoupling '%s': perm must be an integer initializer with %d "
                            "values",
                            what, channels_));
    perm_.assign(perm.ptr<int>(), perm.ptr<int>() + perm.total());
    std::vector<bool> seen(perm_.size(), false);
    for (int v : perm_) {
        if (v < 0 || v >= channels_ || seen[size_t(v)])
            CV_Error(Error::StsBadArg,
                     cv::format("AffineCoupling '%s': perm is not a permutation of 0..%d", what,
                                channels_ - 1));
        seen[size_t(v)] = true;
    }
    clamp_ = params.get<float>("clamp", 0.f);
    if (!(clamp_ > 0.f) || !std::isfinite(clamp_))
        CV_Error(Error::StsBadArg,
                 cv::format("AffineCoupling '%s': clamp must be positive and finite", what));
    slope_ = params.get<float>("slope", 0.f);
    if (!std::isfinite(slope_))
        CV_Error(Error::StsBadArg, cv::format("AffineCoupling '%s': slope must be finite", what));
    project_ = pointwise::PackedWeights(pw.ptr<float>(), blobs[kProjectBias].ptr<float>(), 2 * rest,
                                        split_);
}

Ptr<dnn::Layer> AffineCouplingLayer::create(dnn::LayerParams& params)
{
    return makePtr<AffineCouplingLayer>(params);
}

bool AffineCouplingLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                          std::vector<dnn::MatShape>& outputs,
                                          std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 1)
        CV_Error(Error::StsBadArg,
                 cv::format("AffineCoupling '%s': expects 1 non-constant input, got %d",
                            name.c_str(), int(inputs.size())));
    const dnn::MatShape& x = inputs[0];
    if (x.size() != 4 || x[1] != channels_)
        CV_Error(Error::StsBadArg, cv::format("AffineCoupling '%s': input must be [N,%d,H,W]",
                                              name.c_str(), channels_));
    outputs.assign(1, x);
    return false;
}

void AffineCouplingLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int batch = x.size[0], height = x.size[2], width = x.size[3];
    const size_t plane = size_t(height) * size_t(width);
    if (batch == 0 || plane == 0)
        return;
    const int split = split_, rest = channels_ - split_, pad = kernel_ / 2;
    // Bands of about kBandPixels, and at least two per image so that two threads share even a
    // 16x16 plane at batch 1.
    const int bandRows = std::max(1, std::min(kBandPixels / width, (height + 1) / 2));
    const int bands = (height + bandRows - 1) / bandRows;
    const size_t bandPixels = size_t(bandRows) * size_t(width);

    const depthwise::PlaneKernel depthwiseKernel = depthwise::selectPlaneKernel();
    const pointwise::TileKernelChoice tile = pointwise::selectTileKernel();
    const int columns = tile.columns;
    const size_t bandPanelPixels = (bandPixels + columns - 1) / columns * columns;
    const float* depthwiseWeights = blobs[kDepthwiseWeight].ptr<float>();
    const float* depthwiseBias = blobs[kDepthwiseBias].ptr<float>();
    const float* scale = blobs[kScale].ptr<float>();
    const float* bias = blobs[kBias].ptr<float>();
    const float none = std::numeric_limits<float>::infinity();

    parallel_for_(Range(0, batch * bands), [&](const Range& r) {
        std::vector<int> tapOffsets;
        AutoBuffer<float> padded(size_t(bandRows + 2 * pad) * size_t(width + 2 * pad)),
            hidden(size_t(split) * bandPixels), panels(size_t(split) * bandPanelPixels),
            subnet(size_t(2 * rest) * bandPixels), transformed(bandPixels),
            tail(size_t(pointwise::kTileRows) * columns);
        for (int task = r.start; task < r.end; ++task) {
            const int n = task / bands, firstRow = task % bands * bandRows;
            const int rows = std::min(bandRows, height - firstRow);
            const size_t pixels = size_t(rows) * size_t(width);
            const size_t first = size_t(firstRow) * size_t(width);
            const float* image = x.ptr<float>(n);

            // Subnet on x1: depthwise k x k (its rows of this band), leaky ReLU, 1x1 to 2R.
            const depthwise::PaddedPlaneLayout layout =
                depthwise::planLayout(kernel_, kernel_, 1, rows, width, tapOffsets);
            for (int c = 0; c < split; ++c) {
                depthwise::fillPaddedPlane(image + size_t(c) * plane, height, width, pad, pad,
                                           firstRow, layout, padded.data(), nullptr, c > 0);
                depthwiseKernel(padded.data(), layout, depthwiseWeights + size_t(c) * layout.taps,
                                depthwiseBias[c], -none, none, hidden.data() + size_t(c) * pixels);
            }
            packLeakyPanels(hidden.data(), split, pixels, columns, slope_, panels.data());
            project_.multiplyPanels(tile, panels.data(), pixels, 0, project_.strips(), -none, none,
                                    subnet.data(), pixels, tail.data());

            // Output channel i is channel perm[i] of concat(x1, y2), scaled and shifted.
            float* out = y.ptr<float>(n) + first;
            for (int i = 0; i < channels_; ++i) {
                const int from = perm_[size_t(i)];
                const float* source = image + size_t(from) * plane + first;
                if (from >= split) {
                    const int j = from - split;
                    softClampAffineRow(source, subnet.data() + size_t(j) * pixels,
                                       subnet.data() + size_t(rest + j) * pixels, clamp_,
                                       int(pixels), transformed.data());
                    source = transformed.data();
                }
                float* dst = out + size_t(i) * plane;
                const float s = scale[from], b = bias[from];
                for (size_t p = 0; p < pixels; ++p)
                    dst[p] = source[p] * s + b;
            }
        }
    });
}

int64 AffineCouplingLayer::getFLOPS(const std::vector<dnn::MatShape>&,
                                    const std::vector<dnn::MatShape>& outputs) const
{
    // Multiply-adds of the two convolutions; the element-wise rest is a few operations per value.
    const int64 pixels = int64(dnn::total(outputs[0])) / channels_;
    const int64 rest = channels_ - split_;
    return 2 * pixels * split_ * (int64(kernel_) * kernel_ + 2 * rest);
}

}  // namespace anomaly
}  // namespace cv
