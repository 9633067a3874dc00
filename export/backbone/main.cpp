// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_backbone: pretrained weights -> ONNX feature extractor (doc/backbones.md).
#include "architectures.hpp"
#include "backbone_converter.hpp"
#include "command_line.hpp"
#include "tool_main.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

namespace {

std::string architectureNames()
{
    std::string names;
    for (const auto& arch : anomaly_backbone::architectures())
        names += (names.empty() ? "" : ", ") + arch.name;
    return names;
}

int run(const anomaly_samples::CommandLine& cli)
{
    anomaly_backbone::ConvertOptions options;
    options.arch = cli.get("arch");
    options.weightsPath = cli.get("weights");
    options.featuresPath = cli.get("out");
    options.inputSize = cli.getInt("size");
    options.classifierPath = cli.get("classifier");
    options.source = cli.get("source");
    torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
    const auto result = anomaly_backbone::convertBackbone(options);
    std::printf("%s: feat_s4/s8/s16 channels %lld,%lld,%lld; %.3f GMAC per %lldx%lld image\n",
                options.featuresPath.c_str(), (long long)result.channels[0],
                (long long)result.channels[1], (long long)result.channels[2],
                result.featureMacs / 1e9, (long long)options.inputSize,
                (long long)options.inputSize);
    if (!options.classifierPath.empty())
        std::printf("%s: classifier, %.3f GMAC per image at its native size\n",
                    options.classifierPath.c_str(), result.classifierMacs / 1e9);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli(
        "anomaly_backbone", "pretrained weights -> ONNX feature extractor (doc/backbones.md)",
        {{"arch", "", "architecture: " + architectureNames(), true},
         {"weights", "", "weights: a TF.js model.json folder or a PyTorch .pth file", true},
         {"out", "", "feature extractor to write (.onnx)", true},
         {"size", "256", "square input size in pixels"},
         {"classifier", "", "also write the classifier network to this .onnx file"},
         {"source", "", "backbone.source metadata (default file:<weights file name>)"}});
    return anomaly_samples::runTool(cli, argc, argv, run);
}
