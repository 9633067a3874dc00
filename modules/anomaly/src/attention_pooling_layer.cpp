// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "attention_pooling_layer.hpp"

#include "attention_layer.hpp"
#include "pointwise_conv_layer.hpp"
#include "precomp.hpp"

#include <algorithm>

namespace cv {
namespace anomaly {

const char* const kAttentionPoolingType = "org.opencv.anomaly.AttentionPooling";

AttentionPoolingLayer::AttentionPoolingLayer(const dnn::LayerParams& params)
    : SingleOutputLayer(params)
{
    heads_ = params.get<int>("heads", 0);
    if (heads_ < 1)
        CV_Error(
            Error::StsBadArg,
            cv::format("AttentionPooling '%s': the attribute 'heads' must be >= 1", name.c_str()));
    requireNoInitializers("AttentionPooling", "2 non-constant inputs (logits, values)");
}

Ptr<dnn::Layer> AttentionPoolingLayer::create(dnn::LayerParams& params)
{
    return makePtr<AttentionPoolingLayer>(params);
}

bool AttentionPoolingLayer::getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int,
                                            std::vector<dnn::MatShape>& outputs,
                                            std::vector<dnn::MatShape>&) const
{
    const char* const what = name.c_str();
    if (inputs.size() != 2)
        CV_Error(Error::StsBadArg,
                 cv::format("AttentionPooling '%s': expects 2 non-constant inputs (logits, "
                            "values), got %d",
                            what, int(inputs.size())));
    const dnn::MatShape &l = inputs[0], &v = inputs[1];
    if (l.size() != 4 || v.size() != 4 || l[0] != v[0] || l[2] != v[2] || l[3] != v[3])
        CV_Error(Error::StsBadArg,
                 cv::format("AttentionPooling '%s': logits must be [N,heads*T,H,W] and values "
                            "[N,C,H,W] on the same plane",
                            what));
    if (l[1] % heads_ != 0 || v[1] % heads_ != 0 || l[1] < 1 || v[1] < 1 || l[2] * l[3] < 1)
        CV_Error(Error::StsBadArg,
                 cv::format("AttentionPooling '%s': %d logit and %d value channels do not both "
                            "split into %d heads, or the plane is empty",
                            what, l[1], v[1], heads_));
    outputs.assign(1, dnn::MatShape{l[0], v[1], l[1] / heads_, 1});
    return false;
}

void AttentionPoolingLayer::compute(const std::vector<Mat>& inputs, Mat& y) const
{
    const Mat &l = inputs[0], &v = inputs[1];
    const int batch = l.size[0], queries = l.size[1] / heads_, depth = v.size[1] / heads_;
    const int keys = l.size[2] * l.size[3];
    const pointwise::TileKernelChoice tile = pointwise::selectTileKernel();
    const int blockQueries = attention::blockQueries(queries, tile.columns);

    parallel_for_(Range(0, batch * heads_), [&](const Range& r) {
        AutoBuffer<float> scores(size_t(keys) * size_t(blockQueries));
        attention::AttendScratch scratch(keys, blockQueries, tile.columns);
        for (int task = r.start; task < r.end; ++task) {
            const int n = task / heads_, h = task % heads_;
            const float* lh = l.ptr<float>(n) + size_t(h) * queries * keys;
            const float* vh = v.ptr<float>(n) + size_t(h) * depth * keys;
            float* out = y.ptr<float>(n) + size_t(h) * depth * queries;
            const pointwise::PackedWeights valueRows(vh, size_t(keys), 1, nullptr, depth, keys);
            for (int first = 0; first < queries; first += blockQueries) {
                const int count = std::min(blockQueries, queries - first);
                // The block's logits, one row per query, as columns: [keys][count].
                cv::transpose(
                    Mat(count, keys, CV_32F, const_cast<float*>(lh) + size_t(first) * keys),
                    Mat(keys, count, CV_32F, scores.data()));
                attention::attendBlock(scores.data(), keys, count, nullptr, 0, valueRows, tile,
                                       scratch, out + first, size_t(queries));
            }
        }
    });
}

int64 AttentionPoolingLayer::getFLOPS(const std::vector<dnn::MatShape>& inputs,
                                      const std::vector<dnn::MatShape>&) const
{
    // One product of T x (H*W) x C multiply-adds (all heads together).
    const dnn::MatShape &l = inputs[0], &v = inputs[1];
    return 2 * int64(l[0]) * (l[1] / heads_) * int64(l[2]) * l[3] * v[1];
}

}  // namespace anomaly
}  // namespace cv
