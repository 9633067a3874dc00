// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The stride and zero padding attributes shared by the module's convolution ops
// (doc/model-format.md section 6).
#ifndef OPENCV_ANOMALY_CONVOLUTION_GEOMETRY_HPP
#define OPENCV_ANOMALY_CONVOLUTION_GEOMETRY_HPP

#include <opencv2/dnn.hpp>

namespace cv {
namespace anomaly {

/** Kernel, stride, zero padding and groups of a convolution. */
struct ConvolutionGeometry
{
    int kernelH, kernelW, stride;
    int padTop, padLeft, padBottom, padRight;
    int group;
};

/** The geometry of a convolution op with a kernelH x kernelW kernel from its attributes `stride`
(default 1, both axes) and `padding` ([top, left, bottom, right], default 0). Raises
cv::Exception naming the op and the node for a stride outside 1..16, a padding of other than four
values, or a pad as large as the kernel (outputs that would see only padding). */
ConvolutionGeometry readConvolutionGeometry(const dnn::LayerParams& params, const char* opName,
                                            int kernelH, int kernelW, int group);

/** The output shape [N, outChannels, H', W'] of the convolution on a [N, C, H, W] input; raises
cv::Exception naming the op and the node when the padded input is smaller than the kernel. */
dnn::MatShape convolutionOutputShape(const ConvolutionGeometry& g, const dnn::MatShape& x,
                                     int outChannels, const char* opName, const std::string& name);

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_CONVOLUTION_GEOMETRY_HPP
