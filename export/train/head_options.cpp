// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "head_options.hpp"

#include <stdexcept>

namespace anomaly_train {

Preset parsePreset(const std::string& name)
{
    if (name == "lgnf")
        return Preset::Lgnf;
    if (name == "dadf")
        return Preset::Dadf;
    if (name == "lgfdr")
        return Preset::Lgfdr;
    throw std::invalid_argument("unknown preset '" + name + "' (lgnf, dadf or lgfdr)");
}

ModelSize parseModelSize(const std::string& name)
{
    if (name == "lite")
        return ModelSize::Lite;
    if (name == "paper")
        return ModelSize::Paper;
    throw std::invalid_argument("unknown model size '" + name + "' (lite or paper)");
}

FlowInput parseFlowInput(const std::string& name)
{
    if (name == "discrepancy")
        return FlowInput::Discrepancy;
    if (name == "discrepancy+features")
        return FlowInput::DiscrepancyWithFeatures;
    if (name == "absdiff")
        return FlowInput::AbsoluteDiscrepancy;
    throw std::invalid_argument("unknown flow input '" + name +
                                "' (discrepancy, discrepancy+features or absdiff)");
}

std::string presetName(Preset preset)
{
    switch (preset) {
        case Preset::Lgnf:
            return "lgnf";
        case Preset::Dadf:
            return "dadf";
        case Preset::Lgfdr:
            return "lgfdr";
    }
    return "";
}

std::string modelSizeName(ModelSize size)
{
    return size == ModelSize::Lite ? "lite" : "paper";
}

std::string flowInputName(FlowInput input)
{
    switch (input) {
        case FlowInput::Discrepancy:
            return "discrepancy";
        case FlowInput::DiscrepancyWithFeatures:
            return "discrepancy+features";
        case FlowInput::AbsoluteDiscrepancy:
            return "absdiff";
    }
    return "";
}

HeadOptions defaultHeadOptions(Preset preset, ModelSize size)
{
    HeadOptions o;
    o.preset = preset;
    o.size = size;
    if (size == ModelSize::Paper) {
        // Widths of the papers: DADF's 3 x 480 = 1440 tokens, 8 blocks, 8 heads, MLP ratio 4 and
        // 8 coupling blocks; the abstract-only papers A and C get UniAD-like 4-block transformers.
        o.dim = preset == Preset::Dadf ? 1440 : 512;
        o.heads = 8;
        o.mlpRatio = 4;
        o.localBlocks = 4;
        o.globalBlocks = 2;
        o.dualBlocks = 8;
        o.flowBlocks = 8;
    }
    return o;
}

}  // namespace anomaly_train
