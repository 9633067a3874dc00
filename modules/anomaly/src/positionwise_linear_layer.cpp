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
/** Positions per task of the symmetric form, whose task holds the rows of all C outputs of the
batch (C * 256 B per image) in cache; 16x16 planes still give 4 tasks. */
constexpr int kSymmetricBlockPositions = 64;

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

/** The symmetric form's triangle [rows, H, W] as [rows, H*W] whose data holds, per block of
positions, the block's pieces of all rows one after the other (computeSymmetric's order): a task
then streams one contiguous range instead of a short piece of every row. */
Mat blockMajor(const Mat& packed)
{
    const int rows = packed.size[0], plane = packed.size[1] * packed.size[2];
    Mat out(rows, plane, CV_32F);
    float* dst = out.ptr<float>();
    for (int first = 0; first < plane; first += kSymmetricBlockPositions) {
        const int count = std::min(kSymmetricBlockPositions, plane - first);
        for (int row = 0; row < rows; ++row, dst += count)
            std::copy_n(packed.ptr<float>(row) + first, count, dst);
    }
    return out;
}

}  // namespace

PositionwiseLinearLayer::PositionwiseLinearLayer(const dnn::LayerParams& params)
    : SingleOutputLayer(params)
{
    const int symmetric = params.get<int>("symmetric", 0);
    if (symmetric != 0 && symmetric != 1)
        CV_Error(Error::StsBadArg,
                 cv::format("PositionwiseLinear '%s': symmetric must be 0 or 1, got %d",
                            name.c_str(), symmetric));
    symmetric_ = symmetric == 1;
    const int weightDims = symmetric_ ? 3 : 4;
    bool valid = blobs.size() == 2 && blobs[0].dims == weightDims && blobs[1].dims == 3 &&
                 blobs[0].type() == CV_32F && blobs[1].type() == CV_32F && blobs[0].size[0] >= 1 &&
                 blobs[1].size[0] >= 1;
    if (valid) {
        const Mat &w = blobs[0], &b = blobs[1];
        outChannels_ = b.size[0];
        inChannels_ = symmetric_ ? outChannels_ : w.size[1];
        const int64_t rows =
            symmetric_ ? int64_t(outChannels_) * (outChannels_ + 1) / 2 : int64_t(outChannels_);
        valid = w.size[0] == rows && w.size[weightDims - 2] == b.size[1] &&
                w.size[weightDims - 1] == b.size[2];
    }
    if (!valid)
        CV_Error(Error::StsBadArg,
                 cv::format(symmetric_ ? "PositionwiseLinear '%s': expects one graph input and "
                                         "the float initializers W [C(C+1)/2,H,W] (symmetric) "
                                         "and B [C,H,W]"
                                       : "PositionwiseLinear '%s': expects one graph input and "
                                         "the float initializers W [Cout,Cin,H,W] and B "
                                         "[Cout,H,W]",
                            name.c_str()));
    for (const Mat& blob : blobs)
        if (!checkRange(blob))
            CV_Error(Error::StsBadArg,
                     cv::format("PositionwiseLinear '%s': weights must be finite", name.c_str()));
    if (symmetric_)
        blobs[0] = blockMajor(blobs[0]);  // one copy of the weights, in the order they are read
}

Ptr<dnn::Layer> PositionwiseLinearLayer::create(dnn::LayerParams& params)
{
    return makePtr<PositionwiseLinearLayer>(params);
}

bool PositionwiseLinearLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                              std::vector<dnn::MatShape>& outputs,
                                              std::vector<dnn::MatShape>&) const
{
    const Mat& b = blobs[1];
    if (inputs.size() != 1 || inputs[0].size() != 4 || inputs[0][1] != inChannels_ ||
        inputs[0][2] != b.size[1] || inputs[0][3] != b.size[2])
        CV_Error(Error::StsBadArg,
                 cv::format("PositionwiseLinear '%s': expects X [N,%d,%d,%d] for %d outputs",
                            name.c_str(), inChannels_, b.size[1], b.size[2], outChannels_));
    outputs.assign(1, dnn::MatShape{inputs[0][0], outChannels_, b.size[1], b.size[2]});
    return false;
}

void PositionwiseLinearLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    if (symmetric_)
        computeSymmetric(inputs[0], y);
    else
        computeFull(inputs[0], y);
}

void PositionwiseLinearLayer::computeFull(const Mat& x, Mat& y) const
{
    const Mat &w = blobs[0], &b = blobs[1];
    const int batch = x.size[0];
    const int plane = b.size[1] * b.size[2];
    const int blocks = (plane + kBlockPositions - 1) / kBlockPositions;
    parallel_for_(Range(0, outChannels_ * blocks), [&](const Range& r) {
        for (int task = r.start; task < r.end; ++task) {
            const int o = task / blocks, first = (task % blocks) * kBlockPositions;
            const int count = std::min(kBlockPositions, plane - first);
            const float* bias = b.ptr<float>(o) + first;
            for (int n = 0; n < batch; ++n)
                std::copy(bias, bias + count, y.ptr<float>(n, o) + first);
            for (int c = 0; c < inChannels_; ++c) {
                const float* weights = w.ptr<float>(o, c) + first;
                for (int n = 0; n < batch; ++n)
                    multiplyAccumulate(weights, x.ptr<float>(n, c) + first, count,
                                       y.ptr<float>(n, o) + first);
            }
        }
    });
}

void PositionwiseLinearLayer::computeSymmetric(const Mat& x, Mat& y) const
{
    const Mat &w = blobs[0], &b = blobs[1];
    const int batch = x.size[0], channels = outChannels_;
    const int plane = b.size[1] * b.size[2];
    const int blocks = (plane + kSymmetricBlockPositions - 1) / kSymmetricBlockPositions;
    parallel_for_(Range(0, blocks), [&](const Range& r) {
        for (int block = r.start; block < r.end; ++block) {
            const int first = block * kSymmetricBlockPositions;
            const int count = std::min(kSymmetricBlockPositions, plane - first);
            for (int n = 0; n < batch; ++n)
                for (int o = 0; o < channels; ++o) {
                    const float* bias = b.ptr<float>(o) + first;
                    std::copy(bias, bias + count, y.ptr<float>(n, o) + first);
                }
            // The block's rows (o, c), o <= c, one after the other (blockMajor).
            const float* weights = w.ptr<float>() + size_t(first) * size_t(w.rows);
            for (int o = 0; o < channels; ++o)
                for (int c = o; c < channels; ++c, weights += count) {
                    for (int n = 0; n < batch; ++n) {
                        multiplyAccumulate(weights, x.ptr<float>(n, c) + first, count,
                                           y.ptr<float>(n, o) + first);
                        if (c != o)
                            multiplyAccumulate(weights, x.ptr<float>(n, o) + first, count,
                                               y.ptr<float>(n, c) + first);
                    }
                }
        }
    });
}

}  // namespace anomaly
}  // namespace cv
