// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "backbone_converter.hpp"

#include "architectures.hpp"

#include <cstdio>
#include <stdexcept>

namespace anomaly_backbone {
namespace {

std::string formatList(const std::array<double, 3>& values)
{
    std::string out;
    for (double v : values) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", v);
        out += (out.empty() ? "" : ",") + std::string(buf);
    }
    return out;
}

std::string baseName(const std::string& path)
{
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

void writeMetadata(FeatureNetWriter& net, const Architecture& arch, const std::string& source,
                   int64_t size, const std::string& channels)
{
    auto& b = net.builder();
    b.setMetadata("backbone.name", arch.name);
    b.setMetadata("backbone.source", source);
    b.setMetadata("backbone.channels", channels);
    b.setMetadata("backbone.input_width", std::to_string(size));
    b.setMetadata("backbone.input_height", std::to_string(size));
    b.setMetadata("backbone.color_order", arch.rgb ? "RGB" : "BGR");
    b.setMetadata("backbone.mean", formatList(arch.mean));
    b.setMetadata("backbone.std", formatList(arch.std));
}

std::array<int64_t, 3> tapChannels(const FeatureNetWriter& net)
{
    std::array<int64_t, 3> channels{};
    const auto& graph = const_cast<FeatureNetWriter&>(net).builder().model().graph();
    for (const auto& output : graph.output()) {
        for (int t = 0; t < 3; ++t)
            if (output.name() == "feat_s" + std::to_string(4 << t))
                channels[t] = output.type().tensor_type().shape().dim(1).dim_value();
    }
    return channels;
}

}  // namespace

ConvertResult convertBackbone(const ConvertOptions& options)
{
    const Architecture& arch = findArchitecture(options.arch);
    if (options.inputSize % 32 != 0 || options.inputSize < 64)
        throw std::runtime_error("--size must be a multiple of 32, at least 64");
    LoadedWeights weights;
    if (arch.format == WeightsFormat::PyTorchStateDict)
        weights.stateDict = loadPthStateDict(options.weightsPath);
    else
        weights.tfjs = loadTfjsLayersModel(options.weightsPath);
    const std::string source =
        options.source.empty() ? "file:" + baseName(options.weightsPath) : options.source;

    ConvertResult result;
    FeatureNetWriter features(arch.name + "_features", options.inputSize, GraphKind::Features);
    arch.build(weights, features);
    result.channels = tapChannels(features);
    for (int64_t c : result.channels)
        if (c == 0)
            throw std::runtime_error(arch.name + ": the network did not produce all three taps");
    result.featureMacs = features.multiplyAccumulates();
    const std::string channels = std::to_string(result.channels[0]) + "," +
                                 std::to_string(result.channels[1]) + "," +
                                 std::to_string(result.channels[2]);
    writeMetadata(features, arch, source, options.inputSize, channels);
    features.builder().save(options.featuresPath);

    if (!options.classifierPath.empty()) {
        FeatureNetWriter classifier(arch.name + "_classifier", arch.classifierInputSize,
                                    GraphKind::Classifier);
        arch.build(weights, classifier);
        result.classifierMacs = classifier.multiplyAccumulates();
        writeMetadata(classifier, arch, source, arch.classifierInputSize, channels);
        classifier.builder().save(options.classifierPath);
    }
    return result;
}

}  // namespace anomaly_backbone
