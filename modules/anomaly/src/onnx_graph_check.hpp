// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_ONNX_GRAPH_CHECK_HPP
#define OPENCV_ANOMALY_ONNX_GRAPH_CHECK_HPP

#include <opencv2/core.hpp>

#include <vector>

namespace cv {
namespace anomaly {

/** Structural checks on a serialized ONNX model before cv::dnn sees it.
OpenCV 4.6's importer trusts its input and crashes (instead of throwing) on some malformed graphs,
e.g. a node input that names no value. This walks the graph and raises cv::Exception for: a missing
graph, node inputs not defined by a graph input, initializer or earlier node, duplicate or empty
outputs, tensors whose data size disagrees with their dims and type, negative or huge dims, external
data, graph inputs/outputs without a full tensor shape, and an `image` input that is not
[N, 3, inputSize.height, inputSize.width] or any other input the runtime would not feed. */
void checkOnnxGraphStructure(const std::vector<uchar>& modelBytes, Size inputSize);

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_ONNX_GRAPH_CHECK_HPP
