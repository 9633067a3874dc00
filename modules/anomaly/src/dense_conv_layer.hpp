// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.DenseConv (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_DENSE_CONV_LAYER_HPP
#define OPENCV_ANOMALY_DENSE_CONV_LAYER_HPP

#include "convolution_geometry.hpp"
#include "fused_clamp.hpp"
#include "pointwise_conv_layer.hpp"
#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

namespace cv {
namespace anomaly {

extern const char* const kDenseConvType;

/** Convolution with one group: y[n,o,i,j] = B[o] + sum over c, u, v of W[o,c,u,v] *
x[n,c,i*stride-top+u,j*stride-left+v], x taken as 0 outside the plane.

OpenCV 4.6 runs EfficientNet-Lite0's stem (3x3, stride 2, 3 -> 32 channels on 256x256) at 16-27
GFLOP/s, its im2row + GEMM path being made for many input channels, behind a separate Padding layer
for the TensorFlow "SAME" padding it refuses: 1.3-2.2 ms, the slowest layer of the model. This
layer gathers each block of 16 output pixels' C x kh x kw inputs once into contiguous panels
(im2col, padding included) and multiplies them with PointwiseConv's register tile, the weights
packed once. A following ReLU or ReLU6 is fused into it by the net (setActivation). */
class DenseConvLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit DenseConvLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    bool setActivation(const Ptr<dnn::ActivationLayer>& layer) override;
    int64 getFLOPS(const std::vector<dnn::MatShape>& inputs,
                   const std::vector<dnn::MatShape>& outputs) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    int inChannels_;
    ConvolutionGeometry geometry_;
    pointwise::PackedWeights weights_;  // [O][C * kh * kw]: ONNX's weight layout, flattened
    FusedClamp clamp_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_DENSE_CONV_LAYER_HPP
