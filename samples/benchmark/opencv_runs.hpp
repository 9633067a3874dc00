// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Timed runs of the OpenCV path: LocalGlobalFlow::detect() end to end, and the same model's
// cv::dnn::Net with per-stage layer timings.
#ifndef ANOMALY_BENCHMARK_OPENCV_RUNS_HPP
#define ANOMALY_BENCHMARK_OPENCV_RUNS_HPP

#include "stage_profile.hpp"

#include <opencv2/anomaly.hpp>

#include <functional>
#include <vector>

namespace anomaly_benchmark {

/** Called after every timed or warm-up iteration (progress display). */
using IterationDone = std::function<void()>;

/** Preprocessing settings of a model as LocalGlobalFlow reads them from its metadata. */
cv::anomaly::InputSpec inputSpecOf(const cv::anomaly::LocalGlobalFlow& detector);

/** Median seconds per image of detect() (one image) or detectBatch() (several), after warmup
untimed calls. */
double medianDetectSecondsPerImage(cv::anomaly::LocalGlobalFlow& detector,
                                   const std::vector<cv::Mat>& images, int warmup, int repeats,
                                   const IterationDone& done);

/** Medians, seconds per image, of one net run split into its parts. */
struct StageTimes
{
    double preprocess = 0;       // cv::anomaly::makeInputBlob
    std::vector<double> stages;  // per StageLayout stage, from the layer timings
    double forward = 0;          // wall time of setInput + forward
    double dnnOverhead = 0;      // forward minus the sum of the layer timings
    double postprocess = 0;      // detect() time minus preprocess and forward of the same iteration
    std::vector<double> layers;  // per StageLayout layer
};

/** Each iteration runs makeInputBlob + the net (timed per layer) and then detect()/detectBatch()
on the same images, so the postprocessing share is measured under the same machine load. */
StageTimes medianStageSecondsPerImage(cv::dnn::Net& net, const StageLayout& layout,
                                      cv::anomaly::LocalGlobalFlow& detector,
                                      const cv::anomaly::InputSpec& spec,
                                      const std::vector<cv::Mat>& images,
                                      const std::vector<cv::String>& outputNames, int warmup,
                                      int repeats, const IterationDone& done);

}  // namespace anomaly_benchmark

#endif  // ANOMALY_BENCHMARK_OPENCV_RUNS_HPP
