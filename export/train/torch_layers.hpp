// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// LibTorch building blocks of the heads. Every tensor is NCHW: tokens are [N, C, h, w] maps and a
// linear layer is a 1x1 convolution, so each block maps one-to-one onto the exported ONNX graph.
#ifndef ANOMALY_TRAIN_TORCH_LAYERS_HPP
#define ANOMALY_TRAIN_TORCH_LAYERS_HPP

#include <torch/torch.h>

#include <utility>

namespace anomaly_train {

/** Linear layer over channels (a 1x1 convolution): weight [out, in], bias [out]. */
class PointwiseImpl : public torch::nn::Module
{
public:
    PointwiseImpl(int64_t in, int64_t out, double initStd = 0.02);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight, bias;
};
TORCH_MODULE(Pointwise);

/** LayerNorm over channels of every pixel (PyTorch LayerNorm(C) on tokens). */
class ChannelLayerNormImpl : public torch::nn::Module
{
public:
    explicit ChannelLayerNormImpl(int64_t channels, double epsilon = 1e-5);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor gamma, beta;
    double epsilon;
};
TORCH_MODULE(ChannelLayerNorm);

/** Multi-head attention on token maps. Queries, keys and values may come from different maps;
a query map broadcast over the batch ([1, C, h, w]) is a learned constant (prototypes, memory).
mask (optional) is added to the scaled scores, shape [heads, Tq, Tk]. */
class AttentionImpl : public torch::nn::Module
{
public:
    AttentionImpl(int64_t dim, int64_t heads);
    torch::Tensor forward(const torch::Tensor& queryIn, const torch::Tensor& keyIn,
                          const torch::Tensor& valueIn, const torch::Tensor& mask = {});
    int64_t heads;
    Pointwise query{nullptr}, key{nullptr}, value{nullptr}, out{nullptr};
};
TORCH_MODULE(Attention);

/** Two pointwise layers with ReLU in between. */
class MlpImpl : public torch::nn::Module
{
public:
    MlpImpl(int64_t dim, int64_t hidden);
    torch::Tensor forward(const torch::Tensor& x);
    Pointwise fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

/** FrEIA AllInOneBlock-style affine coupling block (doc/training.md): split, depthwise kxk conv ->
LeakyReLU(0.1) -> 1x1 conv subnet, soft-clamped affine, global affine, fixed channel permutation. */
class CouplingBlockImpl : public torch::nn::Module
{
public:
    CouplingBlockImpl(int64_t channels, int64_t kernel, float clamp, uint64_t permutationSeed);
    /** Returns z and the log-determinant per image [N]. */
    std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
    /** g = 0.1 * softplus_{beta=0.5}(gamma), the global scale. */
    torch::Tensor globalScale() const;
    /** Negative slope of the subnet's leaky ReLU. */
    static constexpr double kSubnetSlope = 0.1;
    int64_t channels, split, kernel;
    float clamp;
    torch::nn::Conv2d depthwise{nullptr};
    Pointwise project{nullptr};
    torch::Tensor gamma, offset, permutation;
};
TORCH_MODULE(CouplingBlock);

/** A stack of coupling blocks with alternating kernel 3 and 1. */
class FlowImpl : public torch::nn::Module
{
public:
    FlowImpl(int64_t channels, int64_t blocks, float clamp, uint64_t seed);
    std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
    torch::nn::ModuleList blocks;
};
TORCH_MODULE(Flow);

/** Negative log-likelihood per element of a standard normal z, averaged over the batch. */
torch::Tensor flowNll(const torch::Tensor& z, const torch::Tensor& logDet);
/** Anomaly map of a flow output: the negative log-likelihood per channel, 0.5 * mean_c z^2,
[N, 1, H, W]. (FastFlow's -exp(-0.5 mean z^2) saturates: on magnetic_tile every image scored just
below 1.) */
torch::Tensor likelihoodAnomalyMap(const torch::Tensor& z);
/** Mean over channels of (a - b)^2, [N, 1, H, W]. */
torch::Tensor squaredErrorMap(const torch::Tensor& a, const torch::Tensor& b);
/** Bilinear upsampling by an integer factor, align_corners = false (ONNX Resize half_pixel). */
torch::Tensor upsample(const torch::Tensor& x, int64_t factor);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_TORCH_LAYERS_HPP
