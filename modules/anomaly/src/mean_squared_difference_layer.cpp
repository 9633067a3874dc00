// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "mean_squared_difference_layer.hpp"

#include "precomp.hpp"

#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>
#include <cmath>

namespace cv {
namespace anomaly {

const char* const kMeanSquaredDifferenceType = "org.opencv.anomaly.MeanSquaredDifference";

namespace {

/** Pixels per task: the running sums (16 KiB) stay in the core's L1 cache over the channels. */
constexpr int kBlockPixels = 4096;

/** sums[p] += (a[p] - b[p])^2 (a[p]^2 where b is null) for p < n. */
void accumulateSquares(const float* a, const float* b, int n, float* sums)
{
    int p = 0;
#if CV_SIMD
    for (; p + v_float32::nlanes <= n; p += v_float32::nlanes) {
        v_float32 d = vx_load(a + p);
        if (b)
            d = d - vx_load(b + p);
        v_store(sums + p, v_fma(d, d, vx_load(sums + p)));
    }
#endif
    for (; p < n; ++p) {
        const float d = b ? a[p] - b[p] : a[p];
        sums[p] += d * d;
    }
}

}  // namespace

MeanSquaredDifferenceLayer::MeanSquaredDifferenceLayer(const dnn::LayerParams& params)
    : SingleOutputLayer(params)
{
    requireNoInitializers("MeanSquaredDifference", "1 or 2 non-constant inputs");
    scale_ = params.get<float>("scale", 1.f);
    if (!std::isfinite(scale_))
        CV_Error(Error::StsBadArg,
                 cv::format("MeanSquaredDifference '%s': scale must be finite", name.c_str()));
}

Ptr<dnn::Layer> MeanSquaredDifferenceLayer::create(dnn::LayerParams& params)
{
    return makePtr<MeanSquaredDifferenceLayer>(params);
}

bool MeanSquaredDifferenceLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                                 std::vector<dnn::MatShape>& outputs,
                                                 std::vector<dnn::MatShape>&) const
{
    if (inputs.empty() || inputs.size() > 2 || inputs[0].size() != 4 || inputs[0][1] < 1 ||
        (inputs.size() == 2 && inputs[1] != inputs[0]))
        CV_Error(Error::StsBadArg,
                 cv::format("MeanSquaredDifference '%s': expects A [N,C,H,W] with C >= 1 and "
                            "optionally B of the same shape",
                            name.c_str()));
    dnn::MatShape out = inputs[0];
    out[1] = 1;
    outputs.assign(1, out);
    return false;
}

void MeanSquaredDifferenceLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& a = inputs[0];
    const Mat* b = inputs.size() == 2 ? &inputs[1] : nullptr;
    const int batch = a.size[0], channels = a.size[1];
    const size_t plane = size_t(a.size[2]) * size_t(a.size[3]);
    const int blocks = int((plane + kBlockPixels - 1) / kBlockPixels);
    const float factor = scale_ / float(channels);
    parallel_for_(Range(0, batch * blocks), [&](const Range& r) {
        for (int task = r.start; task < r.end; ++task) {
            const int n = task / blocks;
            const size_t first = size_t(task % blocks) * kBlockPixels;
            const int count = int(std::min<size_t>(kBlockPixels, plane - first));
            float* sums = y.ptr<float>(n) + first;  // the output block holds the running sums
            std::fill(sums, sums + count, 0.f);
            for (int c = 0; c < channels; ++c)
                accumulateSquares(a.ptr<float>(n, c) + first,
                                  b ? b->ptr<float>(n, c) + first : nullptr, count, sums);
            for (int p = 0; p < count; ++p)
                sums[p] *= factor;
        }
    });
}

}  // namespace anomaly
}  // namespace cv
