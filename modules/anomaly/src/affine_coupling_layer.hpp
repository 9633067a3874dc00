// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.AffineCoupling (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_AFFINE_COUPLING_LAYER_HPP
#define OPENCV_ANOMALY_AFFINE_COUPLING_LAYER_HPP

#include "pointwise_conv_layer.hpp"
#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kAffineCouplingType;

/** One affine coupling block of a normalizing flow (FrEIA's AllInOneBlock, doc/model-format.md
section 6), from X [N,C,H,W] to Y of the same shape. With S = the depthwise kernels' count and
R = C - S: x1 = x[:, :S], x2 = x[:, S:]; a = PW * leakyRelu(DW * x1 + DB, slope) + PB (depthwise
k x k convolution with "same" zero padding, then a 1x1 convolution to 2R channels);
y2 = x2 * exp(clamp * tanh(a[:, :R])) + a[:, R:]; u = concat(x1, y2);
y[:, i] = u[:, perm[i]] * scale[perm[i]] + bias[perm[i]].

As separate layers a block is eight (two slices, the two convolutions, LeakyReLU,
SoftClampAffine, concat, ChannelAffinePermute), each reading and writing whole planes; the
flows' 24 blocks were about 200 of the model's 390 layers and took 4-5 ms for 67 MFLOPs. This
layer runs a block per band of rows of one image, its intermediates staying in the core's cache,
with the kernels of DepthwiseConv, PointwiseConv and SoftClampAffine, so its values are those of
the separate layers. */
class AffineCouplingLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit AffineCouplingLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    int64 getFLOPS(const std::vector<dnn::MatShape>& inputs,
                   const std::vector<dnn::MatShape>& outputs) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    int channels_, split_, kernel_;
    float slope_, clamp_;
    pointwise::PackedWeights project_;
    std::vector<int> perm_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_AFFINE_COUPLING_LAYER_HPP
