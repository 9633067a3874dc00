// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "attention_layer.hpp"

#include "pointwise_conv_layer.hpp"
#include "precomp.hpp"
#include "simd_lanes.hpp"
#include "softmax_kernel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cv {
namespace anomaly {

const char* const kAttentionType = "org.opencv.anomaly.Attention";

namespace {

using ColumnSoftmax = bool (*)(float*, int, int, const float*, size_t, float*);

ColumnSoftmax selectColumnSoftmax()
{
#ifdef ANOMALY_HAVE_AVX2_KERNEL
    if (avx2KernelsUsable())
        return softmax::columnsAvx2;
#endif
    return softmax::columns<UniversalLanes>;
}

/** softmax::columns in scalar code, for builds without vectors. */
void scalarColumnSoftmax(float* block, int rows, int width, const float* mask, size_t maskStride)
{
    for (int j = 0; j < width; ++j) {
        float maxValue = -std::numeric_limits<float>::max();
        for (int r = 0; r < rows; ++r) {
            float& s = block[size_t(r) * width + j];
            if (mask)
                s += mask[size_t(r) * maskStride + j];
            maxValue = std::max(maxValue, s);
        }
        float sum = 0.f;
        for (int r = 0; r < rows; ++r) {
            float& s = block[size_t(r) * width + j];
            s = std::exp(s - maxValue);
            sum += s;
        }
        for (int r = 0; r < rows; ++r)
            block[size_t(r) * width + j] /= sum;
    }
}

}  // namespace

namespace attention {

int blockQueries(int queries, int columns)
{
    constexpr int kMostQueries = 64;
    const int block = std::min(queries, kMostQueries) + columns - 1;
    return block - block % columns;
}

AttendScratch::AttendScratch(int keys, int blockQueries, int columns)
    : weightPanels(size_t(keys) * size_t(blockQueries)),
      softmax(2 * size_t(blockQueries)),
      tail(size_t(pointwise::kTileRows) * size_t(columns))
{
}

void attendBlock(float* scores, int keys, int count, const float* mask, size_t maskStride,
                 const pointwise::PackedWeights& valueRows, const pointwise::TileKernelChoice& tile,
                 AttendScratch& scratch, float* out, size_t outStride)
{
    const float none = std::numeric_limits<float>::infinity();
    if (!selectColumnSoftmax()(scores, keys, count, mask, maskStride, scratch.softmax.data()))
        scalarColumnSoftmax(scores, keys, count, mask, maskStride);
    pointwise::packPanels(scores, keys, size_t(count), 0, size_t(count), tile.columns,
                          scratch.weightPanels.data());
    valueRows.multiplyPanels(tile, scratch.weightPanels.data(), size_t(count), 0,
                             valueRows.strips(), -none, none, out, outStride, scratch.tail.data());
}

}  // namespace attention

AttentionLayer::AttentionLayer(const dnn::LayerParams& params) : SingleOutputLayer(params)
{
    const char* const what = name.c_str();
    heads_ = params.get<int>("heads", 0);
    if (heads_ < 1)
        CV_Error(Error::StsBadArg,
                 cv::format("Attention '%s': the attribute 'heads' must be >= 1", what));
    if (blobs.size() > 1)
        CV_Error(Error::StsBadArg,
                 cv::format("Attention '%s': expects Q, K, V and at most a mask initializer, got "
                            "%d initializers",
                            what, int(blobs.size())));
    if (blobs.size() == 1) {
        const Mat& mask = blobs[0];
        if (mask.dims != 2 || mask.depth() != CV_32F || mask.empty())
            CV_Error(
                Error::StsBadArg,
                cv::format("Attention '%s': the mask must be a float [Tq,Tk] initializer", what));
        cv::transpose(mask, maskT_);
    }
}

Ptr<dnn::Layer> AttentionLayer::create(dnn::LayerParams& params)
{
    return makePtr<AttentionLayer>(params);
}

bool AttentionLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                     std::vector<dnn::MatShape>& outputs,
                                     std::vector<dnn::MatShape>&) const
{
    const char* const what = name.c_str();
    if (inputs.size() != 3)
        CV_Error(Error::StsBadArg,
                 cv::format("Attention '%s': expects 3 non-constant inputs (Q, K, V), got %d", what,
                            int(inputs.size())));
    const dnn::MatShape &q = inputs[0], &k = inputs[1], &v = inputs[2];
    if (q.size() != 4 || k.size() != 4 || v != k || k[0] != q[0] || k[1] != q[1])
        CV_Error(
            Error::StsBadArg,
            cv::format("Attention '%s': Q must be [N,C,Hq,Wq], K and V both [N,C,Hk,Wk]", what));
    if (q[1] % heads_ != 0 || q[2] * q[3] < 1 || k[2] * k[3] < 1)
        CV_Error(Error::StsBadArg,
                 cv::format("Attention '%s': %d channels do not split into %d heads, or a plane "
                            "is empty",
                            what, q[1], heads_));
    if (!maskT_.empty() && (maskT_.rows != k[2] * k[3] || maskT_.cols != q[2] * q[3]))
        CV_Error(Error::StsBadArg,
                 cv::format("Attention '%s': the mask must be [%d,%d] for %d queries and %d keys",
                            what, q[2] * q[3], k[2] * k[3], q[2] * q[3], k[2] * k[3]));
    outputs.assign(1, q);
    return false;
}

void AttentionLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat &q = inputs[0], &k = inputs[1], &v = inputs[2];
    const int batch = q.size[0], channels = q.size[1];
    const int queries = q.size[2] * q.size[3], keys = k.size[2] * k.size[3];
    const int depth = channels / heads_;
    const pointwise::TileKernelChoice tile = pointwise::selectTileKernel();
    const int blockQueries = attention::blockQueries(queries, tile.columns);
    const size_t blockPanel = size_t(blockQueries);
    const float none = std::numeric_limits<float>::infinity();

    parallel_for_(Range(0, batch * heads_), [&](const Range& r) {
        AutoBuffer<float> queryPanels(size_t(depth) * blockPanel),
            scores(size_t(keys) * blockPanel);
        attention::AttendScratch scratch(keys, blockQueries, tile.columns);
        for (int task = r.start; task < r.end; ++task) {
            const int n = task / heads_, h = task % heads_;
            const size_t headOffset = size_t(h) * depth;
            const float* qh = q.ptr<float>(n) + headOffset * queries;
            const float* kh = k.ptr<float>(n) + headOffset * keys;
            const float* vh = v.ptr<float>(n) + headOffset * keys;
            float* out = y.ptr<float>(n) + headOffset * queries;
            // Rows of S^T are keys: its weight (key j, channel e) is K_h[e][j].
            const pointwise::PackedWeights keyRows(kh, 1, size_t(keys), nullptr, keys, depth);
            const pointwise::PackedWeights valueRows(vh, size_t(keys), 1, nullptr, depth, keys);
            for (int first = 0; first < queries; first += blockQueries) {
                const int count = std::min(blockQueries, queries - first);
                pointwise::packPanels(qh, depth, size_t(queries), size_t(first), size_t(count),
                                      tile.columns, queryPanels.data());
                keyRows.multiplyPanels(tile, queryPanels.data(), size_t(count), 0, keyRows.strips(),
                                       -none, none, scores.data(), size_t(count),
                                       scratch.tail.data());
                const float* mask = maskT_.empty() ? nullptr : maskT_.ptr<float>() + first;
                attention::attendBlock(scores.data(), keys, count, mask, size_t(queries), valueRows,
                                       tile, scratch, out + first, size_t(queries));
            }
        }
    });
}

int64 AttentionLayer::getFLOPS(const std::vector<dnn::MatShape>& inputs,
                               const std::vector<dnn::MatShape>&) const
{
    // Two products of Tq x Tk x C multiply-adds each (all heads together).
    const dnn::MatShape &q = inputs[0], &k = inputs[1];
    return 4 * int64(q[0]) * q[1] * int64(q[2]) * q[3] * int64(k[2]) * k[3];
}

}  // namespace anomaly
}  // namespace cv
