// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// torchvision ResNet / Wide-ResNet (He et al. 2016; Zagoruyko & Komodakis 2016) from a torchvision
// state dict. Taps follow PaDiM/PatchCore/CFlow: layer1 (stride 4), layer2 (8), layer3 (16).
#include "architectures.hpp"

#include <stdexcept>

namespace anomaly_backbone {
namespace {

constexpr double kBatchNormEpsilon = 1e-5;

ConvWeights convBn(const StateDict& w, const std::string& conv, const std::string& bn)
{
    return foldBatchNorm(requireTensor(w, conv + ".weight"), torch::Tensor(),
                         requireTensor(w, bn + ".weight"), requireTensor(w, bn + ".bias"),
                         requireTensor(w, bn + ".running_mean"),
                         requireTensor(w, bn + ".running_var"), kBatchNormEpsilon);
}

int64_t blockCount(const StateDict& w, const std::string& layer)
{
    int64_t n = 0;
    while (w.count(layer + "." + std::to_string(n) + ".conv1.weight"))
        ++n;
    return n;
}

/** BasicBlock (two 3x3) or Bottleneck (1x1, 3x3 with the stride, 1x1), torchvision v1.5. */
FeatureValue residualBlock(FeatureNetWriter& net, const StateDict& w, const std::string& p,
                           const FeatureValue& x, int64_t stride, bool bottleneck)
{
    FeatureValue h;
    if (bottleneck) {
        h = net.relu(net.conv(x, convBn(w, p + ".conv1", p + ".bn1"), 1, {0, 0, 0, 0}));
        h = net.relu(net.conv(h, convBn(w, p + ".conv2", p + ".bn2"), stride, symmetricPads(3)));
        h = net.conv(h, convBn(w, p + ".conv3", p + ".bn3"), 1, {0, 0, 0, 0});
    } else {
        h = net.relu(net.conv(x, convBn(w, p + ".conv1", p + ".bn1"), stride, symmetricPads(3)));
        h = net.conv(h, convBn(w, p + ".conv2", p + ".bn2"), 1, symmetricPads(3));
    }
    const FeatureValue shortcut =
        w.count(p + ".downsample.0.weight")
            ? net.conv(x, convBn(w, p + ".downsample.0", p + ".downsample.1"), stride, {0, 0, 0, 0})
            : x;
    return net.relu(net.add(h, shortcut));
}

}  // namespace

void buildTorchvisionResNet(const std::string& variant, const StateDict& w, FeatureNetWriter& net)
{
    struct Expected
    {
        bool bottleneck;
        std::array<int64_t, 4> blocks;
        int64_t firstWidth;  // output channels of layer1.0.conv1
    };
    const Expected expected = variant == "resnet18"   ? Expected{false, {2, 2, 2, 2}, 64}
                              : variant == "resnet50" ? Expected{true, {3, 4, 6, 3}, 64}
                                                      : Expected{true, {3, 4, 6, 3}, 128};
    const bool bottleneck = w.count("layer1.0.conv3.weight") > 0;
    const int64_t firstWidth = requireTensor(w, "layer1.0.conv1.weight").size(0);
    std::array<int64_t, 4> blocks;
    for (int i = 0; i < 4; ++i)
        blocks[i] = blockCount(w, "layer" + std::to_string(i + 1));
    if (bottleneck != expected.bottleneck || blocks != expected.blocks ||
        firstWidth != expected.firstWidth)
        throw std::runtime_error("the weights are not a torchvision " + variant +
                                 " state dict (block type, block counts or widths differ)");

    FeatureValue x =
        net.relu(net.conv(net.input(), convBn(w, "conv1", "bn1"), 2, symmetricPads(7)));
    x = net.maxPool(x, 3, 2, symmetricPads(3));
    for (int layer = 1; layer <= 4; ++layer) {
        for (int64_t b = 0; b < blocks[layer - 1]; ++b) {
            const int64_t stride = (layer > 1 && b == 0) ? 2 : 1;
            x = residualBlock(net, w, "layer" + std::to_string(layer) + "." + std::to_string(b), x,
                              stride, bottleneck);
        }
        if (layer <= 3) {
            net.tap("feat_s" + std::to_string(2 << layer), x);
            if (layer == 3 && net.kind() == GraphKind::Features)
                return;
        }
    }
    net.classifierHead(net.globalAveragePool(x), requireTensor(w, "fc.weight"),
                       requireTensor(w, "fc.bias"));
}

}  // namespace anomaly_backbone
