// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Sequential Keras CNNs from TF.js layers files (MobileNetV1, Darknet-tiny). Keras pads like
// TF "SAME"; kernels are stored H x W x in x out (depthwise: H x W x in x 1).
#include "architectures.hpp"

#include <set>
#include <stdexcept>

namespace anomaly_backbone {
namespace {

bool isClassifierTail(const KerasLayer& layer)
{
    static const std::set<std::string> tail = {"GlobalAveragePooling2D", "Reshape", "Dropout",
                                               "Flatten"};
    return tail.count(layer.className) > 0 ||
           (layer.className == "Activation" && layer.activation == "softmax");
}

FeatureValue activate(FeatureNetWriter& net, const FeatureValue& x, const std::string& activation,
                      const std::string& layerName)
{
    if (activation == "linear")
        return x;
    if (activation == "relu")
        return net.relu(x);
    if (activation == "relu6")
        return net.relu6(x);
    throw std::runtime_error("layer " + layerName + ": unsupported activation " + activation);
}

ConvWeights kerasConv(const TfjsLayersModel& model, const KerasLayer& conv,
                      const KerasLayer* batchNorm)
{
    const bool depthwise = conv.className == "DepthwiseConv2D";
    const torch::Tensor kernel =
        requireWeight(model, conv.name, depthwise ? "depthwise_kernel" : "kernel");
    if (kernel.dim() != 4 || (depthwise && kernel.size(3) != 1))
        throw std::runtime_error("layer " + conv.name + ": unsupported kernel shape");
    // HWIO -> OIHW; depthwise HWC1 -> C1HW.
    const torch::Tensor weight = kernel.permute({3, 2, 0, 1}).contiguous();
    ConvWeights cw{depthwise ? kernel.permute({2, 3, 0, 1}).contiguous() : weight,
                   conv.useBias ? requireWeight(model, conv.name, "bias") : torch::Tensor()};
    if (!batchNorm)
        return cw;
    return foldBatchNorm(cw.weight, cw.bias, requireWeight(model, batchNorm->name, "gamma"),
                         requireWeight(model, batchNorm->name, "beta"),
                         requireWeight(model, batchNorm->name, "moving_mean"),
                         requireWeight(model, batchNorm->name, "moving_variance"),
                         batchNorm->epsilon);
}

}  // namespace

void buildKerasSequential(const TfjsLayersModel& model, const std::array<std::string, 3>& taps,
                          FeatureNetWriter& net)
{
    // The classifier is the last Conv2D/Dense layer; everything before the first classifier-tail
    // layer (global pooling, reshape, dropout) or the classifier itself is the feature body.
    int64_t classifier = -1;
    for (size_t i = 0; i < model.layers.size(); ++i)
        if (model.layers[i].className == "Conv2D" || model.layers[i].className == "Dense")
            classifier = int64_t(i);
    if (classifier < 0)
        throw std::runtime_error("model.json: no classifier layer");

    FeatureValue x = net.input();
    std::string previous;
    int tapIndex = 0;
    size_t i = 0;
    for (; i < model.layers.size(); ++i) {
        const KerasLayer& layer = model.layers[i];
        if (int64_t(i) == classifier || isClassifierTail(layer))
            break;
        if (layer.className == "InputLayer") {
            previous = layer.name;
            continue;
        }
        if (layer.inbound.size() != 1 || layer.inbound[0] != previous)
            throw std::runtime_error("layer " + layer.name +
                                     ": only sequential models are supported");
        if (layer.className == "Conv2D" || layer.className == "DepthwiseConv2D") {
            const KerasLayer* bn = nullptr;
            if (i + 1 < model.layers.size() &&
                model.layers[i + 1].className == "BatchNormalization") {
                bn = &model.layers[i + 1];
                if (bn->activation != "linear")
                    throw std::runtime_error("layer " + bn->name + ": unexpected activation");
            }
            const ConvWeights cw = kerasConv(model, layer, bn);
            const int64_t stride = layer.strides.empty() ? 1 : layer.strides[0];
            const int64_t k = cw.weight.size(2);
            const Pads pads = layer.padding == "same" ? tfSamePads(x.height, x.width, k, stride)
                                                      : Pads{0, 0, 0, 0};
            x = net.conv(x, cw, stride, pads,
                         layer.className == "DepthwiseConv2D" ? x.channels : 1);
            x = activate(net, x, layer.activation, layer.name);
            if (bn)
                ++i;  // the batch norm is folded into this convolution
        } else if (layer.className == "Activation") {
            x = activate(net, x, layer.activation, layer.name);
        } else if (layer.className == "ReLU") {
            x = layer.maxValue == 6 ? net.relu6(x)
                : layer.maxValue == 0
                    ? net.relu(x)
                    : throw std::runtime_error("layer " + layer.name + ": unsupported max_value");
        } else if (layer.className == "LeakyReLU") {
            x = net.leakyRelu(x, static_cast<float>(layer.alpha));
        } else if (layer.className == "MaxPooling2D") {
            const int64_t k = layer.poolSize.empty() ? 2 : layer.poolSize[0];
            const int64_t stride = layer.strides.empty() ? k : layer.strides[0];
            const Pads pads = layer.padding == "same" ? tfSamePads(x.height, x.width, k, stride)
                                                      : Pads{0, 0, 0, 0};
            if (pads[0] != pads[2] || pads[1] != pads[3])
                throw std::runtime_error("layer " + layer.name + ": input size " +
                                         std::to_string(x.height) +
                                         " needs asymmetric pooling; use a multiple of 32");
            x = net.maxPool(x, k, stride, pads);
        } else {
            throw std::runtime_error("layer " + layer.name + ": unsupported layer type " +
                                     layer.className);
        }
        previous = model.layers[i].name;
        if (tapIndex < 3 && previous == taps[tapIndex]) {
            const int64_t expectedStride = int64_t(4) << tapIndex;
            if (net.input().height / x.height != expectedStride)
                throw std::runtime_error("tap layer " + previous + " is not at stride " +
                                         std::to_string(expectedStride));
            net.tap("feat_s" + std::to_string(expectedStride), x);
            ++tapIndex;
            if (tapIndex == 3 && net.kind() == GraphKind::Features)
                return;
        }
    }
    if (tapIndex < 3)
        throw std::runtime_error("model.json lacks the tap layer " + taps[tapIndex]);
    const KerasLayer& head = model.layers[classifier];
    torch::Tensor weight = requireWeight(model, head.name, "kernel");
    if (head.className == "Conv2D") {
        if (weight.size(0) != 1 || weight.size(1) != 1)
            throw std::runtime_error("layer " + head.name + ": classifier must be a 1x1 conv");
        weight = weight.reshape({weight.size(2), weight.size(3)});
    }
    // Global average pooling commutes with the linear classifier, so pool first and use Gemm.
    net.classifierHead(
        net.globalAveragePool(x), weight.t().contiguous(),
        head.useBias ? requireWeight(model, head.name, "bias") : torch::zeros({weight.size(1)}));
}

}  // namespace anomaly_backbone
