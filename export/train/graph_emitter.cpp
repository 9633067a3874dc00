// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "graph_emitter.hpp"

#include <stdexcept>

namespace anomaly_train {

using anomaly_export::attrFloat;
using anomaly_export::attrInt;
using anomaly_export::attrInts;
using anomaly_export::attrString;

namespace {

/** Input channels above which a spatial convolution of the head is written as ONNX Conv. */
constexpr int64_t kDenseConvMaxInputChannels = 16;

std::vector<int64_t> sizesOf(const torch::Tensor& t)
{
    return t.sizes().vec();
}

int64_t product(const Shape& s)
{
    int64_t p = 1;
    for (int64_t d : s)
        p *= d;
    return p;
}

}  // namespace

const Shape& GraphEmitter::shape(const std::string& name) const
{
    const auto it = shapes_.find(name);
    if (it == shapes_.end())
        throw std::logic_error("graph value '" + name + "' has no known shape");
    return it->second;
}

std::string GraphEmitter::emit(const std::string& op, const std::vector<std::string>& inputs,
                               const Shape& outShape,
                               const std::vector<onnx::AttributeProto>& attributes,
                               const std::string& domain)
{
    std::string lower = op;
    for (auto& c : lower)
        c = char(std::tolower(c));
    if (stage_.empty())
        throw std::logic_error("graph node " + op + " emitted outside a stage");
    const std::string out = b_.uniqueName(lower);
    b_.addNode(op, inputs, out, attributes, domain);
    auto& graph = *b_.model().mutable_graph();
    auto* node = graph.mutable_node(graph.node_size() - 1);
    node->set_name(stage_ + "/" + node->name());
    shapes_[out] = outShape;
    return out;
}

std::string GraphEmitter::constant(const std::string& prefix, const torch::Tensor& value)
{
    const auto t = value.detach().to(torch::kFloat).contiguous();
    return b_.addInitializer(b_.uniqueName(prefix), sizesOf(t), t.data_ptr<float>());
}

std::string GraphEmitter::pointwise(const std::string& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias)
{
    return conv(x, weight.reshape({weight.size(0), weight.size(1), 1, 1}), bias, 1);
}

std::string GraphEmitter::conv(const std::string& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, int64_t group, int64_t dilation)
{
    const Shape& in = shape(x);
    const int64_t k = weight.size(2), pad = dilation * (k / 2);
    if (weight.size(1) * group != in[1])
        throw std::logic_error("conv: weight does not match input channels");
    // The head's spatial convolutions of many channels (the segmentation head's 3x3, 64 -> 64 on
    // the stride-16 plane) run faster in OpenCV's own Conv than in DenseConv, whose panels suit
    // the few input channels of a backbone stem: about 56 against 20 GFLOP/s on 20x20, one thread
    // (doc/performance.md, "The context map and the segmentation head").
    const bool wideDense = group == 1 && k > 1 && in[1] > kDenseConvMaxInputChannels;
    const std::vector<int64_t> pads{pad, pad, pad, pad};
    const anomaly_export::ConvolutionNode node =
        wideDense ? anomaly_export::onnxConvolutionNode(k, k, 1, pads, 1, dilation)
                  : anomaly_export::convolutionNode(in[1], weight.size(0), group, k, k, 1, pads,
                                                    dilation);
    std::vector<std::string> inputs{x, constant("w", weight)};
    if (bias.defined())
        inputs.push_back(constant("b", bias));
    else if (node.needsBias)
        inputs.push_back(constant("b", torch::zeros({weight.size(0)})));
    const Shape out{in[0], weight.size(0), in[2], in[3]};
    flops_ += 2.0 * double(product(out)) * double(weight.size(1) * k * k);
    return emit(node.opType, inputs, out, node.attributes, node.domain);
}

std::string GraphEmitter::layerNorm(const std::string& x, const torch::Tensor& gamma,
                                    const torch::Tensor& beta, double epsilon)
{
    return emit("LayerNorm", {x, constant("ln_gamma", gamma), constant("ln_beta", beta)}, shape(x),
                {attrFloat("epsilon", float(epsilon))}, anomaly_export::kCustomDomain);
}

std::string GraphEmitter::affineCoupling(const std::string& x, const CouplingTensors& block)
{
    const Shape& in = shape(x);
    const int64_t split = block.depthwiseWeight.size(0), kernel = block.depthwiseWeight.size(2);
    const int64_t rest = in[1] - split;
    if (block.depthwiseWeight.dim() != 4 || block.depthwiseWeight.size(1) != 1 || rest < 1 ||
        kernel % 2 != 1 || block.projectWeight.size(0) != 2 * rest ||
        block.projectWeight.size(1) != split || block.scale.numel() != in[1])
        throw std::logic_error("affineCoupling: weights do not match the input channels");
    const auto perm = block.permutation.to(torch::kLong).contiguous();
    const std::string permName = b_.addInt64Initializer(
        b_.uniqueName("perm"),
        std::vector<int64_t>(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + perm.numel()));
    const std::vector<std::string> inputs{
        x,
        constant("w", block.depthwiseWeight),
        constant("b", block.depthwiseBias),
        constant("w", block.projectWeight.reshape({2 * rest, split, 1, 1})),
        constant("b", block.projectBias),
        constant("affine_scale", block.scale),
        constant("affine_bias", block.offset),
        permName};
    // The two convolutions, as conv() counts them.
    const double pixels = double(in[0] * in[2] * in[3]);
    flops_ += 2.0 * pixels * double(split) * double(kernel * kernel + 2 * rest);
    return emit(anomaly_export::kAffineCouplingOp, inputs, in,
                {attrFloat("clamp", block.clamp), attrFloat("slope", block.slope)},
                anomaly_export::kCustomDomain);
}

std::string GraphEmitter::reshape(const std::string& x, const Shape& target)
{
    const std::string shapeName = b_.addInt64Initializer(b_.uniqueName("shape"), target);
    Shape out = target;
    out[0] = shape(x)[0];
    if (product(out) != product(shape(x)))
        throw std::logic_error("reshape: element count changes");
    return emit("Reshape", {x, shapeName}, out);
}

std::string GraphEmitter::transposeLast2(const std::string& x)
{
    const Shape& in = shape(x);
    return emit("Transpose", {x}, {in[0], in[1], in[3], in[2]}, {attrInts("perm", {0, 1, 3, 2})});
}

std::string GraphEmitter::softmaxLastAxis(const std::string& x)
{
    // Custom: OpenCV 4.6's Softmax on the last axis is single-threaded scalar code.
    return emit("SoftmaxLastAxis", {x}, shape(x), {}, anomaly_export::kCustomDomain);
}

std::string GraphEmitter::binary(const std::string& op, const std::string& a, const std::string& b)
{
    if (shape(a) != shape(b))
        throw std::logic_error(op + ": operands differ in shape");
    return emit(op, {a, b}, shape(a));
}

std::string GraphEmitter::binaryConstant(const std::string& op, const std::string& x,
                                         const torch::Tensor& value)
{
    const Shape& in = shape(x);
    const bool full = value.dim() == 3 && value.size(0) == in[1] && value.size(1) == in[2] &&
                      value.size(2) == in[3];
    const bool perChannel =
        value.dim() == 3 && value.size(0) == in[1] && value.size(1) == 1 && value.size(2) == 1;
    if (!full && !perChannel)
        throw std::logic_error(op + ": constant must be [C,H,W] or [C,1,1]");
    if (!full || in[2] * in[3] == 1)
        return emit(op, {x, constant("c", value)}, in);
    // OpenCV 4.6 fuses a Conv with a following constant Add/Mul as a per-channel bias/scale and
    // asserts when the constant is [C,H,W]; a Reshape in between prevents the fusion. Its Scale
    // layer also adds a constant one value at a time when the constant's last axis is 1
    // ([C,H,1], e.g. the prototype tokens: 0.3-0.4 ms for 2048 values), so such a tensor goes
    // through as [N,C,1,H] and is reshaped back.
    if (in[3] != 1)
        return emit(op, {reshape(x, {0, in[1], in[2], in[3]}), constant("c", value)}, in);
    const std::string row = reshape(x, {0, in[1], 1, in[2]});
    const std::string sum =
        emit(op, {row, constant("c", value.reshape({in[1], 1, in[2]}))}, {in[0], in[1], 1, in[2]});
    return reshape(sum, {0, in[1], in[2], 1});
}

std::string GraphEmitter::unary(const std::string& op, const std::string& x)
{
    return emit(op, {x}, shape(x));
}

std::string GraphEmitter::concatChannels(const std::vector<std::string>& xs)
{
    Shape out = shape(xs.front());
    out[1] = 0;
    for (const auto& x : xs)
        out[1] += shape(x)[1];
    return emit("Concat", xs, out, {attrInt("axis", 1)});
}

std::string GraphEmitter::upsample(const std::string& x, int64_t factor)
{
    if (factor == 1)
        return x;
    Shape out = shape(x);
    out[2] *= factor;
    out[3] *= factor;
    // Custom (format 1.6): OpenCV 4.6's Resize computes each output value on its own on one thread.
    return emit("BilinearUpsample", {x}, out, {attrInt("factor", factor)},
                anomaly_export::kCustomDomain);
}

std::string GraphEmitter::meanSquaredDifference(const std::string& a, const std::string& b,
                                                float scale)
{
    Shape out = shape(a);
    out[1] = 1;
    std::vector<std::string> inputs{a};
    if (!b.empty())
        inputs.push_back(b);
    // Custom (format 1.6): as Sub, Mul and a 1x1 Conv OpenCV 4.6 makes three passes over the
    // whole tensor, the element-wise ones slowly.
    return emit("MeanSquaredDifference", inputs, out, {attrFloat("scale", scale)},
                anomaly_export::kCustomDomain);
}

std::string GraphEmitter::attention(const std::string& q, const std::string& k,
                                    const std::string& v, int64_t heads, const torch::Tensor& mask)
{
    std::vector<std::string> inputs{q, k, v};
    // Two products, each Tq x Tk x C multiply-adds over all heads (as the MatMuls they replace).
    const Shape &sq = shape(q), &sk = shape(k);
    flops_ += 4.0 * double(sq[1] * sq[2] * sq[3]) * double(sk[2] * sk[3]);
    if (mask.defined())
        inputs.push_back(constant("mask", mask));
    // Custom (format 1.6): as MatMul, Add and Softmax nodes OpenCV 4.6 writes and rereads the
    // [N, heads, Tq, Tk] weights in separate passes, the products as one small GEMM per head.
    return emit("Attention", inputs, shape(q), {attrInt("heads", heads)},
                anomaly_export::kCustomDomain);
}

std::string GraphEmitter::attentionPooling(const std::string& logits, const std::string& v,
                                           int64_t heads)
{
    const Shape &sl = shape(logits), &sv = shape(v);
    if (sl[1] % heads != 0 || sv[1] % heads != 0 || sl[2] != sv[2] || sl[3] != sv[3])
        throw std::logic_error("attentionPooling: shapes do not match");
    const int64_t queries = sl[1] / heads;
    // One product, T x (h*w) x C multiply-adds over all heads (as the MatMul it replaces).
    flops_ += 2.0 * double(queries * sl[2] * sl[3]) * double(sv[1]);
    // Custom (format 1.7): OpenCV 4.6 runs that MatMul as one InnerProduct on one thread.
    return emit("AttentionPooling", {logits, v}, {sv[0], sv[1], queries, 1},
                {attrInt("heads", heads)}, anomaly_export::kCustomDomain);
}

std::string GraphEmitter::positionwiseLinear(const std::string& x, const torch::Tensor& weight,
                                             const torch::Tensor& bias)
{
    const Shape& in = shape(x);
    if (weight.dim() != 4 || weight.size(1) != in[1] || weight.size(2) != in[2] ||
        weight.size(3) != in[3] || bias.dim() != 3 || bias.size(0) != weight.size(0) ||
        bias.size(1) != in[2] || bias.size(2) != in[3])
        throw std::logic_error("positionwiseLinear: weight or bias does not match the input");
    flops_ += 2.0 * double(weight.numel());
    // Custom (format 1.8): no OpenCV 4.6 layer has weights that differ per position.
    const Shape out{in[0], weight.size(0), in[2], in[3]};
    if (weight.size(0) == weight.size(1) && torch::equal(weight, weight.transpose(0, 1))) {
        const auto upper = torch::triu_indices(weight.size(0), weight.size(1));  // row by row
        const auto packed = weight.index({upper[0], upper[1]});                  // [C(C+1)/2, H, W]
        return emit("PositionwiseLinear", {x, constant("w", packed), constant("b", bias)}, out,
                    {attrInt("symmetric", 1)}, anomaly_export::kCustomDomain);
    }
    return emit("PositionwiseLinear", {x, constant("w", weight), constant("b", bias)}, out, {},
                anomaly_export::kCustomDomain);
}

std::string GraphEmitter::averagePool(const std::string& x, int64_t factor)
{
    if (factor == 1)
        return x;
    Shape out = shape(x);
    out[2] /= factor;
    out[3] /= factor;
    return emit(
        "AveragePool", {x}, out,
        {attrInts("kernel_shape", {factor, factor}), attrInts("strides", {factor, factor})});
}

std::string GraphEmitter::globalAveragePool(const std::string& x)
{
    const Shape in = shape(x);
    return emit("AveragePool", {x}, {in[0], in[1], 1, 1},
                {attrInts("kernel_shape", {in[2], in[3]}), attrInts("strides", {in[2], in[3]})});
}

}  // namespace anomaly_train
