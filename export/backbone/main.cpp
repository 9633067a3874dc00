// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_backbone: pretrained weights -> ONNX feature extractor (doc/backbones.md).
#include "architectures.hpp"
#include "backbone_converter.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace {

void printUsage()
{
    std::string names;
    for (const auto& arch : anomaly_backbone::architectures())
        names += (names.empty() ? "" : "|") + arch.name;
    std::cerr << "usage: anomaly_backbone --arch <" << names << ">\n"
              << "         --weights <model.json dir | .pth> --out <features.onnx>\n"
              << "         [--size 256] [--classifier <classifier.onnx>] [--source <text>]\n";
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_backbone::ConvertOptions options;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            if (arg == "-h" || arg == "--help") {
                printUsage();
                return 0;
            }
            if (i + 1 >= argc)
                throw std::runtime_error("missing value after " + arg);
            const std::string value = argv[++i];
            if (arg == "--arch")
                options.arch = value;
            else if (arg == "--weights")
                options.weightsPath = value;
            else if (arg == "--out")
                options.featuresPath = value;
            else if (arg == "--classifier")
                options.classifierPath = value;
            else if (arg == "--source")
                options.source = value;
            else if (arg == "--size")
                options.inputSize = std::stoll(value);
            else
                throw std::runtime_error("unknown option " + arg);
        }
        if (options.arch.empty() || options.weightsPath.empty() || options.featuresPath.empty()) {
            printUsage();
            throw std::runtime_error("--arch, --weights and --out are required");
        }
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
    } catch (const std::exception& e) {
        std::cerr << "anomaly_backbone: " << e.what() << "\n";
        return 1;
    }
}
