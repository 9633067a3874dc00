// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "calibration.hpp"

#include "feature_cache.hpp"

#include <opencv2/anomaly/dataset.hpp>
#include <opencv2/anomaly/metrics.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace anomaly_train {

namespace {

/** At most this many pixels per image enter the pixel statistics (a regular subsample). */
constexpr int kPixelsPerImage = 4096;

void samplePixels(const cv::Mat& map, std::vector<float>& out)
{
    const size_t total = map.total();
    const size_t step = std::max<size_t>(1, total / kPixelsPerImage);
    const cv::Mat flat = map.isContinuous() ? map.reshape(1, 1) : map.clone().reshape(1, 1);
    for (size_t i = 0; i < total; i += step)
        out.push_back(flat.at<float>(0, int(i)));
}

void setNormalization(float threshold, const std::vector<float>& values, float& lo, float& hi)
{
    lo = *std::min_element(values.begin(), values.end());
    const float span = std::max(threshold - lo, 1e-6f * std::max(1.f, std::abs(threshold)));
    lo = threshold - span;
    hi = threshold + span;
}

}  // namespace

std::string CalibrationRule::text() const
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s:%g", kind == Kind::Quantile ? "quantile" : "sigma", value);
    return buf;
}

CalibrationRule parseCalibrationRule(const std::string& text)
{
    const auto colon = text.find(':');
    const std::string kind = text.substr(0, colon);
    CalibrationRule rule;
    try {
        rule.value = std::stod(text.substr(colon == std::string::npos ? text.size() : colon + 1));
    } catch (const std::exception&) {
        throw std::invalid_argument("--calibration must be quantile:Q or sigma:K, got '" + text +
                                    "'");
    }
    if (kind == "quantile" && rule.value > 0 && rule.value <= 1)
        rule.kind = CalibrationRule::Kind::Quantile;
    else if (kind == "sigma" && rule.value >= 0)
        rule.kind = CalibrationRule::Kind::Sigma;
    else
        throw std::invalid_argument(
            "--calibration must be quantile:Q (0<Q<=1) or sigma:K (K>=0), got '" + text + "'");
    return rule;
}

std::pair<double, double> meanAndStd(const std::vector<float>& values)
{
    double sum = 0, sumSquares = 0;
    for (float v : values) {
        sum += v;
        sumSquares += double(v) * v;
    }
    const double n = double(values.size());
    const double mean = sum / n;
    return {mean, std::sqrt(std::max(0.0, sumSquares / n - mean * mean))};
}

double applyRule(const CalibrationRule& rule, std::vector<float> values)
{
    if (values.empty())
        throw std::runtime_error("calibration needs at least one held-out value");
    if (rule.kind == CalibrationRule::Kind::Sigma) {
        const auto [mean, deviation] = meanAndStd(values);
        return mean + rule.value * deviation;
    }
    // Linear interpolation between order statistics (numpy's default quantile).
    std::sort(values.begin(), values.end());
    const double pos = rule.value * double(values.size() - 1);
    const size_t lo = size_t(std::floor(pos));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (pos - double(lo)) * (values[hi] - values[lo]);
}

Calibration calibrateOnGoodImages(cv::anomaly::LocalGlobalFlow& detector,
                                  const std::vector<cv::Mat>& images, const CalibrationRule& rule)
{
    std::vector<cv::anomaly::AnomalyResult> results;
    detector.detectBatch(images, results);
    std::vector<float> scores, peaks, pixels;
    for (const auto& r : results) {
        scores.push_back(r.score);
        double peak = 0;
        cv::minMaxLoc(r.anomalyMap, nullptr, &peak);
        peaks.push_back(float(peak));
        samplePixels(r.anomalyMap, pixels);
    }
    Calibration c;
    c.method = rule.text();
    c.imageThreshold = float(applyRule(rule, scores));
    // The rule on each good image's peak, not on all its pixels: a pixel quantile of 0.995 flags
    // 0.5% of every good image's pixels, so nearly every good part would show defect regions.
    // On peaks, good parts show a region as rarely as they are called NG.
    c.pixelThreshold = float(applyRule(rule, peaks));
    setNormalization(c.imageThreshold, scores, c.imageMin, c.imageMax);
    setNormalization(c.pixelThreshold, pixels, c.pixelMin, c.pixelMax);
    return c;
}

Calibration calibrateOnValidation(cv::anomaly::LocalGlobalFlow& detector,
                                  const std::string& validationRoot, const Calibration& base)
{
    const cv::anomaly::TestSet set = cv::anomaly::readTestSet(validationRoot);
    std::vector<float> scores;
    std::vector<int> labels;
    std::vector<cv::Mat> maps, masks;
    for (const auto& sample : set.samples) {
        const cv::Mat image = readImage(sample.imagePath);
        if (image.empty())
            throw std::runtime_error("cannot read validation image " + sample.imagePath);
        cv::anomaly::AnomalyResult r;
        detector.detect(image, r);
        scores.push_back(r.score);
        labels.push_back(sample.isAnomalous ? 1 : 0);
        if (set.hasMasks) {
            cv::Mat mask = cv::Mat::zeros(r.anomalyMap.size(), CV_8U);
            for (const auto& path : sample.maskPaths) {
                cv::Mat raw = cv::imread(path, cv::IMREAD_GRAYSCALE), bin;
                if (raw.empty())
                    throw std::runtime_error("cannot read mask " + path);
                cv::anomaly::binarizeMask(raw, bin);
                cv::resize(bin, bin, mask.size(), 0, 0, cv::INTER_NEAREST);
                mask |= bin;
            }
            maps.push_back(r.anomalyMap);
            masks.push_back(mask);
        }
    }
    if (std::count(labels.begin(), labels.end(), 1) == 0 ||
        std::count(labels.begin(), labels.end(), 0) == 0)
        throw std::runtime_error("validation folder " + validationRoot +
                                 " needs both good and defective images");
    Calibration c = base;
    c.method = "f1";
    c.imageThreshold = float(cv::anomaly::imageF1Max(scores, labels).threshold);
    setNormalization(c.imageThreshold, scores, c.imageMin, c.imageMax);
    if (set.hasMasks) {
        c.pixelThreshold = float(cv::anomaly::pixelF1Max(maps, masks).threshold);
        std::vector<float> pixels;
        for (const auto& m : maps)
            samplePixels(m, pixels);
        setNormalization(c.pixelThreshold, pixels, c.pixelMin, c.pixelMax);
    } else {
        c.method = "f1:image,pixel=" + base.method;
    }
    return c;
}

}  // namespace anomaly_train
