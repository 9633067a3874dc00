// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// A map value turned into evidence against held-out good images: -log10 of the share of their
// values above it.
#ifndef ANOMALY_TRAIN_EXCEEDANCE_SCALE_HPP
#define ANOMALY_TRAIN_EXCEEDANCE_SCALE_HPP

#include "graph_emitter.hpp"

#include <torch/torch.h>

#include <string>

namespace anomaly_train {

/** y(x) = -log10 P(good value > x), a monotone piecewise-linear function fitted on a sample of good
values: knots at the sample's quantiles 1 - 10^(-k/4), k = 0..12 (its minimum up to the 0.999
quantile), where y = k/4, linear between them, flat below the minimum and, above the 0.999
quantile, the exponential tail whose mean excess is that of the sample's values above it
(y rises by log10(e) per mean excess).

Why: the anomaly map sums maps of different kinds of evidence, the density maps (flows, context
map) and the segmentation head's logits. Standardised to unit spread, they still have very
different tails: over magnetic_tile's test images the density maps' 99th percentile is 39 standard
deviations, the logits' 5, so wherever both fire the density maps decide, and they spread a
defect over its surroundings (doc/results.md "Evidence fusion"). On this scale each map says how
rarely good images reach its value, and the sum is Fisher's combination of the two tests.

Exported as a 1x1 convolution to one channel per knot (weights 1, biases -knot), Relu and a 1x1
convolution back to one channel (weights the slope changes, bias y at the first knot):
y = y0 + sum_k d_k max(x - x_k, 0), which is also what forward() computes. The identity until
fitted. */
class ExceedanceScaleImpl : public torch::nn::Module
{
public:
    static constexpr int64_t kKnots = 13;

    ExceedanceScaleImpl();

    /** Fits on good values (any shape, at least one value); the result is multiplied by weight
    (> 0), which keeps the knots and scales the evidence. */
    void fit(const torch::Tensor& goodValues, double weight = 1.0);
    /** Element-wise, any shape. */
    torch::Tensor forward(const torch::Tensor& x) const;
    /** x of shape [N, 1, H, W]. */
    std::string exportGraph(GraphEmitter& g, const std::string& x) const;

private:
    torch::Tensor fitted_;  // bool scalar: saved in checkpoints with the rest
    torch::Tensor knots_;   // [kKnots]; repeated knots carry a zero slope change
    torch::Tensor steps_;   // [kKnots]: the slope changes d_k
    torch::Tensor base_;    // [1]: y0
};
TORCH_MODULE(ExceedanceScale);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_EXCEEDANCE_SCALE_HPP
