// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "bilinear_upsample_layer.hpp"

#include "precomp.hpp"

#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>
#include <cmath>

namespace cv {
namespace anomaly {

const char* const kBilinearUpsampleType = "org.opencv.anomaly.BilinearUpsample";

namespace upsample {

std::vector<SourceTap> sourceTaps(int length, int factor)
{
    std::vector<SourceTap> taps(size_t(length) * size_t(factor));
    for (size_t o = 0; o < taps.size(); ++o) {
        const double s = std::max(0.0, (double(o) + 0.5) / factor - 0.5);
        const int first = std::min(int(s), length - 1);
        taps[o] = {first, std::min(first + 1, length - 1), float(s - first)};
    }
    return taps;
}

}  // namespace upsample

namespace {

/** Output values per task: enough to outweigh a task's start, few enough that one 64x64 map
still gives two threads work. */
constexpr int kBandPixels = 2048;

/** out = top + weight * (bottom - top), element-wise over n values. */
void blendRows(const float* top, const float* bottom, float weight, int n, float* out)
{
    int i = 0;
#if CV_SIMD
    const v_float32 w = vx_setall_f32(weight);
    for (; i + v_float32::nlanes <= n; i += v_float32::nlanes) {
        const v_float32 a = vx_load(top + i);
        v_store(out + i, v_fma(vx_load(bottom + i) - a, w, a));
    }
#endif
    for (; i < n; ++i)
        out[i] = top[i] + weight * (bottom[i] - top[i]);
}

}  // namespace

BilinearUpsampleLayer::BilinearUpsampleLayer(const dnn::LayerParams& params)
    : SingleOutputLayer(params)
{
    requireNoInitializers("BilinearUpsample", "1 non-constant input");
    if (!params.has("factor"))
        CV_Error(
            Error::StsBadArg,
            cv::format("BilinearUpsample '%s': the attribute 'factor' is required", name.c_str()));
    factor_ = params.get<int>("factor");
    if (factor_ < 1 || factor_ > kMaxFactor)
        CV_Error(Error::StsBadArg,
                 cv::format("BilinearUpsample '%s': factor must be in 1..%d, got %d", name.c_str(),
                            kMaxFactor, factor_));
}

Ptr<dnn::Layer> BilinearUpsampleLayer::create(dnn::LayerParams& params)
{
    return makePtr<BilinearUpsampleLayer>(params);
}

bool BilinearUpsampleLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                            std::vector<dnn::MatShape>& outputs,
                                            std::vector<dnn::MatShape>&) const
{
    if (inputs.size() != 1 || inputs[0].size() != 4 || inputs[0][2] < 1 || inputs[0][3] < 1)
        CV_Error(Error::StsBadArg,
                 cv::format("BilinearUpsample '%s': expects 1 input [N,C,H,W] with H, W >= 1",
                            name.c_str()));
    dnn::MatShape out = inputs[0];
    out[2] *= factor_;
    out[3] *= factor_;
    outputs.assign(1, out);
    return false;
}

void BilinearUpsampleLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const int planes = x.size[0] * x.size[1], height = x.size[2], width = x.size[3];
    const int outH = y.size[2], outW = y.size[3];
    if (planes == 0)
        return;
    const std::vector<upsample::SourceTap> rowTaps = upsample::sourceTaps(height, factor_);
    const std::vector<upsample::SourceTap> columnTaps = upsample::sourceTaps(width, factor_);
    const int bandRows = std::max(1, std::min(outH, kBandPixels / outW));
    const int bands = (outH + bandRows - 1) / bandRows;
    const size_t inPlane = size_t(height) * width, outPlane = size_t(outH) * outW;

    parallel_for_(Range(0, planes * bands), [&](const Range& r) {
        // The input rows a band reads (at most ceil(bandRows / factor) + 2: its rows' coordinates
        // span (bandRows - 1) / factor), each interpolated along the width once.
        AutoBuffer<float> widened(size_t((bandRows + factor_ - 1) / factor_ + 2) * outW);
        for (int task = r.start; task < r.end; ++task) {
            const int plane = task / bands, firstRow = task % bands * bandRows;
            const int endRow = std::min(outH, firstRow + bandRows);
            const int firstInput = rowTaps[size_t(firstRow)].first;
            const int endInput = rowTaps[size_t(endRow - 1)].second + 1;
            const float* src = x.ptr<float>() + size_t(plane) * inPlane;
            for (int iy = firstInput; iy < endInput; ++iy) {
                const float* in = src + size_t(iy) * width;
                float* row = widened.data() + size_t(iy - firstInput) * outW;
                for (int ox = 0; ox < outW; ++ox) {
                    const upsample::SourceTap& t = columnTaps[size_t(ox)];
                    row[ox] = in[t.first] + t.weight * (in[t.second] - in[t.first]);
                }
            }
            float* dst = y.ptr<float>() + size_t(plane) * outPlane;
            for (int oy = firstRow; oy < endRow; ++oy) {
                const upsample::SourceTap& t = rowTaps[size_t(oy)];
                blendRows(widened.data() + size_t(t.first - firstInput) * outW,
                          widened.data() + size_t(t.second - firstInput) * outW, t.weight, outW,
                          dst + size_t(oy) * outW);
            }
        }
    });
}

}  // namespace anomaly
}  // namespace cv
