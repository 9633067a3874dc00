// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A map learnt from synthetic defects: a small convolutional segmentation head on the stride-16
// features.
#ifndef ANOMALY_TRAIN_SEGMENTATION_HEAD_HPP
#define ANOMALY_TRAIN_SEGMENTATION_HEAD_HPP

#include "graph_emitter.hpp"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace anomaly_train {

struct SegmentationHeadOptions
{
    int64_t width = 64;                             // channels of the hidden maps
    std::vector<int64_t> dilations{1, 2, 4, 8, 1};  // one residual 3x3 block per entry
};

/** logit = cell(h) + mean_hw(image(h)), h = the hidden maps of the standardised stride-16
features: a 1x1 convolution to `width` channels and ReLU, then residual blocks
h = ReLU(Conv3x3(h, dilation d)) + h.

Why: the per-position statistics (flows, context map) score how far each cell's features lie from
what good images have there; a large region whose inside looks like good texture (magnetic_tile's
`uneven` bands, 71 % of its defect pixels) is then marked at its border and barely inside
(doc/results.md "What pooled pixel AUROC is made of"). Trained to segment synthetic defects (bands
and blobs of another good image pasted in, defect_synthesis.hpp), the head learns to compare a
cell with its surroundings: the dilations 1, 2, 4, 8 reach 31 cells across, the whole 20x20 grid of
a 320x320 input, and the image term (a linear function of the mean hidden map) lets the whole tile
shift its logits. The image term is exported as a convolution of the one-channel image(h) with a
kernel of 1 / (h w) large enough that every position sums the whole grid, so the graph computes
exactly what forward() does, in ops that OpenCV 4.6 runs at any batch size (an Add of a [N,1,1,1]
mean to a [N,1,h,w] map is not one of them, doc/model-format.md section 6). */
class SegmentationHeadImpl : public torch::nn::Module
{
public:
    /** channels, height and width of the stride-16 features; upFactor from their grid to the map
    grid. */
    SegmentationHeadImpl(int64_t channels, int64_t height, int64_t width, int64_t upFactor,
                         const SegmentationHeadOptions& options = {});

    /** [N, 1, H, W] on the stride-16 grid. */
    torch::Tensor logits(const torch::Tensor& features);
    /** Binary cross-entropy of the logits against per-cell defect fractions [N, 1, H, W]. */
    torch::Tensor loss(const torch::Tensor& features, const torch::Tensor& targets);
    /** The logits brought up to the map grid: [N, 1, H * upFactor, W * upFactor]. */
    torch::Tensor forward(const torch::Tensor& features);
    std::string exportGraph(GraphEmitter& g, const std::string& features) const;

private:
    int64_t upFactor_;
    torch::nn::Conv2d input_{nullptr};
    std::vector<torch::nn::Conv2d> blocks_;
    std::vector<int64_t> dilations_;
    torch::nn::Conv2d cell_{nullptr}, image_{nullptr};
    torch::Tensor gridMean_;  // [1, 1, k, k], 1 / (H W), k = 2 max(H, W) - 1
};
TORCH_MODULE(SegmentationHead);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_SEGMENTATION_HEAD_HPP
