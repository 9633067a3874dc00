// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "positionwise_linear_layer.hpp"

#include "precomp.hpp"

#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>

namespace cv {
namespace anomaly {

const char* const kPositionwiseLinearType = "org.opencv.anomaly.PositionwiseLinear";

namespace {

/** Positions per task: the block's output rows of the whole batch (2 KiB each) stay in cache while
the weights and inputs of every input channel stream past. */
constexpr int kBlockPositions = 512;

/** acc[p] += w[p] * x[p] for p < n. */
void multiplyAccumulate(const float* w, const float* x, int n, float* acc)
{
    int p = 0;
#if CV_SIMD
    for (; p + v_float32::nlanes <= n; p += v_float32::nlanes)
        v_store(acc + p, v_fma(vx_load(w + p), vx_load(x + p), vx_load(acc + p)));
#endif
    for (; p < n; ++p)
        acc[p] += w[p] * x[p];
}

}  // namespace

PositionwiseLinearLayer::PositionwiseLinearLayer(const dnn::LayerParams& params)
    : SingleOutputLayer(params)
{
    if (blobs.size() != 2 || blobs[0].dims != 4 || blobs[1].dims != 3 ||
        blobs[0].type() != CV_32F || blobs[1].type() != CV_32F || blobs[0].size[0] < 1 ||
        blobs[0].size[1] < 1 || blobs[1].size[0] != blobs[0].size[0] ||
        blobs[1].size[1] != blobs[0].size[2] || blobs[1].size[2] != blobs[0].size[3])
        CV_Error(Error::StsBadArg,
                 cv::format("PositionwiseLinear '%s': expects one graph input and the float "
                            "initializers W [Cout,Cin,H,W] and B [Cout,H,W]",
                            name.c_str()));
    for (const Mat& blob : blobs)
        if (!checkRange(blob))
            CV_Error(Error::StsBadArg,
                     cv::format("PositionwiseLinear '%s': weights must be finite", name.c_str()));
}

Ptr<dnn::Layer> PositionwiseLinearLayer::create(dnn::LayerParams& params)
{
    return makePtr<PositionwiseLinearLayer>(params);
}

bool PositionwiseLinearLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                              std::vector<dnn::MatShape>& outputs,
                                              std::vector<dnn::MatShape>&) const
{
    const Mat& w = blobs[0];
    if (inputs.size() != 1 || inputs[0].size() != 4 || inputs[0][1] != w.size[1] ||
        inputs[0][2] != w.size[2] || inputs[0][3] != w.size[3])
        CV_Error(Error::StsBadArg,
                 cv::format("PositionwiseLinear '%s': expects X [N,%d,%d,%d] to match W "
                            "[%d,%d,%d,%d]",
                            name.c_str(), w.size[1], w.size[2], w.size[3], w.size[0], w.size[1],
                            w.size[2], w.size[3]));
    outputs.assign(1, dnn::MatShape{inputs[0][0], w.size[0], w.size[2], w.size[3]});
    return false;
}

void PositionwiseLinearLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat& x = inputs[0];
    const Mat &w = blobs[0], &b = blobs[1];
    const int batch = x.size[0], outChannels = w.size[0], inChannels = w.size[1];
    const int plane = w.size[2] * w.size[3];
    const int blocks = (plane + kBlockPositions - 1) / kBlockPositions;
    parallel_for_(Range(0, outChannels * blocks), [&](const Range& r) {
        for (int task = r.start; task < r.end; ++task) {
            const int o = task / blocks, first = (task % blocks) * kBlockPositions;
            const int count = std::min(kBlockPositions, plane - first);
            const float* bias = b.ptr<float>(o) + first;
            for (int n = 0; n < batch; ++n)
                std::copy(bias, bias + count, y.ptr<float>(n, o) + first);
            for (int c = 0; c < inChannels; ++c) {
                const float* weights = w.ptr<float>(o, c) + first;
                for (int n = 0; n < batch; ++n)
                    multiplyAccumulate(weights, x.ptr<float>(n, c) + first, count,
                                       y.ptr<float>(n, o) + first);
            }
        }
    });
}

}  // namespace anomaly
}  // namespace cv
