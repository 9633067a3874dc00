// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.AttentionPooling (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_ATTENTION_POOLING_LAYER_HPP
#define OPENCV_ANOMALY_ATTENTION_POOLING_LAYER_HPP

#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kAttentionPoolingType;

/** Attention whose scores are given: logits L [N, heads*T, H, W] and values V [N, C, H, W] (the
same plane, heads of d = C / heads channels) give Y [N, C, T, 1],
Y[n, h*d+e, t] = sum_k softmax_k(L[n, h*T+t, k]) V[n, h*d+e, k] over the H*W positions k. This is
an attention of T constant queries: their dot products with the keys are a 1x1 convolution of
the tokens (the writer folds the queries into the key projection), so only the softmax and the
weighted sum are left, which OpenCV 4.6 runs as Reshape/Softmax/Transpose/MatMul nodes, the MatMul
as one InnerProduct on one thread (0.15 ms for the global branch's 16 prototypes over 256 tokens,
at 1 and at 2 threads). This layer transposes each head's logits into blocks of queries and
finishes them as the Attention layer does (column softmax with the vector exp, then V P^T with the
1x1 tile straight into the output), heads in parallel. */
class AttentionPoolingLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit AttentionPoolingLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    int64 getFLOPS(const std::vector<dnn::MatShape>& inputs,
                   const std::vector<dnn::MatShape>& outputs) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    int heads_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_ATTENTION_POOLING_LAYER_HPP
