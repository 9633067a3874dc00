// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_backbone_timing: forward time of backbone files through OpenCV DNN, for comparing what
// two converter versions write (doc/performance.md). The files are run interleaved (A, B, A, B,
// ...) in one process so that the load of a shared machine hits all of them alike.
#include "command_line.hpp"
#include "progress_bar.hpp"
#include "tool_main.hpp"

#include <opencv2/anomaly/model_io.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace {

constexpr int kWarmup = 3;
const std::vector<cv::String> kTaps = {"feat_s4", "feat_s8", "feat_s16"};

struct Options
{
    int repeats, threads, size;
    std::vector<std::string> files;
};

Options parse(const anomaly_samples::CommandLine& cli)
{
    return {cli.getInt("repeats", 1), cli.getInt("threads", 1), cli.getInt("size", 32),
            cli.getList("backbones")};
}

double ticksToMs(double ticks)
{
    return ticks * 1000.0 / cv::getTickFrequency();
}

/** Milliseconds per layer type of the net's last forward (OpenCV's per-layer timings). */
std::map<std::string, double> msByLayerType(cv::dnn::Net& net)
{
    std::vector<double> ticks;
    net.getPerfProfile(ticks);
    const std::vector<cv::String> names = net.getLayerNames();
    std::map<std::string, double> byType;
    for (size_t i = 0; i < names.size() && i < ticks.size(); ++i)
        byType[net.getLayer(net.getLayerId(names[i]))->type] += ticksToMs(ticks[i]);
    return byType;
}

int run(const anomaly_samples::CommandLine& cli)
{
    const Options o = parse(cli);
    cv::setNumThreads(o.threads);
    std::vector<cv::dnn::Net> nets;
    for (const auto& f : o.files)  // files may hold org.opencv.anomaly ops (Relu6)
        nets.push_back(cv::anomaly::readNetWithCustomLayers(f));
    cv::Mat input({1, 3, o.size, o.size}, CV_32F);
    cv::RNG(1).fill(input, cv::RNG::UNIFORM, -1, 1);  // fixed seed: the same input each run

    std::vector<std::vector<cv::Mat>> taps(nets.size());
    std::vector<std::vector<double>> ms(nets.size());
    // A progress bar object, not a bare "\r" counter: on an exception its destructor ends the line
    // before the error message is printed.
    anomaly_samples::ProgressBar bar("timing", kWarmup + o.repeats, "run");
    for (int r = 0; r < kWarmup + o.repeats; ++r) {
        for (size_t n = 0; n < nets.size(); ++n) {
            nets[n].setInput(input);
            const int64 start = cv::getTickCount();
            nets[n].forward(taps[n], kTaps);
            if (r >= kWarmup)
                ms[n].push_back(ticksToMs(double(cv::getTickCount() - start)));
        }
        bar.update(r + 1);
    }
    bar.finish();

    std::printf("%d thread(s), batch 1, %dx%d, %d runs after %d warm-up\n", o.threads, o.size,
                o.size, o.repeats, kWarmup);
    for (size_t n = 0; n < nets.size(); ++n) {
        std::vector<double> sorted = ms[n];
        std::sort(sorted.begin(), sorted.end());
        // Same weights, different graphs: the taps should agree to float rounding.
        double diff = 0;
        for (size_t t = 0; t < kTaps.size(); ++t)
            diff = std::max(diff, cv::norm(taps[n][t], taps[0][t], cv::NORM_INF));
        std::printf(
            "%s: median %.2f ms, min %.2f, max %.2f; %zu layers; max |taps - first "
            "file| %.3g\n  last run by layer type (ms):",
            o.files[n].c_str(), sorted[sorted.size() / 2], sorted.front(), sorted.back(),
            nets[n].getLayerNames().size(), diff);
        for (const auto& kv : msByLayerType(nets[n]))
            if (kv.second >= 0.05)
                std::printf(" %s %.2f", kv.first.c_str(), kv.second);
        std::printf("\n");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli(
        "anomaly_backbone_timing",
        "forward time of backbone files through OpenCV DNN, run interleaved in one process",
        {{"backbones", "", "comma-separated backbone files, e.g. a.onnx,b.onnx", true},
         {"repeats", "30",
          "timed runs per file, after " + std::to_string(kWarmup) + " warm-up runs"},
         {"threads", "1", "OpenCV threads"},
         {"size", "256", "square input size in pixels (>= 32)"}});
    return anomaly_samples::runTool(cli, argc, argv, run);
}
