// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_detect_image: scores one image and writes the inspection overlay.
#include "command_line.hpp"
#include "inspection_overlay.hpp"
#include "output_file.hpp"
#include "tool_main.hpp"

#include <opencv2/anomaly.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <cstdio>

namespace {

int run(const anomaly_samples::CommandLine& cli)
{
    const cv::Mat image = cv::imread(cli.get("image"), cv::IMREAD_UNCHANGED);
    if (image.empty())
        throw std::runtime_error("cannot read image " + cli.get("image"));
    auto detector = cv::anomaly::LocalGlobalFlow::create(cli.get("model"));

    cv::anomaly::AnomalyResult result;
    const auto start = std::chrono::steady_clock::now();
    detector->detect(image, result);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

    const anomaly_samples::OverlayRenderer renderer(
        anomaly_samples::MapScale::fromModel(*detector));
    anomaly_samples::writeImageAtomically(cli.get("out"), renderer.render(image, result));

    // With a statistics score, say which part of the image score it was: an NG without regions
    // is then explained.
    const std::string statistics = detector->hasStatisticsScore()
                                       ? cv::format(" (statistics %.4f)", result.statisticsScore)
                                       : std::string();
    std::printf("%s  score %.4f%s  normalized %.3f  regions %zu  %.1f ms  overlay %s\n",
                result.isAnomalous ? "NG" : "OK", result.score, statistics.c_str(),
                result.normalizedScore, result.regions.size(), ms, cli.get("out").c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli(
        "anomaly_detect_image",
        "scores one image and writes an overlay (heatmap, defect outlines, OK/NG)",
        {{"model", "", "model file (.onnx) written by anomaly_train", true},
         {"image", "", "image to inspect (any format OpenCV reads)", true},
         {"out", "", "overlay image to write (.png or .jpg)", true}});
    return anomaly_samples::runTool(cli, argc, argv, run);
}
