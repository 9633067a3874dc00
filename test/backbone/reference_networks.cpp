// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "reference_networks.hpp"

#include <cmath>
#include <stdexcept>

namespace F = torch::nn::functional;

namespace reference {
namespace {

/** TF "SAME" padding for F::pad: {left, right, top, bottom}. */
std::vector<int64_t> samePadding(const torch::Tensor& x, int64_t kernel, int64_t stride)
{
    std::vector<int64_t> pads;
    for (int64_t dim : {3, 2}) {
        const int64_t size = x.size(dim);
        const int64_t outSize = (size + stride - 1) / stride;
        const int64_t total = std::max<int64_t>((outSize - 1) * stride + kernel - size, 0);
        pads.push_back(total / 2);
        pads.push_back(total - total / 2);
    }
    return pads;
}

torch::Tensor clampRelu6(const torch::Tensor& x)
{
    return torch::clamp(x, 0.0, 6.0);
}

torch::nn::BatchNorm2d batchNorm(int64_t channels, double eps)
{
    return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(eps));
}

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad,
                       int64_t groups = 1)
{
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k)
                                 .stride(stride)
                                 .padding(pad)
                                 .groups(groups)
                                 .bias(false));
}

struct MBConvImpl : torch::nn::Module
{
    MBConvImpl(int64_t in, int64_t out, int64_t expand, int64_t kernel, int64_t stride)
        : kernel_(kernel), stride_(stride), residual_(stride == 1 && in == out)
    {
        const int64_t mid = in * expand;
        if (expand != 1) {
            expandConv = register_module("_expand_conv", conv(in, mid, 1, 1, 0));
            bn0 = register_module("_bn0", batchNorm(mid, 1e-3));
        }
        depthwise = register_module("_depthwise_conv", conv(mid, mid, kernel, stride, 0, mid));
        bn1 = register_module("_bn1", batchNorm(mid, 1e-3));
        project = register_module("_project_conv", conv(mid, out, 1, 1, 0));
        bn2 = register_module("_bn2", batchNorm(out, 1e-3));
    }
    torch::Tensor forward(const torch::Tensor& x)
    {
        torch::Tensor h = x;
        if (expandConv)
            h = clampRelu6(bn0(expandConv(h)));
        h = F::pad(h, F::PadFuncOptions(samePadding(h, kernel_, stride_)));
        h = clampRelu6(bn1(depthwise(h)));
        h = bn2(project(h));
        return residual_ ? h + x : h;
    }
    int64_t kernel_, stride_;
    bool residual_;
    torch::nn::Conv2d expandConv{nullptr}, depthwise{nullptr}, project{nullptr};
    torch::nn::BatchNorm2d bn0{nullptr}, bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(MBConv);

/** torchvision BasicBlock / Bottleneck. */
struct ResidualBlockImpl : torch::nn::Module
{
    ResidualBlockImpl(bool bottleneck, int64_t in, int64_t width, int64_t out, int64_t stride)
        : bottleneck_(bottleneck)
    {
        if (bottleneck) {
            c1 = register_module("conv1", conv(in, width, 1, 1, 0));
            b1 = register_module("bn1", batchNorm(width, 1e-5));
            c2 = register_module("conv2", conv(width, width, 3, stride, 1));
            b2 = register_module("bn2", batchNorm(width, 1e-5));
            c3 = register_module("conv3", conv(width, out, 1, 1, 0));
            b3 = register_module("bn3", batchNorm(out, 1e-5));
        } else {
            c1 = register_module("conv1", conv(in, out, 3, stride, 1));
            b1 = register_module("bn1", batchNorm(out, 1e-5));
            c2 = register_module("conv2", conv(out, out, 3, 1, 1));
            b2 = register_module("bn2", batchNorm(out, 1e-5));
        }
        if (stride != 1 || in != out) {
            downsample = register_module(
                "downsample",
                torch::nn::Sequential(conv(in, out, 1, stride, 0), batchNorm(out, 1e-5)));
        }
    }
    torch::Tensor forward(const torch::Tensor& x)
    {
        torch::Tensor h = torch::relu(b1(c1(x)));
        h = b2(c2(h));
        if (bottleneck_)
            h = b3(c3(torch::relu(h)));
        return torch::relu(h + (downsample ? downsample->forward(x) : x));
    }
    bool bottleneck_;
    torch::nn::Conv2d c1{nullptr}, c2{nullptr}, c3{nullptr};
    torch::nn::BatchNorm2d b1{nullptr}, b2{nullptr}, b3{nullptr};
    torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(ResidualBlock);

}  // namespace

EfficientNetLiteImpl::EfficientNetLiteImpl(double widthMultiplier, double depthMultiplier)
{
    // TF round_filters: the nearest multiple of 8, never 10 % below the scaled width.
    auto roundFilters = [&](int64_t filters) {
        const double scaled = filters * widthMultiplier;
        int64_t rounded = std::max<int64_t>(8, int64_t(scaled + 4) / 8 * 8);
        if (rounded < 0.9 * scaled)
            rounded += 8;
        return rounded;
    };
    stem = register_module("_conv_stem", conv(3, 32, 3, 2, 0));
    stemBn = register_module("_bn0", batchNorm(32, 1e-3));
    // kernel, stride, expand, out channels, repeats (EfficientNet-B0)
    const int64_t stages[7][5] = {{3, 1, 1, 16, 1}, {3, 2, 6, 24, 2},  {5, 2, 6, 40, 2},
                                  {3, 2, 6, 80, 3}, {5, 1, 6, 112, 3}, {5, 2, 6, 192, 4},
                                  {3, 1, 6, 320, 1}};
    int64_t in = 32;
    for (int s = 0; s < 7; ++s) {
        const int64_t out = roundFilters(stages[s][3]);
        const bool fixedRepeats = s == 0 || s == 6;
        const int64_t repeats =
            fixedRepeats ? stages[s][4] : int64_t(std::ceil(depthMultiplier * stages[s][4]));
        for (int64_t r = 0; r < repeats; ++r) {
            blocks->push_back(
                MBConv(in, out, stages[s][2], stages[s][0], r == 0 ? stages[s][1] : 1));
            in = out;
        }
        // Stages 1, 2 and 4 end at strides 4, 8 and 16 (stage 5 downsamples again).
        if (s == 1 || s == 2 || s == 4)
            tapBlocks.push_back(blocks->size() - 1);
    }
    register_module("_blocks", blocks);
    head = register_module("_conv_head", conv(in, 1280, 1, 1, 0));
    headBn = register_module("_bn1", batchNorm(1280, 1e-3));
    fc = register_module("_fc", torch::nn::Linear(1280, 1000));
}

Outputs EfficientNetLiteImpl::forward(const torch::Tensor& image)
{
    Outputs out;
    torch::Tensor x = F::pad(image, F::PadFuncOptions(samePadding(image, 3, 2)));
    x = clampRelu6(stemBn(stem(x)));
    for (size_t i = 0; i < blocks->size(); ++i) {
        x = blocks[i]->as<MBConv>()->forward(x);
        for (size_t t = 0; t < tapBlocks.size(); ++t) {
            if (tapBlocks[t] == i)
                out.taps[t] = x;
        }
    }
    x = clampRelu6(headBn(head(x)));
    out.logits = fc(x.mean({2, 3}));
    return out;
}

ResNetImpl::ResNetImpl(const std::string& variant)
{
    const bool bottleneck = variant != "resnet18";
    const int64_t widthFactor = variant == "wide_resnet50_2" ? 2 : 1;
    const int64_t counts[4] = {bottleneck ? 3 : 2, bottleneck ? 4 : 2, bottleneck ? 6 : 2,
                               bottleneck ? 3 : 2};
    conv1 = register_module(
        "conv1",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
    bn1 = register_module("bn1", batchNorm(64, 1e-5));
    int64_t in = 64;
    for (int l = 0; l < 4; ++l) {
        const int64_t planes = 64 << l;
        const int64_t out = bottleneck ? planes * 4 : planes;
        layers[l] = torch::nn::Sequential();
        for (int64_t b = 0; b < counts[l]; ++b) {
            layers[l]->push_back(ResidualBlock(bottleneck, in, planes * widthFactor, out,
                                               (l > 0 && b == 0) ? 2 : 1));
            in = out;
        }
        register_module("layer" + std::to_string(l + 1), layers[l]);
    }
    fc = register_module("fc", torch::nn::Linear(in, 1000));
}

Outputs ResNetImpl::forward(const torch::Tensor& image)
{
    Outputs out;
    torch::Tensor x = torch::relu(bn1(conv1(image)));
    x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    for (int l = 0; l < 4; ++l) {
        x = layers[l]->forward(x);
        if (l < 3)
            out.taps[l] = x;
    }
    out.logits = fc(x.mean({2, 3}));
    return out;
}

void loadStateDict(torch::nn::Module& module, const anomaly_backbone::StateDict& weights)
{
    torch::NoGradGuard noGrad;
    auto copyInto = [&](const std::string& name, torch::Tensor& target) {
        auto it = weights.find(name);
        if (it == weights.end())
            throw std::runtime_error("state dict lacks " + name);
        if (it->second.sizes() != target.sizes())
            throw std::runtime_error("shape mismatch for " + name);
        target.copy_(it->second);
    };
    for (auto& p : module.named_parameters(true))
        copyInto(p.key(), p.value());
    for (auto& b : module.named_buffers(true))
        if (b.key().find("num_batches_tracked") == std::string::npos)
            copyInto(b.key(), b.value());
}

void randomizeBatchNorms(torch::nn::Module& module)
{
    torch::NoGradGuard noGrad;
    for (auto& child : module.modules(true)) {
        if (auto* bn = child->as<torch::nn::BatchNorm2dImpl>()) {
            bn->running_mean.copy_(torch::randn_like(bn->running_mean) * 0.1);
            bn->running_var.copy_(torch::rand_like(bn->running_var) + 0.5);
            bn->weight.copy_(torch::rand_like(bn->weight) * 0.5 + 0.5);
            bn->bias.copy_(torch::randn_like(bn->bias) * 0.1);
        }
    }
}

c10::Dict<std::string, torch::Tensor> stateDictOf(torch::nn::Module& module)
{
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& p : module.named_parameters(true))
        dict.insert(p.key(), p.value().detach().clone());
    for (const auto& b : module.named_buffers(true))
        dict.insert(b.key(), b.value().detach().clone());
    return dict;
}

Outputs runKerasSequential(const anomaly_backbone::TfjsLayersModel& model,
                           const std::array<std::string, 3>& taps, const torch::Tensor& image)
{
    // Evaluated in double so the comparison measures the converted graph's float32 error only.
    auto requireWeight = [&](const std::string& layer, const std::string& suffix) {
        return anomaly_backbone::requireWeight(model, layer, suffix).to(torch::kFloat64);
    };
    Outputs out;
    torch::Tensor x = image.to(torch::kFloat64);
    int tap = 0;
    for (const auto& layer : model.layers) {
        const int64_t stride = layer.strides.empty() ? 1 : layer.strides[0];
        if (layer.className == "Conv2D" || layer.className == "DepthwiseConv2D") {
            const bool depthwise = layer.className == "DepthwiseConv2D";
            torch::Tensor kernel =
                requireWeight(layer.name, depthwise ? "depthwise_kernel" : "kernel");
            // HWIO -> OIHW; depthwise H W C 1 -> C 1 H W
            kernel = depthwise ? kernel.permute({2, 3, 0, 1}) : kernel.permute({3, 2, 0, 1});
            if (layer.padding == "same")
                x = F::pad(x, F::PadFuncOptions(samePadding(x, kernel.size(2), stride)));
            x = F::conv2d(
                x, kernel.contiguous(),
                F::Conv2dFuncOptions()
                    .stride(stride)
                    .groups(depthwise ? x.size(1) : 1)
                    .bias(layer.useBias ? requireWeight(layer.name, "bias") : torch::Tensor()));
            if (layer.activation == "relu6")
                x = clampRelu6(x);
            else if (layer.activation == "relu")
                x = torch::relu(x);
        } else if (layer.className == "BatchNormalization") {
            x = F::batch_norm(x, requireWeight(layer.name, "moving_mean"),
                              requireWeight(layer.name, "moving_variance"),
                              F::BatchNormFuncOptions()
                                  .weight(requireWeight(layer.name, "gamma"))
                                  .bias(requireWeight(layer.name, "beta"))
                                  .eps(layer.epsilon));
        } else if (layer.className == "Activation") {
            if (layer.activation == "relu6")
                x = clampRelu6(x);
            else if (layer.activation == "softmax")
                break;  // logits are compared before the softmax
        } else if (layer.className == "LeakyReLU") {
            x = F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(layer.alpha));
        } else if (layer.className == "MaxPooling2D") {
            x = F::max_pool2d(x, F::MaxPool2dFuncOptions(layer.poolSize[0]).stride(stride));
        } else if (layer.className == "GlobalAveragePooling2D") {
            x = x.mean({2, 3}, /*keepdim=*/true);
        }
        if (tap < 3 && layer.name == taps[tap])
            out.taps[tap++] = x.to(torch::kFloat32);
    }
    out.logits = x.flatten(1).to(torch::kFloat32);
    return out;
}

}  // namespace reference
