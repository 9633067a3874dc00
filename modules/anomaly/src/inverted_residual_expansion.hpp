// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Rewriting a model's InvertedResidual ops into the separate ops of their definition, for backends
// that cannot run a custom layer (doc/model-format.md section 6, "InvertedResidual").
#ifndef OPENCV_ANOMALY_INVERTED_RESIDUAL_EXPANSION_HPP
#define OPENCV_ANOMALY_INVERTED_RESIDUAL_EXPANSION_HPP

#include <opencv2/core.hpp>

#include <vector>

namespace cv {
namespace anomaly {

/** The ONNX model with every org.opencv.anomaly.InvertedResidual node replaced, in place, by the
nodes of its definition: PointwiseConv and Relu6 (the expansion, where there is one),
DepthwiseConv (the node's own stride and padding attributes) and Relu6, PointwiseConv, and Add of
the input where the node is residual; the new values are named after the node's output
("<output>/expanded", ...). Every other byte of the model is kept. A model without such a node is
returned unchanged. Malformed protobuf raises cv::Exception (StsParseError), as does a malformed
InvertedResidual node (StsBadArg). The result needs no InvertedResidual layer, so that
readNetWithCustomLayers(..., CONVOLUTION_LAYERS_BUILTIN) can give its convolutions to OpenCV. */
std::vector<uchar> expandInvertedResiduals(const std::vector<uchar>& onnxBytes);

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_INVERTED_RESIDUAL_EXPANSION_HPP
