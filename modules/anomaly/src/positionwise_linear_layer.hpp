// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.PositionwiseLinear (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_POSITIONWISE_LINEAR_LAYER_HPP
#define OPENCV_ANOMALY_POSITIONWISE_LINEAR_LAYER_HPP

#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kPositionwiseLinearType;

/** A 1x1 convolution whose weights differ at every position: y[n,o,i,j] = b[o,i,j] +
sum_c w[o,c,i,j] x[n,c,i,j], with w [Cout,Cin,H,W] and b [Cout,H,W] initializers. lgnf models
use it to whiten each position's features with that position's statistics of the training images
before its flows (tiles in a fixture look different at the border than in the middle, and a
position-blind flow cannot tell).

No OpenCV 4.6 layer varies its weights by position (as standard nodes it is Unsqueeze, a
broadcasting Mul to [N,Cout,Cin,H,W], ReduceSum and Add). With the weights' position innermost
every output plane is a sum of element-wise products of planes: the layer accumulates them in
blocks of positions that stay in cache, reading each weight once per forward for the whole
batch, blocks of positions in parallel.

With the attribute symmetric = 1 (format 1.9) w is symmetric in (o, c) and stored as its upper
triangle, w [C(C+1)/2,H,W] with row (o, c), o <= c, at o*C - o(o-1)/2 + c - o: the whitening
matrices are symmetric, and the layer is bound by streaming its weights, so half the bytes is
about half the time. Each stored weight then serves y[o] += w x[c] and y[c] += w x[o]; the
layer keeps the triangle reordered by blocks of positions (blockMajor). */
class PositionwiseLinearLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit PositionwiseLinearLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;
    void computeFull(const Mat& x, Mat& y) const;
    void computeSymmetric(const Mat& x, Mat& y) const;

    bool symmetric_ = false;
    int outChannels_ = 0, inChannels_ = 0;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_POSITIONWISE_LINEAR_LAYER_HPP
