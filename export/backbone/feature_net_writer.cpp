// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "feature_net_writer.hpp"

#include <stdexcept>

namespace anomaly_backbone {

using anomaly_export::attrFloat;
using anomaly_export::attrInt;
using anomaly_export::attrInts;

ConvWeights foldBatchNorm(const torch::Tensor& convWeight, const torch::Tensor& convBias,
                          const torch::Tensor& gamma, const torch::Tensor& beta,
                          const torch::Tensor& runningMean, const torch::Tensor& runningVar,
                          double epsilon)
{
    // Folded in double so the only float rounding is the final store.
    const torch::Tensor scale =
        gamma.to(torch::kFloat64) / torch::sqrt(runningVar.to(torch::kFloat64) + epsilon);
    const torch::Tensor bias0 =
        convBias.defined() ? convBias.to(torch::kFloat64) : torch::zeros_like(scale);
    ConvWeights out;
    out.weight = (convWeight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1}))
                     .to(torch::kFloat32)
                     .contiguous();
    out.bias = ((bias0 - runningMean.to(torch::kFloat64)) * scale + beta.to(torch::kFloat64))
                   .to(torch::kFloat32)
                   .contiguous();
    return out;
}

Pads symmetricPads(int64_t kernel)
{
    return {kernel / 2, kernel / 2, kernel / 2, kernel / 2};
}

Pads tfSamePads(int64_t height, int64_t width, int64_t kernel, int64_t stride)
{
    auto total = [&](int64_t size) {
        const int64_t out = (size + stride - 1) / stride;
        return std::max<int64_t>((out - 1) * stride + kernel - size, 0);
    };
    const int64_t padH = total(height), padW = total(width);
    return {padH / 2, padW / 2, padH - padH / 2, padW - padW / 2};
}

namespace {

/** y's plane: where a kernelH x kernelW window with this stride and padding fits on x's. */
void setSlidingWindowPlane(const FeatureValue& x, int64_t kernelH, int64_t kernelW, int64_t stride,
                           const Pads& pads, FeatureValue& y)
{
    y.height = (x.height + pads[0] + pads[2] - kernelH) / stride + 1;
    y.width = (x.width + pads[1] + pads[3] - kernelW) / stride + 1;
}

}  // namespace

FeatureNetWriter::FeatureNetWriter(const std::string& graphName, int64_t inputSize, GraphKind kind)
    : builder_(graphName), kind_(kind)
{
    if (inputSize < 32)
        throw std::runtime_error("input size must be at least 32");
    input_ = {"image", 3, inputSize, inputSize};
    builder_.addInput("image", {-1, 3, inputSize, inputSize});
}

FeatureValue FeatureNetWriter::like(const FeatureValue& x, const std::string& prefix)
{
    FeatureValue y = x;
    y.name = builder_.uniqueName(prefix);
    return y;
}

std::string FeatureNetWriter::weightInitializer(const std::string& prefix, const torch::Tensor& t)
{
    const torch::Tensor c = t.to(torch::kFloat32).contiguous();
    return builder_.addInitializer(builder_.uniqueName(prefix), c.sizes().vec(),
                                   c.data_ptr<float>());
}

FeatureValue FeatureNetWriter::conv(const FeatureValue& x, const ConvWeights& w, int64_t stride,
                                    const Pads& pads, int64_t group)
{
    if (w.weight.dim() != 4 || w.weight.size(1) * group != x.channels ||
        w.weight.size(0) % group != 0)
        throw std::runtime_error("convolution weight " + std::to_string(w.weight.size(0)) + "x" +
                                 std::to_string(w.weight.size(1)) + " does not fit " +
                                 std::to_string(x.channels) + " input channels");
    const int64_t kh = w.weight.size(2), kw = w.weight.size(3);
    FeatureValue y = like(x, "conv");
    y.channels = w.weight.size(0);
    setSlidingWindowPlane(x, kh, kw, stride, pads, y);
    const anomaly_export::ConvolutionNode node = anomaly_export::convolutionNode(
        x.channels, y.channels, group, kh, kw, stride, {pads[0], pads[1], pads[2], pads[3]});
    std::vector<std::string> inputs = {x.name, weightInitializer("conv_w", w.weight)};
    if (w.bias.defined())
        inputs.push_back(weightInitializer("conv_b", w.bias));
    else if (node.needsBias)
        inputs.push_back(weightInitializer("conv_b", torch::zeros({y.channels})));
    builder_.addNode(node.opType, inputs, y.name, node.attributes, node.domain);
    macs_ += y.channels * y.height * y.width * w.weight.size(1) * kh * kw;
    return y;
}

FeatureValue FeatureNetWriter::invertedResidual(const FeatureValue& x, const ConvWeights& expand,
                                                const ConvWeights& depthwise,
                                                const ConvWeights& project, int64_t stride,
                                                const Pads& pads, bool residual)
{
    const int64_t hidden = depthwise.weight.size(0), k = depthwise.weight.size(2);
    const bool expands = expand.weight.defined();
    if ((expands && (expand.weight.size(0) != hidden || expand.weight.size(1) != x.channels)) ||
        (!expands && hidden != x.channels) || depthwise.weight.size(1) != 1 ||
        project.weight.size(1) != hidden)
        throw std::runtime_error("inverted-residual weights do not fit " +
                                 std::to_string(x.channels) + " input channels");
    FeatureValue y = like(x, "block");
    y.channels = project.weight.size(0);
    setSlidingWindowPlane(x, k, depthwise.weight.size(3), stride, pads, y);
    if (residual && (y.channels != x.channels || y.height != x.height || y.width != x.width))
        throw std::runtime_error("residual block of different input and output shapes");
    std::vector<std::string> inputs = {x.name};
    for (const ConvWeights* w : {&expand, &depthwise, &project}) {
        if (!w->weight.defined())
            continue;
        inputs.push_back(weightInitializer("conv_w", w->weight));
        inputs.push_back(weightInitializer("conv_b", w->bias));
    }
    std::vector<onnx::AttributeProto> attributes = {
        attrInt("stride", stride), attrInts("padding", {pads[0], pads[1], pads[2], pads[3]})};
    if (residual)
        attributes.push_back(attrInt("residual", 1));
    builder_.addNode(anomaly_export::kInvertedResidualOp, inputs, y.name, attributes,
                     anomaly_export::kCustomDomain);
    macs_ += (expands ? hidden * x.channels * x.height * x.width : 0) +
             hidden * y.height * y.width * (k * depthwise.weight.size(3) + y.channels);
    return y;
}

FeatureValue FeatureNetWriter::relu(const FeatureValue& x)
{
    FeatureValue y = like(x, "relu");
    builder_.addNode("Relu", {x.name}, y.name);
    return y;
}

FeatureValue FeatureNetWriter::relu6(const FeatureValue& x)
{
    FeatureValue y = like(x, "relu6");
    builder_.addNode("Relu6", {x.name}, y.name, {}, anomaly_export::kCustomDomain);
    return y;
}

FeatureValue FeatureNetWriter::leakyRelu(const FeatureValue& x, float alpha)
{
    FeatureValue y = like(x, "leaky_relu");
    builder_.addNode("LeakyRelu", {x.name}, y.name, {attrFloat("alpha", alpha)});
    return y;
}

FeatureValue FeatureNetWriter::add(const FeatureValue& a, const FeatureValue& b)
{
    if (a.channels != b.channels || a.height != b.height || a.width != b.width)
        throw std::runtime_error("residual add of different shapes");
    FeatureValue y = like(a, "add");
    builder_.addNode("Add", {a.name, b.name}, y.name);
    return y;
}

FeatureValue FeatureNetWriter::maxPool(const FeatureValue& x, int64_t kernel, int64_t stride,
                                       const Pads& pads)
{
    FeatureValue y = like(x, "maxpool");
    setSlidingWindowPlane(x, kernel, kernel, stride, pads, y);
    builder_.addNode(
        "MaxPool", {x.name}, y.name,
        {attrInts("kernel_shape", {kernel, kernel}), attrInts("strides", {stride, stride}),
         attrInts("pads", {pads[0], pads[1], pads[2], pads[3]})});
    return y;
}

FeatureValue FeatureNetWriter::globalAveragePool(const FeatureValue& x)
{
    FeatureValue y = like(x, "avgpool");
    y.height = y.width = 1;
    builder_.addNode("AveragePool", {x.name}, y.name,
                     {attrInts("kernel_shape", {x.height, x.width}), attrInts("strides", {1, 1})});
    return y;
}

void FeatureNetWriter::tap(const std::string& name, FeatureValue& x)
{
    if (kind_ != GraphKind::Features)
        return;
    // Rename the value everywhere so the graph output carries the contract's name.
    auto& graph = *builder_.model().mutable_graph();
    for (auto& node : *graph.mutable_node()) {
        for (auto& out : *node.mutable_output())
            if (out == x.name)
                out = name;
        for (auto& in : *node.mutable_input())
            if (in == x.name)
                in = name;
    }
    x.name = name;
    builder_.addOutput(name, {-1, x.channels, x.height, x.width});
}

void FeatureNetWriter::classifierHead(const FeatureValue& pooled, const torch::Tensor& weight,
                                      const torch::Tensor& bias)
{
    if (kind_ != GraphKind::Classifier)
        return;
    if (pooled.height != 1 || pooled.width != 1 || weight.dim() != 2 ||
        weight.size(1) != pooled.channels || bias.numel() != weight.size(0))
        throw std::runtime_error("classifier weights do not fit the pooled features");
    const std::string shape =
        builder_.addInt64Initializer(builder_.uniqueName("flat_shape"), {0, -1});
    const std::string flat = builder_.uniqueName("flat");
    builder_.addNode("Reshape", {pooled.name, shape}, flat);
    builder_.addNode("Gemm",
                     {flat, weightInitializer("fc_w", weight), weightInitializer("fc_b", bias)},
                     "logits", {attrInt("transB", 1)});
    builder_.addOutput("logits", {-1, weight.size(0)});
    macs_ += weight.size(0) * weight.size(1);
}

}  // namespace anomaly_backbone
