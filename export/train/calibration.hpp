// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Thresholds and score normalisation from held-out good images (quantile or mean + k sigma), or
// F1-optimal thresholds from a validation set with defects. Scores come from the runtime itself.
#ifndef ANOMALY_TRAIN_CALIBRATION_HPP
#define ANOMALY_TRAIN_CALIBRATION_HPP

#include <opencv2/anomaly/local_global_flow.hpp>

#include <string>
#include <utility>
#include <vector>

namespace anomaly_train {

struct CalibrationRule
{
    enum class Kind
    {
        Quantile,
        Sigma
    } kind = Kind::Quantile;
    double value = 0.995;
    std::string text() const;
};

/** "quantile:Q" (0 < Q <= 1) or "sigma:K" (K >= 0); throws std::invalid_argument. */
CalibrationRule parseCalibrationRule(const std::string& text);

struct Calibration
{
    float imageThreshold = 0, pixelThreshold = 0;
    float imageMin = 0, imageMax = 1, pixelMin = 0, pixelMax = 1;
    std::string method;  // anomaly.calibration
};

/** Mean and (population) standard deviation of a non-empty sample. */
std::pair<double, double> meanAndStd(const std::vector<float>& values);

/** The rule applied to a sample. */
double applyRule(const CalibrationRule& rule, std::vector<float> values);

/** Runs detector on the held-out good images. Image threshold: the rule on their scores; pixel
threshold: the rule on each image's largest map value, so that good images show defect regions as
rarely as they are called NG. Normalisation [min, t + (t - min)] so that the lowest held-out value
(score, or map value) maps to 0 and t to 0.5. */
Calibration calibrateOnGoodImages(cv::anomaly::LocalGlobalFlow& detector,
                                  const std::vector<cv::Mat>& images, const CalibrationRule& rule);

/** F1-optimal image threshold (and pixel threshold when every defect has a mask) on a validation
folder with good/ and defect subfolders; values not determined there keep those of `base`. */
Calibration calibrateOnValidation(cv::anomaly::LocalGlobalFlow& detector,
                                  const std::string& validationRoot, const Calibration& base);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_CALIBRATION_HPP
