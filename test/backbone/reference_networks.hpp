// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Independent LibTorch implementations of the backbones (unfolded BatchNorm, torch ops only), used
// as the reference the converted ONNX graphs are checked against.
#ifndef ANOMALY_TEST_BACKBONE_REFERENCE_NETWORKS_HPP
#define ANOMALY_TEST_BACKBONE_REFERENCE_NETWORKS_HPP

#include "pth_state_dict.hpp"
#include "tfjs_layers_model.hpp"

#include <torch/torch.h>

#include <array>
#include <string>

namespace reference {

/** Feature taps (stride 4, 8, 16) and ImageNet logits of one forward pass. The modules below
are meant to run in double precision (module->to(torch::kFloat64)) so that a comparison measures
the float32 error of the converted graph alone. */
struct Outputs
{
    std::array<torch::Tensor, 3> taps;
    torch::Tensor logits;
};

/** EfficientNet-Lite0 as the EfficientNet-PyTorch port defines it (TF "SAME" padding). */
struct EfficientNetLite0Impl : torch::nn::Module
{
    EfficientNetLite0Impl();
    Outputs forward(const torch::Tensor& image);
    torch::nn::Conv2d stem{nullptr}, head{nullptr};
    torch::nn::BatchNorm2d stemBn{nullptr}, headBn{nullptr};
    torch::nn::ModuleList blocks;
    torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(EfficientNetLite0);

/** torchvision ResNet-18 / ResNet-50 / Wide-ResNet-50-2. */
struct ResNetImpl : torch::nn::Module
{
    explicit ResNetImpl(const std::string& variant);
    Outputs forward(const torch::Tensor& image);
    torch::nn::Conv2d conv1{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr};
    std::array<torch::nn::Sequential, 4> layers;
    torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ResNet);

/** Copies the state dict's tensors into a module's parameters and buffers by name; every
parameter and running statistic must be present with the same shape. */
void loadStateDict(torch::nn::Module& module, const anomaly_backbone::StateDict& weights);

/** Sets BatchNorm statistics and affine parameters to seeded random values so BN folding is
exercised (freshly constructed modules have mean 0, var 1, gamma 1, beta 0). */
void randomizeBatchNorms(torch::nn::Module& module);

/** The state dict of a module (parameters and buffers by their names). */
c10::Dict<std::string, torch::Tensor> stateDictOf(torch::nn::Module& module);

/** A sequential Keras model run layer by layer with torch ops in double precision (outputs
float32); taps named by Keras layer. */
Outputs runKerasSequential(const anomaly_backbone::TfjsLayersModel& model,
                           const std::array<std::string, 3>& taps, const torch::Tensor& image);

}  // namespace reference

#endif  // ANOMALY_TEST_BACKBONE_REFERENCE_NETWORKS_HPP
