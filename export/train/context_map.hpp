// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// An anomaly map of wide neighbourhoods: a Gaussian per position of window-averaged features.
#ifndef ANOMALY_TRAIN_CONTEXT_MAP_HPP
#define ANOMALY_TRAIN_CONTEXT_MAP_HPP

#include "graph_emitter.hpp"
#include "positional_whitening.hpp"

#include <torch/torch.h>

#include <string>

namespace anomaly_train {

/** map = 0.5 * mean_c z^2, z = PositionalWhitening(boxMean(F)), on the stride-16 features F, where
boxMean averages every channel over the window x window cells around each position (only the cells
inside the grid), then brought up to the map grid.

Why: some defects are large regions whose inside looks, cell by cell, like good texture; only the
region as a whole differs (magnetic_tile's `uneven`, 71 % of its defect pixels: the flows mark
the region's border and hardly its inside, doc/results.md "Why pixel AUROC stays below 0.8").
Averaged over a wide window, the inside's features move away from what good images have at that
position, while the flows keep the small defects sharp. The box mean is exported as a depthwise
convolution with a kernel of ones followed by a constant multiplication with 1 / (cells inside
the grid), so the graph computes exactly what forward() does. Identity whitening until fitted. */
class ContextMapImpl : public torch::nn::Module
{
public:
    /** channels, height and width of the stride-16 features; window odd, >= 1; upFactor from the
    stride-16 grid to the map grid. */
    ContextMapImpl(int64_t channels, int64_t height, int64_t width, int64_t window,
                   int64_t upFactor);

    /** Fits the whitening on the training images' stride-16 features [n, C, H, W] (n >= 2). */
    void fit(const torch::Tensor& features);
    /** [N, 1, H * upFactor, W * upFactor]. */
    torch::Tensor forward(const torch::Tensor& features) const;
    std::string exportGraph(GraphEmitter& g, const std::string& features) const;

private:
    torch::Tensor boxMean(const torch::Tensor& x) const;

    int64_t upFactor_;
    torch::Tensor ones_;         // [C, 1, window, window]: the depthwise kernel
    torch::Tensor inverseArea_;  // [C, H, W]: 1 / cells of the window inside the grid
    PositionalWhitening whitening_{nullptr};
};
TORCH_MODULE(ContextMap);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_CONTEXT_MAP_HPP
