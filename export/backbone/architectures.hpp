// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The supported backbone architectures: how each turns its weights into an ONNX graph.
#ifndef ANOMALY_EXPORT_BACKBONE_ARCHITECTURES_HPP
#define ANOMALY_EXPORT_BACKBONE_ARCHITECTURES_HPP

#include "feature_net_writer.hpp"
#include "pth_state_dict.hpp"
#include "tfjs_layers_model.hpp"

#include <array>
#include <functional>
#include <string>
#include <vector>

namespace anomaly_backbone {

enum class WeightsFormat
{
    PyTorchStateDict,
    TfjsLayers
};

/** Weights as read from disk; only the member matching the architecture's format is filled. */
struct LoadedWeights
{
    StateDict stateDict;
    TfjsLayersModel tfjs;
};

/** Everything the converter needs to know about one architecture. */
struct Architecture
{
    std::string name;
    WeightsFormat format;
    bool rgb;                    // network colour order
    std::array<double, 3> mean;  // [0,1] image units, network order
    std::array<double, 3> std;
    int64_t classifierInputSize;  // native ImageNet resolution for the --classifier graph
    /** Writes the network into the writer; calls writer.tap() for feat_s4/s8/s16 and, in a
    classifier graph, ends with writer.classifierHead(). In a features graph it stops after
    the stride-16 tap. */
    std::function<void(const LoadedWeights&, FeatureNetWriter&)> build;
};

/** All architectures, by name. */
const std::vector<Architecture>& architectures();

/** The architecture called name; throws listing the known names otherwise. */
const Architecture& findArchitecture(const std::string& name);

/** One stage of an EfficientNet-Lite: its blocks' output width and how many blocks it has. */
struct EfficientNetLiteStage
{
    int64_t width, repeats;
    bool operator==(const EfficientNetLiteStage& o) const
    {
        return width == o.width && repeats == o.repeats;
    }
};
/** EfficientNet-Lite0, -Lite1 or -Lite2 with the variant's seven stages; weights whose stages
differ (another variant's) are refused. */
void buildEfficientNetLite(const std::string& variant,
                           const std::vector<EfficientNetLiteStage>& stages,
                           const StateDict& weights, FeatureNetWriter& net);
/** torchvision ResNet-18 (BasicBlock), ResNet-50 and Wide-ResNet-50-2 (Bottleneck); the variant
is checked against the weights' block type and widths. */
void buildTorchvisionResNet(const std::string& variant, const StateDict& weights,
                            FeatureNetWriter& net);
/** A sequential Keras CNN (Conv2D/DepthwiseConv2D + BatchNormalization + activation, max pools,
a global-average-pooled 1x1-conv or dense classifier) with its taps named by Keras layer. */
void buildKerasSequential(const TfjsLayersModel& model, const std::array<std::string, 3>& taps,
                          FeatureNetWriter& net);

}  // namespace anomaly_backbone

#endif  // ANOMALY_EXPORT_BACKBONE_ARCHITECTURES_HPP
