// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The custom op org.opencv.anomaly.DepthwiseConv (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_DEPTHWISE_CONV_LAYER_HPP
#define OPENCV_ANOMALY_DEPTHWISE_CONV_LAYER_HPP

#include "convolution_geometry.hpp"
#include "depthwise_conv_kernel.hpp"
#include "fused_clamp.hpp"
#include "single_output_layer.hpp"

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

extern const char* const kDepthwiseConvType;

namespace depthwise {

/** The layout of a padded copy of outH x outW outputs' input; tapOffsets receives the offsets it
points to and must outlive it. */
PaddedPlaneLayout planLayout(int kernelH, int kernelW, int stride, int outH, int outW,
                             std::vector<int>& tapOffsets);

/** Copies rows firstRow - padTop .. of a height x width plane into the layout, zeros where the
padding is (outside the plane). linearRow: scratch for one padded row (layout.rowStride floats),
used only when the stride is above 2. firstRow > 0 serves a band of output rows. paddingZeroed:
buffer holds the zeros of a fill with the same arguments but src (another channel of the same
band), so only the plane's values are written; on the small planes of stride 16 writing the zeros
again for every channel cost about as much as the convolution. */
void fillPaddedPlane(const float* src, int height, int width, int padTop, int padLeft, int firstRow,
                     const PaddedPlaneLayout& layout, float* buffer, float* linearRow,
                     bool paddingZeroed);

using PlaneKernel = void (*)(const float*, const PaddedPlaneLayout&, const float*, float, float,
                             float, float*);

/** convolvePlane at AVX2 + FMA width where the CPU has both, at the build's baseline otherwise. */
PlaneKernel selectPlaneKernel();

}  // namespace depthwise

/** Depthwise convolution: output channel c = input channel c correlated with its own kh x kw
kernel, plus bias, at one stride for both axes and zero padding that may differ per side.

OpenCV 4.6 vectorises depthwise convolutions only for 3x3 kernels on planes at least 18 wide; a
5x5 kernel, or any kernel on the 16x16 planes of stride 16, goes through its generic im2row + GEMM
path at about 1 GFLOP/s, which made the depthwise layers half of EfficientNet-Lite0's time. This
layer runs every kernel size from one padded, stride-phase-split copy of each plane with vector
multiply-adds along the output rows (depthwise_conv_kernel.hpp; AVX2 + FMA where the CPU has them,
the build's baseline width otherwise). Asymmetric padding (TensorFlow "SAME" for stride 2) is part
of the op, so no separate Padding layer runs before it. A following ReLU or ReLU6 is fused into it
by the net (setActivation). */
class DepthwiseConvLayer CV_FINAL : public SingleOutputLayer
{
public:
    explicit DepthwiseConvLayer(const dnn::LayerParams& params);
    static Ptr<dnn::Layer> create(dnn::LayerParams& params);

    bool getMemoryShapes(const std::vector<dnn::MatShape>& inputs, int requiredOutputs,
                         std::vector<dnn::MatShape>& outputs,
                         std::vector<dnn::MatShape>& internals) const override;
    bool setActivation(const Ptr<dnn::ActivationLayer>& layer) override;
    int64 getFLOPS(const std::vector<dnn::MatShape>& inputs,
                   const std::vector<dnn::MatShape>& outputs) const override;

private:
    void compute(const std::vector<Mat>& inputs, Mat& y) const override;

    ConvolutionGeometry geometry_;
    FusedClamp clamp_;
};

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_DEPTHWISE_CONV_LAYER_HPP
