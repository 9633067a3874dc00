// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "head_options.hpp"

#include <algorithm>
#include <stdexcept>

namespace anomaly_train {

namespace {

/** One option value and its command-line name; each enum's table lists all its values. */
template <typename E>
struct NamedValue
{
    E value;
    const char* name;
};

const NamedValue<Preset> kPresets[] = {
    {Preset::Lgnf, "lgnf"}, {Preset::Dadf, "dadf"}, {Preset::Lgfdr, "lgfdr"}};
const NamedValue<ModelSize> kModelSizes[] = {{ModelSize::Lite, "lite"},
                                             {ModelSize::Paper, "paper"}};
const NamedValue<FlowInput> kFlowInputs[] = {
    {FlowInput::Discrepancy, "discrepancy"},
    {FlowInput::DiscrepancyWithFeatures, "discrepancy+features"},
    {FlowInput::AbsoluteDiscrepancy, "absdiff"},
    {FlowInput::WhitenedWithDiscrepancy, "whitened+discrepancy"}};

/** The strides of the three backbone scales, by scale index (HeadGeometry's order). */
constexpr int kStrides[3] = {4, 8, 16};

/** The value named `name`; else invalid_argument "unknown <what> '<name>' (a, b or c)". */
template <typename E, size_t N>
E parseName(const std::string& name, const NamedValue<E> (&table)[N], const char* what)
{
    for (const auto& entry : table)
        if (name == entry.name)
            return entry.value;
    std::string choices;
    for (size_t i = 0; i < N; ++i)
        choices += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + table[i].name;
    throw std::invalid_argument("unknown " + std::string(what) + " '" + name + "' (" + choices +
                                ")");
}

template <typename E, size_t N>
std::string nameOf(E value, const NamedValue<E> (&table)[N])
{
    for (const auto& entry : table)
        if (entry.value == value)
            return entry.name;
    return "";
}

}  // namespace

Preset parsePreset(const std::string& name)
{
    return parseName(name, kPresets, "preset");
}

ModelSize parseModelSize(const std::string& name)
{
    return parseName(name, kModelSizes, "model size");
}

FlowInput parseFlowInput(const std::string& name)
{
    return parseName(name, kFlowInputs, "flow input");
}

std::string presetName(Preset preset)
{
    return nameOf(preset, kPresets);
}

std::string modelSizeName(ModelSize size)
{
    return nameOf(size, kModelSizes);
}

std::string flowInputName(FlowInput input)
{
    return nameOf(input, kFlowInputs);
}

std::vector<int> parseFlowScales(const std::string& strides)
{
    std::vector<int> scales;
    size_t begin = 0;
    while (begin <= strides.size()) {
        const size_t comma = std::min(strides.find(',', begin), strides.size());
        const std::string item = strides.substr(begin, comma - begin);
        int scale = -1;
        for (int s = 0; s < 3; ++s)
            if (item == std::to_string(kStrides[s]))
                scale = s;
        if (scale < 0 || (!scales.empty() && scale <= scales.back()))
            throw std::invalid_argument(
                "--flow-scales must list strides 4, 8 and 16 in ascending "
                "order, each at most once (e.g. 16 or 8,16), got '" +
                strides + "'");
        scales.push_back(scale);
        begin = comma + 1;
    }
    return scales;
}

std::string flowScalesName(const std::vector<int>& scales)
{
    std::string name;
    for (int s : scales)
        name += (name.empty() ? "" : ",") + std::to_string(kStrides[s]);
    return name;
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
