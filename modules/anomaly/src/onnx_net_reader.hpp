// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_ONNX_NET_READER_HPP
#define OPENCV_ANOMALY_ONNX_NET_READER_HPP

#include <opencv2/dnn.hpp>

#include <vector>

namespace cv {
namespace anomaly {

/** dnn::readNetFromONNX without OpenCV 4.6's "missing dispatch map for domain" warning, which its
importer logs once per node of a custom domain (dozens per model load) although the node is then
imported correctly through the registered custom layer. The global log level is lowered from
WARNING to ERROR while the importer runs; concurrent loads share one lowering, restored when the
last one ends. Errors still show, and a level other than WARNING is left alone. */
dnn::Net readOnnxNetWithoutDomainWarnings(const std::vector<uchar>& bytes);

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_ONNX_NET_READER_HPP
