// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Whitening of every feature position with that position's statistics over the training images.
#ifndef ANOMALY_TRAIN_POSITIONAL_WHITENING_HPP
#define ANOMALY_TRAIN_POSITIONAL_WHITENING_HPP

#include "graph_emitter.hpp"

#include <torch/torch.h>

#include <string>

namespace anomaly_train {

/** y(i,j) = W(i,j) (x(i,j) - mu(i,j)) at every position (i,j) of a [N, C, H, W] feature map, with
mu(i,j) the mean of the training images' features there and W(i,j) = S^-1/2 the symmetric (ZCA)
inverse square root of their Ledoit-Wolf-shrunk covariance S: a good image's features become about
N(0, I) at every position, each output channel staying close to its input channel.

Why: parts in a fixture look different at the border than in the middle, and a convolutional flow
sees every position alike. On magnetic_tile a Gaussian per position of the stride-16 features alone
(PaDiM-style, no training) ranks the test images better than the position-blind flows' maps did
(image AUROC 0.96 against 0.81, doc/results.md); the flows get the whitened features in place of
the raw ones. Exported as one PositionwiseLinear node with weight W and bias -W mu. Identity until
fitted. */
class PositionalWhiteningImpl : public torch::nn::Module
{
public:
    PositionalWhiteningImpl(int64_t channels, int64_t height, int64_t width);

    /** Fits mu and W on the training images' features [n, C, H, W] (n >= 2). */
    void fit(const torch::Tensor& features);
    torch::Tensor forward(const torch::Tensor& x) const;
    std::string exportGraph(GraphEmitter& g, const std::string& x) const;

private:
    torch::Tensor weight_;  // [C, C, H, W]: W(i,j)[o][c] at [o, c, i, j]
    torch::Tensor bias_;    // [C, H, W]: -W(i,j) mu(i,j)
};
TORCH_MODULE(PositionalWhitening);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_POSITIONAL_WHITENING_HPP
