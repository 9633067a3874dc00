// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// What one benchmark run measured, and its Markdown tables.
#ifndef ANOMALY_BENCHMARK_REPORT_HPP
#define ANOMALY_BENCHMARK_REPORT_HPP

#include "opencv_runs.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace anomaly_benchmark {

/** One thread count and batch size of the OpenCV path. */
struct ConfigResult
{
    int threads = 1, batch = 1;
    double detectSecondsPerImage = 0;  // median, LocalGlobalFlow::detect()/detectBatch()
    StageTimes stages;                 // medians, the same model's net run directly
};

/** Matrix-multiply rates (GFLOP/s) at one thread count; a negative rate was not measured. */
struct MatmulPeak
{
    int threads = 1;
    double cvGemm = -1;
    bool blasThreadsSet = false;
    double dnnConv = -1;
    double torchMm = -1;
    double best() const;
};

/** Peer (a) at one thread count and batch size. */
struct HeadPeerRow
{
    int threads = 1, batch = 1;
    double torchSecondsPerImage = 0;   // median, AnomalyHeadImpl::forward under NoGradGuard
    double opencvSecondsPerImage = 0;  // median, head-only ONNX graph through cv::dnn
    double maxAbsMapDifference = 0;    // anomaly_map, LibTorch vs cv::dnn, same input
};

struct BenchmarkReport
{
    std::string modelPath, method, modelSize, backbone;
    std::string flowInput;   // lgnf: what its flows see (anomaly_train --flow-input)
    std::string flowScales;  // lgnf: the strides that have flows (anomaly_train --flow-scales)
    cv::Size inputSize;
    int warmup = 0, repeats = 0;
    std::vector<std::string> stageNames;
    std::vector<double> stageFlops;  // per image
    double totalFlops = 0;           // per image, cv::dnn::Net::getFLOPS
    std::vector<std::string> layerNames, layerTypes;
    std::vector<double> layerFlops;  // per image, parallel to layerNames
    int topLayers = 0;               // slowest layers to list
    std::vector<ConfigResult> configs;
    double startRssMiB = 0, detectorPeakMiB = 0, finalPeakMiB = 0;
    std::vector<MatmulPeak> peaks;
    std::vector<HeadPeerRow> headRows;  // empty without LibTorch
};

void printReport(const BenchmarkReport& report, std::ostream& out);

}  // namespace anomaly_benchmark

#endif  // ANOMALY_BENCHMARK_REPORT_HPP
