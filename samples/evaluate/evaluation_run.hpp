// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Runs a model over a test set: loads images and ground truth, scores every image (optionally on
// several threads, one detector each), keeps what the metrics and the report need.
#ifndef ANOMALY_EVALUATE_EVALUATION_RUN_HPP
#define ANOMALY_EVALUATE_EVALUATION_RUN_HPP

#include <opencv2/anomaly.hpp>

#include <limits>
#include <string>
#include <vector>

namespace anomaly_evaluate {

/** @brief What one test image gave. */
struct ScoredSample
{
    cv::anomaly::DatasetSample sample;
    float score = 0.f;
    cv::Mat anomalyMap;            //!< CV_32F raw map at the image's size
    cv::Mat truth;                 //!< CV_8U 0/255 union of the ground-truth masks; empty when none
    std::vector<cv::Mat> defects;  //!< MVTec LOCO: one raw mask per defect (pixel value kept)
    double latencyMs = 0;          //!< time of detect() alone
    /** Pixel AUROC of the map against this image's own mask (NaN without a mask holding both
    classes), computed once here because the report, the worst cases and the figure all use it. */
    double inImagePixelAUROC = std::numeric_limits<double>::quiet_NaN();
};

/** @brief Pixel AUROC of one image's map against its own mask; NaN when the mask is empty or
holds one class only. */
double inImagePixelAUROC(const cv::Mat& anomalyMap, const cv::Mat& truth);

/** @brief Loads one image for the detector (any depth/channels imread gives).
@throws std::runtime_error naming the file when it cannot be read. */
cv::Mat readImage(const std::string& path);

/** @brief Loads the ground truth of a sample: the binarised union of its masks (empty when it has
none) and, when keepDefects, each raw mask. Masks must have the image's size.
@throws std::runtime_error naming the file when a mask is unreadable or of the wrong size. */
void readTruth(const cv::anomaly::DatasetSample& sample, cv::Size imageSize, bool keepDefects,
               cv::Mat& truth, std::vector<cv::Mat>& defects);

/** @brief Scores every sample with one detector per thread, showing a progress bar on stderr.
@throws std::runtime_error (the first error of any thread) when a file cannot be read. */
std::vector<ScoredSample> scoreTestSet(const std::string& modelPath,
                                       const cv::anomaly::TestSet& testSet, int threads);

}  // namespace anomaly_evaluate

#endif  // ANOMALY_EVALUATE_EVALUATION_RUN_HPP
