// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.Attention (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_ATTENTION_LAYER_HPP
#define OPENCV_ANOMALY_ATTENTION_LAYER_HPP

#include "pointwise_conv_layer.hpp"
#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kAttentionType;

namespace attention {

/** Queries per block for a tile of `columns` pixels: at most 64 (a block's [Tk][queries] weights,
64 KiB for 256 keys, stay in the core's L2 cache between the two products), a whole number of
tiles. */
int blockQueries(int queries, int columns);

/** Per-thread buffers of attendBlock. */
struct AttendScratch
{
    AttendScratch(int keys, int blockQueries, int columns);
    AutoBuffer<float> weightPanels, softmax, tail;
};

/** The second half of an attention block, shared by Attention and AttentionPooling: `scores` holds
a block of `count` queries transposed ([keys][count], keys as rows); adds the mask (rows of
maskStride floats; null for none), takes the softmax down each column, and writes
out[e * outStride + j] = sum_k P[k][j] V[e][k] for the value rows packed in valueRows. */
void attendBlock(float* scores, int keys, int count, const float* mask, size_t maskStride,
                 const pointwise::PackedWeights& valueRows, const pointwise::TileKernelChoice& tile,
                 AttendScratch& scratch, float* out, size_t outStride);

}  // namespace attention

/** Multi-head attention on channel-major tokens: Q [N,C,Hq,Wq], K and V [N,C,Hk,Wk], heads of
d = C / heads channels, an optional additive mask [Tq,Tk] (Tq = Hq*Wq, Tk = Hk*Wk) shared by the
heads; out[n, h*d+e, t] = sum_k softmax_k(sum_e' Q[n,h*d+e',t] K[n,h*d+e',k] + M[t,k]) *
V[n,h*d+e,k]. The 1/sqrt(d) scale is the writer's, folded into Q's projection.

As standard nodes this is Reshape, Transpose, MatMul, Add, Softmax, Transpose, MatMul, Transpose,
Reshape: OpenCV 4.6 runs the two MatMuls as InnerProduct layers (a GEMM per head with a depth of
d = 32, 0.33 ms each for the local branch's 256 tokens with 1 thread) and writes, masks, normalises
and reads back the [N,heads,Tq,Tk] weights in separate passes. This layer computes each head in
blocks of queries with the register tile of PointwiseConv: the block's scores transposed,
S^T = K_h^T Q_h (keys as rows, so the softmax runs down columns with vectors across queries and
adds the mask on the way), then out_h = V_h P^T written straight into the NCHW output; the block's
weights stay in cache and heads run in parallel. */
class AttentionLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit AttentionLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    int64 getFLOPS(const std::vector<dnn::MatShape>& inputs,
                   const std::vector<dnn::MatShape>& outputs) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    int heads_;
    Mat maskT_;  //!< the mask transposed, [Tk][Tq]; empty without a mask
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_ATTENTION_LAYER_HPP
