// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_layer_report: which layers of a model run natively on a cv::dnn backend and which fall
// back to OpenCV's CPU implementation (each fallback costs two host/device copies and a sync).
#include <opencv2/anomaly.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include "command_line.hpp"
#include "layer_flops.hpp"
#include "tool_main.hpp"

#include <cstdio>
#include <map>

namespace {

struct BackendChoice
{
    int backend;
    int target;
};

BackendChoice parseBackend(const std::string& name)
{
    const std::map<std::string, BackendChoice> known = {
        {"opencv", {cv::dnn::DNN_BACKEND_OPENCV, cv::dnn::DNN_TARGET_CPU}},
        {"cuda", {cv::dnn::DNN_BACKEND_CUDA, cv::dnn::DNN_TARGET_CUDA}},
        {"cuda_fp16", {cv::dnn::DNN_BACKEND_CUDA, cv::dnn::DNN_TARGET_CUDA_FP16}},
    };
    auto it = known.find(name);
    if (it == known.end())
        throw anomaly_samples::UsageError("--backend must be opencv, cuda or cuda_fp16, not '" +
                                          name + "'");
    return it->second;
}

int runReport(const anomaly_samples::CommandLine& cli)
{
    const std::string modelPath = cli.get("model");
    const BackendChoice choice = parseBackend(cli.get("backend"));
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);

    // Reading through LocalGlobalFlow first validates the file (format version, structure).
    cv::Ptr<cv::anomaly::LocalGlobalFlow> detector =
        cv::anomaly::LocalGlobalFlow::create(modelPath);
    const cv::Size inputSize = detector->getInputSize();
    cv::dnn::Net net = cv::anomaly::readNetWithCustomLayers(modelPath);
    const cv::dnn::MatShape inputShape = {1, 3, inputSize.height, inputSize.width};

    const bool backendAvailable =
        !cv::dnn::getAvailableTargets(cv::dnn::Backend(choice.backend)).empty();
    std::printf("model %s (%s, %s, backbone %s), input %dx%d\n", modelPath.c_str(),
                detector->getMethod().c_str(), detector->getModelSize().c_str(),
                detector->getBackbone().c_str(), inputSize.width, inputSize.height);
    if (!backendAvailable)
        std::printf(
            "NOTE: this OpenCV (%s) has no '%s' backend: at run time every layer runs on the "
            "CPU. The per-layer answers below are what this OpenCV build reports.\n",
            CV_VERSION, cli.get("backend").c_str());

    double totalFlops = 0, fallbackFlops = 0;
    int fallbackCount = 0, layerCount = 0;
    std::printf("%-5s %-44s %-34s %8s  %s\n", "id", "layer", "type", "MFLOPs", "runs");
    for (const std::string& name : net.getLayerNames()) {
        const int id = net.getLayerId(name);
        cv::Ptr<cv::dnn::Layer> layer = net.getLayer(id);
        const bool native = layer->supportBackend(choice.backend);
        const double flops = anomaly_samples::layerFlops(net, id, inputShape);
        totalFlops += flops;
        ++layerCount;
        if (!native) {
            ++fallbackCount;
            fallbackFlops += flops;
        }
        if (!native || cli.has("all"))
            std::printf("%-5d %-44.44s %-34.34s %8.2f  %s\n", id, name.c_str(), layer->type.c_str(),
                        flops / 1e6, native ? "native" : "CPU FALLBACK");
    }
    std::printf("%d of %d layers fall back to the CPU on '%s' (%.2f%% of %.3f GFLOPs)\n",
                fallbackCount, layerCount, cli.get("backend").c_str(),
                totalFlops > 0 ? 100.0 * fallbackFlops / totalFlops : 0.0, totalFlops / 1e9);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli(
        "anomaly_layer_report",
        "Lists the layers of a model that a cv::dnn backend cannot run natively (CPU fallbacks).",
        {{"model", "", "model file (.onnx) written by anomaly_train", true},
         {"backend", "cuda", "opencv, cuda or cuda_fp16", false},
         {"all", "", "list every layer, not only the fallbacks", false, true}});
    return anomaly_samples::runTool(cli, argc, argv, runReport);
}
