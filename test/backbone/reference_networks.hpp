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

/** EfficientNet-Lite as the EfficientNet-PyTorch port defines it (TF "SAME" padding): B0's
stages scaled by the variant's width and depth multipliers with TF's rounding rules
(efficientnet_lite_builder.py: lite0 1.0/1.0, lite1 1.0/1.1, lite2 1.1/1.2; the stem, the head
and the first and last stages' repeats fixed). */
struct EfficientNetLiteImpl : torch::nn::Module
{
    EfficientNetLiteImpl(double widthMultiplier, double depthMultiplier);
    Outputs forward(const torch::Tensor& image);
    torch::nn::Conv2d stem{nullptr}, head{nullptr};
    torch::nn::BatchNorm2d stemBn{nullptr}, headBn{nullptr};
    torch::nn::ModuleList blocks;
    torch::nn::Linear fc{nullptr};
    std::vector<size_t> tapBlocks;  // the last block at strides 4, 8 and 16
};
TORCH_MODULE(EfficientNetLite);

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
