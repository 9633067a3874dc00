// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// FLOPs of one cv::dnn layer, correct for the layer kinds OpenCV 4.6 miscounts or crashes on.
#ifndef ANOMALY_SAMPLES_LAYER_FLOPS_HPP
#define ANOMALY_SAMPLES_LAYER_FLOPS_HPP

#include <opencv2/dnn.hpp>

namespace anomaly_samples {

/** @brief FLOPs per image of layer `layerId` for `inputShape` (2 per multiply-add, as
cv::dnn::Net::getFLOPS counts). getFLOPS itself is used except for two kinds it gets wrong in
OpenCV 4.6, which are counted from their shapes:
- Convolution ignores the group count: a depthwise conv is counted as a dense one;
- MatMul of two graph values (an InnerProduct without weights) makes getFLOPS read the absent
  weight blob and crash. Net::getFLOPS(inputShape) for a whole net crashes on it too, so sum
  this over the layers instead. */
double layerFlops(cv::dnn::Net& net, int layerId, const cv::dnn::MatShape& inputShape);

}  // namespace anomaly_samples

#endif  // ANOMALY_SAMPLES_LAYER_FLOPS_HPP
