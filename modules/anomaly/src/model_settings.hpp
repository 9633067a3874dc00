// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The model file's metadata (doc/model-format.md section 3), validated and typed.
#ifndef OPENCV_ANOMALY_MODEL_SETTINGS_HPP
#define OPENCV_ANOMALY_MODEL_SETTINGS_HPP

#include <opencv2/core.hpp>

#include "opencv2/anomaly/model_io.hpp"

#include <map>
#include <string>

namespace cv {
namespace anomaly {

/** How a map becomes an image score. */
struct ScoreReduction
{
    int topK = 0;  //!< 0: maximum; otherwise mean of the topK largest values
};

struct ModelSettings
{
    int formatMajor = 0, formatMinor = 0;
    InputSpec input;
    std::string method, modelSize, backbone, trainingSummary;
    float imageThreshold = 0.f, pixelThreshold = 0.f;
    float imageNormMin = 0.f, imageNormMax = 1.f, pixelNormMin = 0.f, pixelNormMax = 1.f;
    ScoreReduction reduction;
    double smoothingSigma = 0;
    std::map<std::string, std::string> metadata;  //!< every key, for getMetadata()
};

/** Validates the header of a model file and types its metadata.
@throws cv::Exception naming the missing or malformed key, or the unsupported format version. */
ModelSettings parseModelSettings(const OnnxModelHeader& header);

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_MODEL_SETTINGS_HPP
