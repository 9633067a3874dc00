// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "testing/test_backbone.hpp"

#include <onnx_graph.hpp>

#include <random>
#include <string>
#include <vector>

namespace anomaly_train {

onnx::ModelProto makeTestBackbone(int inputSize, const std::array<int64_t, 3>& channels,
                                  uint64_t seed)
{
    using namespace anomaly_export;
    OnnxGraphBuilder b("test_backbone");
    b.addInput("image", {-1, 3, inputSize, inputSize});
    std::mt19937_64 rng(seed);
    const int64_t kernels[3] = {4, 2, 2};
    const char* outputs[3] = {"feat_s4", "feat_s8", "feat_s16"};
    std::string x = "image";
    int64_t in = 3, size = inputSize;
    for (int s = 0; s < 3; ++s) {
        const int64_t k = kernels[s], out = channels[size_t(s)];
        std::normal_distribution<float> normal(0.f, std::sqrt(2.f / float(in * k * k)));
        std::vector<float> w(static_cast<size_t>(out * in * k * k));
        std::vector<float> bias(static_cast<size_t>(out));
        for (auto& v : w)
            v = normal(rng);
        for (auto& v : bias)
            v = 0.1f * normal(rng);
        const auto wName = b.addInitializer(b.uniqueName("w"), {out, in, k, k}, w.data());
        const auto bName = b.addInitializer(b.uniqueName("b"), {out}, bias.data());
        const std::vector<onnx::AttributeProto> attributes{attrInts("kernel_shape", {k, k}),
                                                           attrInts("strides", {k, k})};
        const std::string conv = b.addNode("Conv", std::vector<std::string>{x, wName, bName},
                                           b.uniqueName("conv"), attributes);
        x = b.addNode("Relu", std::vector<std::string>{conv}, std::string(outputs[s]));
        size /= k;
        b.addOutput(outputs[s], {-1, out, size, size});
        in = out;
    }
    b.setMetadata("backbone.name", "test_random");
    b.setMetadata("backbone.source", "random:seed=" + std::to_string(seed));
    b.setMetadata("backbone.channels", std::to_string(channels[0]) + "," +
                                           std::to_string(channels[1]) + "," +
                                           std::to_string(channels[2]));
    b.setMetadata("backbone.input_width", std::to_string(inputSize));
    b.setMetadata("backbone.input_height", std::to_string(inputSize));
    b.setMetadata("backbone.color_order", "RGB");
    b.setMetadata("backbone.mean", "0.485,0.456,0.406");
    b.setMetadata("backbone.std", "0.229,0.224,0.225");
    return b.model();
}

}  // namespace anomaly_train
