// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.InvertedResidual (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_INVERTED_RESIDUAL_LAYER_HPP
#define OPENCV_ANOMALY_INVERTED_RESIDUAL_LAYER_HPP

#include "convolution_geometry.hpp"
#include "pointwise_conv_layer.hpp"
#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kInvertedResidualType;

/** One inverted-residual block of a MobileNetV2-style backbone (EfficientNet-Lite's MBConv), from
X [N,C,H,W] to Y [N,O,H',W']: h = clamp(EW x + EB) (a 1x1 expansion to E channels; h = x for a
block without one), d = clamp(depthwise k x k convolution of h, stride and zero padding as
DepthwiseConv), y = PW d + PB, plus x where `residual` is set; clamp(v) = min(max(v, 0), 6), the
ReLU6 of MobileNetV2 and EfficientNet-Lite.

As separate layers each of the three convolutions writes its whole output and the next reads it
back: on the 64x64 and 128x128 planes of EfficientNet-Lite0 the expanded tensor is 2.4-6.3 MB per
image, which a batch of 8 no longer keeps in a 32 MiB L3 cache. This layer runs a block per band
of output rows of one image, the band's expanded rows (about 384 KiB) staying in the core's cache:
each task walks its bands top to bottom and keeps the expanded rows that the next band's depthwise
window shares, so no expansion is computed twice inside a task. It uses the kernels of
PointwiseConv and DepthwiseConv, so its values are those of the separate layers. At batch 8 the
blocks take 0.75-0.80 of the separate layers' time; at batch 1, where their tensors stay in L3,
about the same (doc/performance.md). */
class InvertedResidualLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit InvertedResidualLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    int64 getFLOPS(const std::vector<dnn::MatShape>& inputs,
                   const std::vector<dnn::MatShape>& outputs) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    bool expands() const { return expand_.outChannels() > 0; }

    int inChannels_, hiddenChannels_;
    ConvolutionGeometry geometry_;
    bool residual_;
    pointwise::PackedWeights expand_, project_;
    Mat depthwiseWeight_, depthwiseBias_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_INVERTED_RESIDUAL_LAYER_HPP
