// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The backbone: its ONNX graph and metadata, and its features computed with OpenCV DNN through
// the runtime's own preprocessing (cv::anomaly::makeInputBlob), cached in memory for all epochs.
#ifndef ANOMALY_TRAIN_FEATURE_CACHE_HPP
#define ANOMALY_TRAIN_FEATURE_CACHE_HPP

#include "head_options.hpp"

#include <onnx/onnx_pb.h>
#include <torch/torch.h>
#include <opencv2/anomaly/model_io.hpp>
#include <opencv2/dnn.hpp>

#include <string>
#include <vector>

namespace anomaly_train {

extern const char* const kFeatureOutputs[3];  // feat_s4, feat_s8, feat_s16

struct Backbone
{
    onnx::ModelProto model;
    std::string name;
    cv::anomaly::InputSpec spec;
    HeadGeometry geometry;
    cv::dnn::Net net;
};

/** Reads a backbone file, checks its backbone.* metadata and measures its output shapes.
Throws std::runtime_error with a one-line reason. */
Backbone loadBackbone(const std::string& path);
Backbone loadBackbone(const onnx::ModelProto& model, const std::string& origin);

enum class BadImagePolicy
{
    Fail,
    Skip
};

/** Reads an image as the runtime's callers do (any depth, 1/3/4 channels); empty when unreadable.
 */
cv::Mat readImage(const std::string& path);

/** Features of all images: three tensors [N, C_s, H_s, W_s]. paths is updated to the images
actually used (unreadable ones dropped under Skip; under Fail they throw). */
std::vector<torch::Tensor> extractFeatures(Backbone& backbone, std::vector<std::string>& paths,
                                           BadImagePolicy policy, int batchSize = 8,
                                           bool showProgress = true);
/** Features of in-memory images. */
std::vector<torch::Tensor> extractFeatures(Backbone& backbone, const std::vector<cv::Mat>& images);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_FEATURE_CACHE_HPP
