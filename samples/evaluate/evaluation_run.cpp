// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "evaluation_run.hpp"

#include "progress_bar.hpp"

#include <opencv2/imgcodecs.hpp>

#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace anomaly_evaluate {

cv::Mat readImage(const std::string& path)
{
    cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
    if (image.empty())
        throw std::runtime_error("cannot read image " + path);
    return image;
}

void readTruth(const cv::anomaly::DatasetSample& sample, cv::Size imageSize, bool keepDefects,
               cv::Mat& truth, std::vector<cv::Mat>& defects)
{
    truth.release();
    defects.clear();
    for (const std::string& path : sample.maskPaths) {
        cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED);
        if (raw.empty())
            throw std::runtime_error("cannot read mask " + path);
        if (raw.size() != imageSize)
            throw std::runtime_error("mask " + path + " is " + std::to_string(raw.cols) + "x" +
                                     std::to_string(raw.rows) + " but its image " +
                                     sample.imagePath + " is " + std::to_string(imageSize.width) +
                                     "x" + std::to_string(imageSize.height));
        cv::Mat binary;
        cv::anomaly::binarizeMask(raw, binary);
        if (truth.empty())
            truth = binary;
        else
            cv::bitwise_or(truth, binary, truth);
        if (keepDefects) {
            // LOCO masks are single-channel; the pixel value selects the defect's config.
            if (raw.channels() > 1)
                cv::extractChannel(raw, raw, 0);
            defects.push_back(raw);
        }
    }
}

double inImagePixelAUROC(const cv::Mat& anomalyMap, const cv::Mat& truth)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (truth.empty())
        return nan;
    const int defectPixels = cv::countNonZero(truth);
    if (defectPixels == 0 || size_t(defectPixels) == truth.total())
        return nan;
    return cv::anomaly::pixelAUROC(std::vector<cv::Mat>{anomalyMap}, std::vector<cv::Mat>{truth});
}

std::vector<ScoredSample> scoreTestSet(const std::string& modelPath,
                                       const cv::anomaly::TestSet& testSet, int threads)
{
    const size_t count = testSet.samples.size();
    std::vector<ScoredSample> results(count);
    const bool keepDefects = testSet.layout == cv::anomaly::DATASET_MVTEC_LOCO;

    // One detector per thread: cv::dnn::Net must not be shared (LocalGlobalFlow's contract).
    std::vector<cv::Ptr<cv::anomaly::LocalGlobalFlow>> detectors;
    for (int t = 0; t < threads; ++t)
        detectors.push_back(cv::anomaly::LocalGlobalFlow::create(modelPath));

    anomaly_samples::ProgressBar progress("evaluate", long(count));
    std::atomic<size_t> next{0}, done{0};
    std::atomic<bool> failed{false};
    std::mutex errorMutex;
    std::string firstError;

    auto work = [&](cv::anomaly::LocalGlobalFlow& detector) {
        for (size_t i = next++; i < count && !failed; i = next++) {
            try {
                ScoredSample& r = results[i];
                r.sample = testSet.samples[i];
                const cv::Mat image = readImage(r.sample.imagePath);
                readTruth(r.sample, image.size(), keepDefects, r.truth, r.defects);
                cv::anomaly::AnomalyResult result;
                const auto start = std::chrono::steady_clock::now();
                detector.detect(image, result);
                r.latencyMs = std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - start)
                                  .count();
                r.score = result.score;
                r.anomalyMap = result.anomalyMap;
                r.inImagePixelAUROC = inImagePixelAUROC(r.anomalyMap, r.truth);
            } catch (const cv::Exception& e) {
                // e.what() spans several lines (file, line, function); the message alone is one.
                std::lock_guard<std::mutex> lock(errorMutex);
                if (firstError.empty())
                    firstError = e.err;
                failed = true;
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(errorMutex);
                if (firstError.empty())
                    firstError = e.what();
                failed = true;
            }
            ++done;
        }
    };

    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back(work, std::ref(*detectors[size_t(t)]));
    while (done < count && !failed) {
        progress.update(long(done));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (std::thread& t : pool)
        t.join();
    if (failed)
        throw std::runtime_error(firstError);
    progress.update(long(count));
    progress.finish();
    return results;
}

}  // namespace anomaly_evaluate
