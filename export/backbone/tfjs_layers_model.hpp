// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Reading Keras layers models exported for TensorFlow.js: model.json (layer graph and weights
// manifest) plus the binary weight shards it names.
#ifndef ANOMALY_EXPORT_BACKBONE_TFJS_LAYERS_MODEL_HPP
#define ANOMALY_EXPORT_BACKBONE_TFJS_LAYERS_MODEL_HPP

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace anomaly_backbone {

/** One Keras layer of a sequential chain, with the config fields the converters use. */
struct KerasLayer
{
    std::string className;  // "Conv2D", "BatchNormalization", ...
    std::string name;
    std::vector<std::string> inbound;  // names of the layers feeding this one
    std::string activation;            // Conv2D/Activation "activation" ("linear" when absent)
    std::string padding;               // "same" / "valid"
    std::vector<int64_t> kernelSize, strides, poolSize;
    bool useBias = false;
    double epsilon = 1e-3;  // BatchNormalization
    double alpha = 0.3;     // LeakyReLU
    double maxValue = 0;    // ReLU max_value (0 = none)
};

struct TfjsLayersModel
{
    std::vector<KerasLayer> layers;                // in model.json order
    std::map<std::string, torch::Tensor> weights;  // "conv1/kernel" -> tensor in Keras layout
};

/** Reads <dir>/model.json and its shards; throws std::runtime_error naming the file at fault.
`path` may be the directory or the model.json file. */
TfjsLayersModel loadTfjsLayersModel(const std::string& path);

/** Weight `layer/suffix` as float32; throws naming the weight when absent. */
torch::Tensor requireWeight(const TfjsLayersModel& model, const std::string& layer,
                            const std::string& suffix);

}  // namespace anomaly_backbone

#endif  // ANOMALY_EXPORT_BACKBONE_TFJS_LAYERS_MODEL_HPP
