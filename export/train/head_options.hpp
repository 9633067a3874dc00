// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Method presets, model sizes and the feature geometry a head is built for.
#ifndef ANOMALY_TRAIN_HEAD_OPTIONS_HPP
#define ANOMALY_TRAIN_HEAD_OPTIONS_HPP

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace anomaly_train {

enum class Preset
{
    Lgnf,
    Dadf,
    Lgfdr
};
enum class ModelSize
{
    Lite,
    Paper
};
/** What lgnf's flows see per scale and branch, with R the branch's reconstruction of F. */
enum class FlowInput
{
    Discrepancy,              // F - R (paper A's discrepancy alone)
    DiscrepancyWithFeatures,  // concat(F, F - R): the flow also models the features themselves
    AbsoluteDiscrepancy,      // |F - R|
    WhitenedWithDiscrepancy   // concat(PositionalWhitening(F), F - R)
};

Preset parsePreset(const std::string& name);  // throws std::invalid_argument
ModelSize parseModelSize(const std::string& name);
FlowInput parseFlowInput(const std::string& name);
std::string presetName(Preset preset);
std::string modelSizeName(ModelSize size);
std::string flowInputName(FlowInput input);
/** "16" or "4,8,16" (strides, ascending, each at most once) -> scale indices {2} or {0, 1, 2};
throws std::invalid_argument. */
std::vector<int> parseFlowScales(const std::string& strides);
std::string flowScalesName(const std::vector<int>& scales);

/** Shapes of the three backbone feature maps (strides 4, 8, 16) for one input size. */
struct HeadGeometry
{
    std::array<int64_t, 3> channels{};
    std::array<int64_t, 3> heights{};
    std::array<int64_t, 3> widths{};
    /** Tokens live on the stride-16 grid; maps are produced on the stride-4 grid. */
    int64_t tokenHeight() const { return heights[2]; }
    int64_t tokenWidth() const { return widths[2]; }
    int64_t tokens() const { return heights[2] * widths[2]; }
    int64_t mapHeight() const { return heights[0]; }
    int64_t mapWidth() const { return widths[0]; }
    /** Factor from scale s up to the map grid (4, 2, 1 for strides 4, 8, 16 -> stride 4). */
    int64_t upFactor(int scale) const { return heights[0] / heights[scale]; }
};

/** Widths and depths of a head. One struct serves all presets; each uses the fields it needs. */
struct HeadOptions
{
    Preset preset = Preset::Lgnf;
    ModelSize size = ModelSize::Lite;
    int64_t dim = 128;         // token width
    int64_t heads = 4;         // attention heads
    int64_t mlpRatio = 2;      // hidden width of the MLPs = dim * mlpRatio
    int64_t localBlocks = 1;   // lgnf/lgfdr: self-attention blocks of the local branch
    int64_t globalBlocks = 1;  // lgnf/lgfdr: semantic-query cross-attention blocks
    int64_t dualBlocks = 2;    // dadf: shared-weight dual-attention blocks
    int64_t prototypes = 16;   // lgnf/lgfdr: M prototype tokens
    int64_t flowBlocks = 4;    // coupling blocks per flow
    float flowClamp = 2.f;     // soft clamp of the coupling log-scales
    int64_t maskRadius = 1;    // local self-attention hides the (2r+1)^2 neighbourhood of a token
    float noiseScale = 20.f;   // lgfdr: UniAD feature jitter scale
    float flowLossWeight = 1.f;
    FlowInput flowInput = FlowInput::WhitenedWithDiscrepancy;  // lgnf only
    /** lgnf only: the scales (0, 1, 2 for strides 4, 8, 16) that get flows; the maps are the mean
    of theirs. All three by default, as in paper A: on magnetic_tile stride 16 alone ranks images
    alike (image AUROC 0.955 against 0.950) but localises worse (AUPRO 0.70 against 0.74), at
    two thirds of the time and half the model size (doc/results.md "Which scales get flows").
    The reconstructions are learnt at all three scales either way. */
    std::vector<int> flowScales{0, 1, 2};
    /** Every preset: cells of the stride-16 grid (odd) over which a ContextMap averages the
    features before its Gaussian per position; its map is added to the anomaly map. 0: none. */
    int64_t contextWindow = 0;
    /** Every preset: a SegmentationHead on the stride-16 features, trained after the head on
    synthetic defects; its map is added to the anomaly map. */
    bool segmentation = false;
    /** Factor on the segmentation head's standardised map where it is added to the anomaly map
    (> 0; the other maps have 1). */
    double segmentationWeight = 1.0;
};

HeadOptions defaultHeadOptions(Preset preset, ModelSize size);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_HEAD_OPTIONS_HPP
