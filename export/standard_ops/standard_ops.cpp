// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "standard_ops.hpp"

#include <onnx/shape_inference/implementation.h>
#include <onnx_graph.hpp>

#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace anomaly_export {

namespace {

const onnx::TensorProto& findInitializer(const onnx::GraphProto& graph, const std::string& name,
                                         const onnx::NodeProto& node)
{
    for (const auto& t : graph.initializer())
        if (t.name() == name)
            return t;
    throw std::runtime_error(node.op_type() + " '" + node.name() + "': input '" + name +
                             "' is not an initializer");
}

int64_t elementCount(const onnx::TensorProto& t)
{
    int64_t n = 1;
    for (int64_t d : t.dims())
        n *= d;
    return n;
}

// Tensor data may be in raw_data (what our writers use) or in the typed repeated field.
std::vector<float> floatValues(const onnx::TensorProto& t, const onnx::NodeProto& node)
{
    if (t.data_type() != onnx::TensorProto::FLOAT)
        throw std::runtime_error(node.op_type() + " '" + node.name() + "': '" + t.name() +
                                 "' must be FLOAT");
    std::vector<float> v(static_cast<size_t>(elementCount(t)));
    if (t.has_raw_data()) {
        if (t.raw_data().size() != v.size() * sizeof(float))
            throw std::runtime_error("initializer '" + t.name() + "' has a wrong data size");
        std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
    } else {
        if (t.float_data_size() != static_cast<int>(v.size()))
            throw std::runtime_error("initializer '" + t.name() + "' has a wrong data size");
        std::copy(t.float_data().begin(), t.float_data().end(), v.begin());
    }
    return v;
}

std::vector<int64_t> int64Values(const onnx::TensorProto& t, const onnx::NodeProto& node)
{
    if (t.data_type() != onnx::TensorProto::INT64)
        throw std::runtime_error(node.op_type() + " '" + node.name() + "': '" + t.name() +
                                 "' must be INT64");
    std::vector<int64_t> v(static_cast<size_t>(elementCount(t)));
    if (t.has_raw_data()) {
        if (t.raw_data().size() != v.size() * sizeof(int64_t))
            throw std::runtime_error("initializer '" + t.name() + "' has a wrong data size");
        std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
    } else {
        if (t.int64_data_size() != static_cast<int>(v.size()))
            throw std::runtime_error("initializer '" + t.name() + "' has a wrong data size");
        std::copy(t.int64_data().begin(), t.int64_data().end(), v.begin());
    }
    return v;
}

/** Names of values and nodes already in the graph, for making new ones unique. */
class NameRegistry
{
public:
    explicit NameRegistry(const onnx::GraphProto& graph)
    {
        for (const auto& v : graph.input())
            used_.insert(v.name());
        for (const auto& v : graph.output())
            used_.insert(v.name());
        for (const auto& t : graph.initializer())
            used_.insert(t.name());
        for (const auto& n : graph.node()) {
            used_.insert(n.name());
            for (const auto& out : n.output())
                used_.insert(out);
        }
    }

    std::string fresh(const std::string& wanted)
    {
        std::string name = wanted;
        for (int i = 1; used_.count(name) != 0; ++i)
            name = wanted + "_" + std::to_string(i);
        used_.insert(name);
        return name;
    }

private:
    std::set<std::string> used_;
};

onnx::NodeProto makeNode(const std::string& opType, const std::string& name,
                         const std::vector<std::string>& inputs, const std::string& output,
                         const std::vector<onnx::AttributeProto>& attributes = {})
{
    onnx::NodeProto n;
    n.set_op_type(opType);
    n.set_name(name);
    for (const auto& in : inputs)
        n.add_input(in);
    n.add_output(output);
    for (const auto& a : attributes)
        *n.add_attribute() = a;
    return n;
}

/** A float or int64 initializer of shape dims (none: a scalar) holding `values`, row-major. */
template <class T>
std::string addConstant(onnx::GraphProto& graph, const std::string& name,
                        const std::vector<int64_t>& dims, const std::vector<T>& values)
{
    static_assert(std::is_same<T, float>::value || std::is_same<T, int64_t>::value,
                  "float or int64 values");
    auto* t = graph.add_initializer();
    t->set_name(name);
    t->set_data_type(std::is_same<T, float>::value ? onnx::TensorProto::FLOAT
                                                   : onnx::TensorProto::INT64);
    for (int64_t d : dims)
        t->add_dims(d);
    t->set_raw_data(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
    return name;
}

std::string addChannelConstant(onnx::GraphProto& graph, const std::string& name,
                               const std::vector<float>& values)
{
    // [C,1,1]: broadcasts over N,H,W of an NCHW tensor in every runtime.
    return addConstant(graph, name, {static_cast<int64_t>(values.size()), 1, 1}, values);
}

std::string addScalarConstant(onnx::GraphProto& graph, const std::string& name, float value)
{
    // No dims: a scalar, as Clip's min/max must be.
    return addConstant(graph, name, {}, std::vector<float>{value});
}

/** A 1-D float or int64 initializer holding `values`. */
template <class T>
std::string addVectorConstant(onnx::GraphProto& graph, const std::string& name,
                              const std::vector<T>& values)
{
    return addConstant(graph, name, {static_cast<int64_t>(values.size())}, values);
}

/** The node's integer attribute `name`, 0 where it has none (every caller requires >= 1). */
int64_t intAttributeOf(const onnx::NodeProto& node, const std::string& name)
{
    for (const auto& a : node.attribute())
        if (a.name() == name)
            return a.i();
    return 0;
}

/** The node's float attribute `name`, or the op's documented default where it has none. */
float floatAttributeOf(const onnx::NodeProto& node, const std::string& name, float fallback)
{
    for (const auto& a : node.attribute())
        if (a.name() == name)
            return a.f();
    return fallback;
}

void requireInputs(const onnx::NodeProto& node, int count)
{
    if (node.input_size() != count || node.output_size() != 1)
        throw std::runtime_error(node.op_type() + " '" + node.name() + "': expects " +
                                 std::to_string(count) + " inputs and 1 output");
}

std::vector<onnx::NodeProto> rewriteLayerNorm(const onnx::NodeProto& node,
                                              const onnx::GraphProto& graph, NameRegistry& names)
{
    requireInputs(node, 3);
    const auto gamma = floatValues(findInitializer(graph, node.input(1), node), node);
    const auto beta = floatValues(findInitializer(graph, node.input(2), node), node);
    if (gamma.size() != beta.size())
        throw std::runtime_error("LayerNorm '" + node.name() + "': gamma and beta differ in size");
    const std::string& out = node.output(0);
    const std::string nhwc = names.fresh(out + "/nhwc");
    const std::string normalized = names.fresh(out + "/nhwc_normalized");
    // LayerNormalization normalises the trailing axes, so the channel axis is moved last and back.
    return {
        makeNode("Transpose", names.fresh(node.name() + "/to_nhwc"), {node.input(0)}, nhwc,
                 {attrInts("perm", {0, 2, 3, 1})}),
        makeNode(
            "LayerNormalization", node.name(), {nhwc, node.input(1), node.input(2)}, normalized,
            {attrInt("axis", -1), attrFloat("epsilon", floatAttributeOf(node, "epsilon", 1e-5f))}),
        makeNode("Transpose", names.fresh(node.name() + "/to_nchw"), {normalized}, out,
                 {attrInts("perm", {0, 3, 1, 2})})};
}

std::vector<onnx::NodeProto> rewriteChannelAffinePermute(const onnx::NodeProto& node,
                                                         onnx::GraphProto& graph,
                                                         NameRegistry& names)
{
    requireInputs(node, 4);
    const auto scale = floatValues(findInitializer(graph, node.input(1), node), node);
    const auto bias = floatValues(findInitializer(graph, node.input(2), node), node);
    const auto perm = int64Values(findInitializer(graph, node.input(3), node), node);
    const size_t channels = perm.size();
    if (scale.size() != channels || bias.size() != channels)
        throw std::runtime_error("ChannelAffinePermute '" + node.name() +
                                 "': scale, bias and perm differ in size");
    std::vector<bool> seen(channels, false);
    // y[:,i] = x[:,perm[i]] * scale[perm[i]] + bias[perm[i]]: gather first, then the affine
    // with its constants permuted the same way.
    std::vector<float> scaleGathered(channels), biasGathered(channels);
    for (size_t i = 0; i < channels; ++i) {
        const int64_t from = perm[i];
        if (from < 0 || from >= static_cast<int64_t>(channels) || seen[size_t(from)])
            throw std::runtime_error("ChannelAffinePermute '" + node.name() +
                                     "': perm is not a permutation");
        seen[size_t(from)] = true;
        scaleGathered[i] = scale[size_t(from)];
        biasGathered[i] = bias[size_t(from)];
    }
    const std::string& out = node.output(0);
    const std::string gathered = names.fresh(out + "/gathered");
    const std::string scaled = names.fresh(out + "/scaled");
    const std::string scaleName =
        addChannelConstant(graph, names.fresh(node.name() + "/scale_gathered"), scaleGathered);
    const std::string biasName =
        addChannelConstant(graph, names.fresh(node.name() + "/bias_gathered"), biasGathered);
    return {makeNode("Gather", node.name(), {node.input(0), node.input(3)}, gathered,
                     {attrInt("axis", 1)}),
            makeNode("Mul", names.fresh(node.name() + "/scale"), {gathered, scaleName}, scaled),
            makeNode("Add", names.fresh(node.name() + "/bias"), {scaled, biasName}, out)};
}

/** Clip's bounds, added on the first Relu6 and shared by all. */
struct ClipBounds
{
    std::string min, max;
};

std::vector<onnx::NodeProto> rewriteRelu6(const onnx::NodeProto& node, onnx::GraphProto& graph,
                                          NameRegistry& names, ClipBounds& bounds)
{
    requireInputs(node, 1);
    if (bounds.min.empty()) {
        bounds.min = addScalarConstant(graph, names.fresh("relu6_min"), 0.f);
        bounds.max = addScalarConstant(graph, names.fresh("relu6_max"), 6.f);
    }
    return {makeNode("Clip", node.name(), {node.input(0), bounds.min, bounds.max}, node.output(0))};
}

float clampOf(const onnx::NodeProto& node)
{
    for (const auto& a : node.attribute())
        if (a.name() == "clamp" && a.f() > 0)
            return a.f();
    throw std::runtime_error("SoftClampAffine '" + node.name() + "': needs a positive clamp");
}

std::vector<onnx::NodeProto> rewriteSoftClampAffine(const onnx::NodeProto& node,
                                                    onnx::GraphProto& graph, NameRegistry& names)
{
    requireInputs(node, 2);
    const std::string& out = node.output(0);
    const std::string logScaleRaw = names.fresh(out + "/log_scale_raw");
    const std::string shift = names.fresh(out + "/shift");
    const std::string tanh = names.fresh(out + "/tanh");
    const std::string logScale = names.fresh(out + "/log_scale");
    const std::string scale = names.fresh(out + "/scale");
    const std::string scaled = names.fresh(out + "/scaled");
    const std::string clamp =
        addScalarConstant(graph, names.fresh(node.name() + "/clamp"), clampOf(node));
    // Split into two equal halves along the channels needs no channel count (opset 13+).
    onnx::NodeProto split = makeNode("Split", names.fresh(node.name() + "/split"), {node.input(1)},
                                     logScaleRaw, {attrInt("axis", 1)});
    split.add_output(shift);
    return {split,
            makeNode("Tanh", names.fresh(node.name() + "/tanh"), {logScaleRaw}, tanh),
            makeNode("Mul", names.fresh(node.name() + "/clamp"), {tanh, clamp}, logScale),
            makeNode("Exp", names.fresh(node.name() + "/exp"), {logScale}, scale),
            makeNode("Mul", names.fresh(node.name() + "/mul"), {node.input(0), scale}, scaled),
            makeNode("Add", node.name(), {scaled, shift}, out)};
}

onnx::NodeProto rewriteSoftmaxLastAxis(const onnx::NodeProto& node)
{
    requireInputs(node, 1);
    return makeNode("Softmax", node.name(), {node.input(0)}, node.output(0), {attrInt("axis", -1)});
}

std::vector<onnx::NodeProto> rewriteBilinearUpsample(const onnx::NodeProto& node,
                                                     onnx::GraphProto& graph, NameRegistry& names)
{
    requireInputs(node, 1);
    const int64_t factor = intAttributeOf(node, "factor");
    if (factor < 1)
        throw std::runtime_error("BilinearUpsample '" + node.name() + "': needs a factor >= 1");
    const float f = float(factor);
    // roi as an empty initializer, as anomaly_train wrote Resize before format 1.6.
    const std::string roi = addVectorConstant<float>(graph, names.fresh(node.name() + "/roi"), {});
    const std::string scales =
        addVectorConstant<float>(graph, names.fresh(node.name() + "/scales"), {1.f, 1.f, f, f});
    return {makeNode("Resize", node.name(), {node.input(0), roi, scales}, node.output(0),
                     {attrString("mode", "linear"),
                      attrString("coordinate_transformation_mode", "half_pixel")})};
}

/** MeanSquaredDifference(A[, B], scale) -> [Sub(A, B)], Mul(d, d), ReduceMean over the channels
(keepdims), and Mul by scale where it is not 1: ReduceMean needs no channel count, which the file
does not record. */
std::vector<onnx::NodeProto> rewriteMeanSquaredDifference(const onnx::NodeProto& node,
                                                          onnx::GraphProto& graph,
                                                          NameRegistry& names)
{
    if ((node.input_size() != 1 && node.input_size() != 2) || node.output_size() != 1)
        throw std::runtime_error("MeanSquaredDifference '" + node.name() +
                                 "': expects 1 or 2 inputs and 1 output");
    const std::string& name = node.name();
    const std::string& out = node.output(0);
    const float scale = floatAttributeOf(node, "scale", 1.f);
    std::vector<onnx::NodeProto> nodes;
    std::string d = node.input(0);
    if (node.input_size() == 2) {
        const std::string difference = names.fresh(out + "/difference");
        nodes.push_back(
            makeNode("Sub", names.fresh(name + "/sub"), {d, node.input(1)}, difference));
        d = difference;
    }
    const std::string squares = names.fresh(out + "/squares");
    nodes.push_back(makeNode("Mul", names.fresh(name + "/square"), {d, d}, squares));
    if (scale == 1.f) {
        nodes.push_back(makeNode("ReduceMean", name, {squares}, out,
                                 {attrInts("axes", {1}), attrInt("keepdims", 1)}));
        return nodes;
    }
    const std::string mean = names.fresh(out + "/mean");
    nodes.push_back(makeNode("ReduceMean", names.fresh(name + "/mean"), {squares}, mean,
                             {attrInts("axes", {1}), attrInt("keepdims", 1)}));
    const std::string factor = addScalarConstant(graph, names.fresh(name + "/scale"), scale);
    nodes.push_back(makeNode("Mul", name, {mean, factor}, out));
    return nodes;
}

/** The full weights [C,C,H,W] of a symmetric PositionwiseLinear's upper triangle
[C(C+1)/2,H,W] (rows (o, c), o <= c, one after the other), as a new initializer; returns its name.
*/
std::string expandSymmetricWeights(const onnx::NodeProto& node, onnx::GraphProto& graph,
                                   NameRegistry& names)
{
    const onnx::TensorProto& packed = findInitializer(graph, node.input(1), node);
    const onnx::TensorProto& bias = findInitializer(graph, node.input(2), node);
    const std::vector<float> rows = floatValues(packed, node);
    if (packed.dims_size() != 3 || bias.dims_size() != 3)
        throw std::runtime_error("PositionwiseLinear '" + node.name() +
                                 "': symmetric W must be [C(C+1)/2,H,W] and B [C,H,W]");
    const int64_t channels = bias.dims(0);
    const size_t plane = size_t(packed.dims(1) * packed.dims(2));
    if (packed.dims(0) != channels * (channels + 1) / 2)
        throw std::runtime_error("PositionwiseLinear '" + node.name() +
                                 "': " + std::to_string(packed.dims(0)) + " stored rows for " +
                                 std::to_string(channels) + " channels");
    std::vector<float> full(size_t(channels * channels) * plane);
    size_t row = 0;
    for (int64_t o = 0; o < channels; ++o)
        for (int64_t c = o; c < channels; ++c, ++row) {
            const float* src = rows.data() + row * plane;
            std::copy(src, src + plane, full.begin() + long(size_t(o * channels + c) * plane));
            std::copy(src, src + plane, full.begin() + long(size_t(c * channels + o) * plane));
        }
    return addConstant(graph, names.fresh(node.input(1) + "/full"),
                       {channels, channels, packed.dims(1), packed.dims(2)}, full);
}

/** PositionwiseLinear(X, W, B) -> Unsqueeze(X, [1]) to [N,1,Cin,H,W], Mul(W) broadcast to
[N,Cout,Cin,H,W], ReduceSum over axis 2 and Add(B): the op's definition, W and B kept as they are
(the symmetric form's W expanded to the full matrices first).
*/
std::vector<onnx::NodeProto> rewritePositionwiseLinear(const onnx::NodeProto& node,
                                                       onnx::GraphProto& graph, NameRegistry& names)
{
    if (node.input_size() != 3 || node.output_size() != 1)
        throw std::runtime_error("PositionwiseLinear '" + node.name() +
                                 "': expects X, W, B and 1 output");
    const int64_t symmetric = intAttributeOf(node, "symmetric");
    if (symmetric != 0 && symmetric != 1)
        throw std::runtime_error("PositionwiseLinear '" + node.name() +
                                 "': symmetric must be 0 or 1");
    const std::string weight =
        symmetric == 1 ? expandSymmetricWeights(node, graph, names) : node.input(1);
    const std::string& name = node.name();
    const std::string& out = node.output(0);
    const std::string unsqueezed = names.fresh(out + "/unsqueezed");
    const std::string products = names.fresh(out + "/products");
    const std::string sums = names.fresh(out + "/sums");
    const std::string channelAxis =
        addVectorConstant<int64_t>(graph, names.fresh(name + "/axis1"), {1});
    const std::string inputAxis =
        addVectorConstant<int64_t>(graph, names.fresh(name + "/axis2"), {2});
    return {makeNode("Unsqueeze", names.fresh(name + "/unsqueeze"), {node.input(0), channelAxis},
                     unsqueezed),
            makeNode("Mul", names.fresh(name + "/multiply"), {unsqueezed, weight}, products),
            makeNode("ReduceSum", names.fresh(name + "/sum"), {products, inputAxis}, sums,
                     {attrInt("keepdims", 0)}),
            makeNode("Add", name, {sums, node.input(2)}, out)};
}

/** Attention(Q, K, V[, M]) and AttentionPooling(L, V) as the nodes of their definitions. Every
reshape is written with 0 (keep that axis) and -1 (the rest), and Attention's output takes Q's
shape through a Shape node, so that no channel or token count is needed (the file has no
value_info). */
std::vector<onnx::NodeProto> rewriteAttention(const onnx::NodeProto& node, onnx::GraphProto& graph,
                                              NameRegistry& names)
{
    const bool pooling = node.op_type() == "AttentionPooling";
    if (pooling ? node.input_size() != 2 : node.input_size() != 3 && node.input_size() != 4)
        throw std::runtime_error(node.op_type() + " '" + node.name() +
                                 (pooling ? "': expects the logits and the values"
                                          : "': expects Q, K, V and an optional mask"));
    const int64_t heads = intAttributeOf(node, "heads");
    if (heads < 1)
        throw std::runtime_error(node.op_type() + " '" + node.name() + "': needs heads >= 1");
    const std::string& name = node.name();
    const std::string flatten =
        addVectorConstant<int64_t>(graph, names.fresh(name + "/flatten"), {0, 0, -1});
    const std::string splitHeads =
        addVectorConstant<int64_t>(graph, names.fresh(name + "/split_heads"), {0, 0, heads, -1});
    std::vector<onnx::NodeProto> nodes;
    const auto add = [&](const std::string& op, const std::string& what,
                         const std::vector<std::string>& inputs,
                         const std::vector<onnx::AttributeProto>& attributes = {}) {
        const std::string out = names.fresh(node.output(0) + "/" + what);
        nodes.push_back(makeNode(op, names.fresh(name + "/" + what), inputs, out, attributes));
        return out;
    };
    // [N, C, h, w] -> [N, heads, T, d] ([N, heads, d, T] with channelsLast: keys and logits).
    const auto toHeads = [&](const std::string& x, const std::string& what, bool channelsLast) {
        const std::string tokens = add("Reshape", what + "_tokens", {x, flatten});
        const std::string tokenMajor =
            add("Transpose", what + "_token_major", {tokens}, {attrInts("perm", {0, 2, 1})});
        const std::string split = add("Reshape", what + "_split", {tokenMajor, splitHeads});
        return add("Transpose", what + "_heads", {split},
                   {attrInts("perm", channelsLast ? std::vector<int64_t>{0, 2, 3, 1}
                                                  : std::vector<int64_t>{0, 2, 1, 3})});
    };
    std::string scores, v;  // [N, heads, Tq, Tk], [N, heads, Tk, d]
    if (pooling) {
        scores = toHeads(node.input(0), "logits", true);
        v = toHeads(node.input(1), "v", false);
    } else {
        scores = add("MatMul", "scores",
                     {toHeads(node.input(0), "q", false), toHeads(node.input(1), "k", true)});
        v = toHeads(node.input(2), "v", false);
        if (node.input_size() == 4)
            scores = add("Add", "masked", {scores, node.input(3)});
    }
    const std::string weights = add("Softmax", "weights", {scores}, {attrInt("axis", -1)});
    const std::string attended = add("MatMul", "attended", {weights, v});
    const std::string tokenMajor =
        add("Transpose", "token_major", {attended}, {attrInts("perm", {0, 2, 1, 3})});
    const std::string merged = add("Reshape", "merged", {tokenMajor, flatten});
    const std::string channelMajor =
        add("Transpose", "channel_major", {merged}, {attrInts("perm", {0, 2, 1})});
    // [N, C, Tq] -> Q's shape, or [N, C, T, 1] for AttentionPooling.
    const std::string shape =
        pooling
            ? addVectorConstant<int64_t>(graph, names.fresh(name + "/pooled_shape"), {0, 0, -1, 1})
            : add("Shape", "query_shape", {node.input(0)});
    nodes.push_back(makeNode("Reshape", name, {channelMajor, shape}, node.output(0)));
    return nodes;
}

/** DepthwiseConv (group C) and DenseConv (group 1): the same inputs; ONNX Conv with that group,
stride and padding is the op's definition. */
std::vector<onnx::NodeProto> rewriteStridedConv(const onnx::NodeProto& node,
                                                const onnx::GraphProto& graph, bool depthwise)
{
    requireInputs(node, 3);
    const onnx::TensorProto& weight = findInitializer(graph, node.input(1), node);
    if (weight.dims_size() != 4 || (depthwise && weight.dims(1) != 1))
        throw std::runtime_error(node.op_type() + " '" + node.name() + "': weight must be " +
                                 (depthwise ? "[C,1,kh,kw]" : "[O,C,kh,kw]"));
    int64_t stride = 1;
    std::vector<int64_t> padding = {0, 0, 0, 0};
    for (const auto& a : node.attribute()) {
        if (a.name() == "stride")
            stride = a.i();
        else if (a.name() == "padding")
            padding.assign(a.ints().begin(), a.ints().end());
    }
    if (stride < 1 || padding.size() != 4)
        throw std::runtime_error(node.op_type() + " '" + node.name() +
                                 "': needs stride >= 1 and 4 padding values");
    onnx::NodeProto conv =
        makeNode("Conv", node.name(), {node.input(0), node.input(1), node.input(2)}, node.output(0),
                 {attrInts("kernel_shape", {weight.dims(2), weight.dims(3)}),
                  attrInts("strides", {stride, stride}), attrInts("pads", padding),
                  attrInt("group", depthwise ? weight.dims(0) : 1)});
    return {conv};
}

onnx::NodeProto rewritePointwiseConv(const onnx::NodeProto& node, const onnx::GraphProto& graph)
{
    requireInputs(node, 3);
    const onnx::TensorProto& weight = findInitializer(graph, node.input(1), node);
    if (weight.dims_size() != 4 || weight.dims(2) != 1 || weight.dims(3) != 1)
        throw std::runtime_error("PointwiseConv '" + node.name() + "': weight must be [O,I,1,1]");
    // The same inputs: ONNX Conv with a 1x1 kernel is the op's definition.
    return makeNode("Conv", node.name(), {node.input(0), node.input(1), node.input(2)},
                    node.output(0), {attrInts("kernel_shape", {1, 1})});
}

/** A node of one of our ops standing for part of a fused one, to be rewritten in turn. */
onnx::NodeProto customNode(const std::string& opType, const std::string& name,
                           const std::vector<std::string>& inputs, const std::string& output,
                           const std::vector<onnx::AttributeProto>& attributes = {})
{
    onnx::NodeProto n = makeNode(opType, name, inputs, output, attributes);
    n.set_domain(kCustomDomain);
    return n;
}

std::vector<onnx::NodeProto> rewriteAffineCoupling(const onnx::NodeProto& node,
                                                   onnx::GraphProto& graph, NameRegistry& names)
{
    requireInputs(node, 8);
    const onnx::TensorProto& depthwise = findInitializer(graph, node.input(1), node);
    const int64_t channels = elementCount(findInitializer(graph, node.input(5), node));
    if (depthwise.dims_size() != 4 || depthwise.dims(2) % 2 != 1 || depthwise.dims(0) >= channels)
        throw std::runtime_error("AffineCoupling '" + node.name() +
                                 "': depthwise weight must be [S,1,k,k] with k odd and S < C");
    const int64_t split = depthwise.dims(0), pad = depthwise.dims(2) / 2;
    const std::string& out = node.output(0);
    const std::string x1 = names.fresh(out + "/x1"), x2 = names.fresh(out + "/x2");
    const std::string filtered = names.fresh(out + "/subnet_depthwise");
    const std::string hidden = names.fresh(out + "/subnet_hidden");
    const std::string subnet = names.fresh(out + "/subnet");
    const std::string transformed = names.fresh(out + "/y2");
    const std::string joined = names.fresh(out + "/joined");
    const std::string sizes = names.fresh(node.name() + "/split_sizes");
    addVectorConstant<int64_t>(graph, sizes, {split, channels - split});

    // The op's definition, node by node; our own ops among them are rewritten in turn.
    onnx::NodeProto splitNode = makeNode("Split", names.fresh(node.name() + "/split"),
                                         {node.input(0), sizes}, x1, {attrInt("axis", 1)});
    splitNode.add_output(x2);
    std::vector<onnx::NodeProto> result{splitNode};
    const auto append = [&](std::vector<onnx::NodeProto> nodes) {
        for (auto& n : nodes)
            result.push_back(std::move(n));
    };
    append(rewriteStridedConv(
        customNode(kDepthwiseConvOp, names.fresh(node.name() + "/subnet_depthwise"),
                   {x1, node.input(1), node.input(2)}, filtered,
                   {attrInts("padding", {pad, pad, pad, pad})}),
        graph, true));
    result.push_back(makeNode("LeakyRelu", names.fresh(node.name() + "/subnet_relu"), {filtered},
                              hidden, {attrFloat("alpha", floatAttributeOf(node, "slope", 0.f))}));
    result.push_back(rewritePointwiseConv(
        customNode(kPointwiseConvOp, names.fresh(node.name() + "/subnet_project"),
                   {hidden, node.input(3), node.input(4)}, subnet),
        graph));
    append(rewriteSoftClampAffine(
        customNode("SoftClampAffine", names.fresh(node.name() + "/affine"), {x2, subnet},
                   transformed, {attrFloat("clamp", clampOf(node))}),
        graph, names));
    result.push_back(makeNode("Concat", names.fresh(node.name() + "/concat"), {x1, transformed},
                              joined, {attrInt("axis", 1)}));
    append(rewriteChannelAffinePermute(
        customNode("ChannelAffinePermute", node.name(),
                   {joined, node.input(5), node.input(6), node.input(7)}, out),
        graph, names));
    return result;
}

std::vector<onnx::NodeProto> rewriteInvertedResidual(const onnx::NodeProto& node,
                                                     onnx::GraphProto& graph, NameRegistry& names,
                                                     ClipBounds& bounds)
{
    if (node.input_size() != 5 && node.input_size() != 7)
        throw std::runtime_error("InvertedResidual '" + node.name() +
                                 "': expects 5 or 7 inputs, got " +
                                 std::to_string(node.input_size()));
    const int d = node.input_size() - 4;  // the depthwise weight
    bool residual = false;
    std::vector<onnx::AttributeProto> geometry;  // stride and padding, DepthwiseConv's own
    for (const auto& a : node.attribute()) {
        if (a.name() == "residual")
            residual = a.i() != 0;
        else
            geometry.push_back(a);
    }
    const std::string& out = node.output(0);
    std::vector<onnx::NodeProto> result;
    const auto append = [&](std::vector<onnx::NodeProto> nodes) {
        for (auto& n : nodes)
            result.push_back(std::move(n));
    };
    // The op's definition, node by node; our own ops among them are rewritten in turn.
    std::string hidden = node.input(0);
    if (d == 3) {
        const std::string expanded = names.fresh(out + "/expanded");
        result.push_back(rewritePointwiseConv(
            customNode(kPointwiseConvOp, names.fresh(node.name() + "/expand"),
                       {node.input(0), node.input(1), node.input(2)}, expanded),
            graph));
        hidden = names.fresh(out + "/expanded_relu6");
        append(rewriteRelu6(
            customNode("Relu6", names.fresh(node.name() + "/expand_relu6"), {expanded}, hidden),
            graph, names, bounds));
    }
    const std::string filtered = names.fresh(out + "/depthwise");
    append(rewriteStridedConv(
        customNode(kDepthwiseConvOp, names.fresh(node.name() + "/depthwise"),
                   {hidden, node.input(d), node.input(d + 1)}, filtered, geometry),
        graph, true));
    const std::string activated = names.fresh(out + "/depthwise_relu6");
    append(rewriteRelu6(
        customNode("Relu6", names.fresh(node.name() + "/depthwise_relu6"), {filtered}, activated),
        graph, names, bounds));
    const std::string projected = residual ? names.fresh(out + "/projected") : out;
    result.push_back(rewritePointwiseConv(
        customNode(kPointwiseConvOp, residual ? names.fresh(node.name() + "/project") : node.name(),
                   {activated, node.input(d + 2), node.input(d + 3)}, projected),
        graph));
    if (residual)
        result.push_back(makeNode("Add", node.name(), {projected, node.input(0)}, out));
    return result;
}

// Initializers only the replaced nodes read (e.g. the unpermuted flow scale) would be dead weight.
void removeUnreferencedInitializers(onnx::GraphProto& graph,
                                    const std::set<std::string>& candidates)
{
    std::set<std::string> referenced;
    for (const auto& n : graph.node())
        for (const auto& in : n.input())
            referenced.insert(in);
    for (const auto& v : graph.input())
        referenced.insert(v.name());
    for (const auto& v : graph.output())
        referenced.insert(v.name());
    auto* inits = graph.mutable_initializer();
    for (int i = inits->size() - 1; i >= 0; --i)
        if (candidates.count(inits->Get(i).name()) != 0 &&
            referenced.count(inits->Get(i).name()) == 0)
            inits->DeleteSubrange(i, 1);
}

}  // namespace

onnx::ModelProto toStandardOps(const onnx::ModelProto& model)
{
    onnx::ModelProto result = model;
    onnx::GraphProto& graph = *result.mutable_graph();
    NameRegistry names(graph);
    std::set<std::string> replacedInputs;
    ClipBounds clipBounds;

    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (const auto& node : graph.node()) {
        if (node.domain().empty() || node.domain() == "ai.onnx") {
            *nodes.Add() = node;
            continue;
        }
        std::vector<onnx::NodeProto> replacement;
        if (node.domain() == kCustomDomain && node.op_type() == "LayerNorm")
            replacement = rewriteLayerNorm(node, graph, names);
        else if (node.domain() == kCustomDomain && node.op_type() == "ChannelAffinePermute")
            replacement = rewriteChannelAffinePermute(node, graph, names);
        else if (node.domain() == kCustomDomain && node.op_type() == "Relu6")
            replacement = rewriteRelu6(node, graph, names, clipBounds);
        else if (node.domain() == kCustomDomain && node.op_type() == "SoftClampAffine")
            replacement = rewriteSoftClampAffine(node, graph, names);
        else if (node.domain() == kCustomDomain && node.op_type() == "SoftmaxLastAxis")
            replacement = {rewriteSoftmaxLastAxis(node)};
        else if (node.domain() == kCustomDomain && node.op_type() == "MeanSquaredDifference")
            replacement = rewriteMeanSquaredDifference(node, graph, names);
        else if (node.domain() == kCustomDomain &&
                 (node.op_type() == "Attention" || node.op_type() == "AttentionPooling"))
            replacement = rewriteAttention(node, graph, names);
        else if (node.domain() == kCustomDomain && node.op_type() == "PositionwiseLinear")
            replacement = rewritePositionwiseLinear(node, graph, names);
        else if (node.domain() == kCustomDomain && node.op_type() == "BilinearUpsample")
            replacement = rewriteBilinearUpsample(node, graph, names);
        else if (node.domain() == kCustomDomain && node.op_type() == kDepthwiseConvOp)
            replacement = rewriteStridedConv(node, graph, true);
        else if (node.domain() == kCustomDomain && node.op_type() == kPointwiseConvOp)
            replacement = {rewritePointwiseConv(node, graph)};
        else if (node.domain() == kCustomDomain && node.op_type() == kDenseConvOp)
            replacement = rewriteStridedConv(node, graph, false);
        else if (node.domain() == kCustomDomain && node.op_type() == kAffineCouplingOp)
            replacement = rewriteAffineCoupling(node, graph, names);
        else if (node.domain() == kCustomDomain && node.op_type() == kInvertedResidualOp)
            replacement = rewriteInvertedResidual(node, graph, names, clipBounds);
        else
            throw std::runtime_error("no standard form for op " + node.domain() + "." +
                                     node.op_type() + " (node '" + node.name() + "')");
        for (const auto& in : node.input())
            replacedInputs.insert(in);
        // In place, so the node list stays topologically sorted.
        for (auto& n : replacement)
            *nodes.Add() = std::move(n);
    }
    graph.mutable_node()->Swap(&nodes);
    removeUnreferencedInitializers(graph, replacedInputs);

    auto* opsets = result.mutable_opset_import();
    for (int i = opsets->size() - 1; i >= 0; --i)
        if (opsets->Get(i).domain() != "" && opsets->Get(i).domain() != "ai.onnx")
            opsets->DeleteSubrange(i, 1);
    bool haveAiOnnx = false;
    for (auto& opset : *opsets) {
        opset.set_version(kStandardOpset);
        haveAiOnnx = true;
    }
    if (!haveAiOnnx) {
        auto* opset = result.add_opset_import();
        opset->set_domain("");
        opset->set_version(kStandardOpset);
    }
    // Opset 17 needs IR version 8.
    if (result.ir_version() < 8)
        result.set_ir_version(8);

    // The checker alone does not type-check nodes; strict shape inference (on a copy, so the
    // file keeps exactly the value_info it had) catches a wrong attribute, shape or index type.
    onnx::ModelProto inferred = result;
    try {
        onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                           onnx::ShapeInferenceOptions(true, 1));
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("rewritten graph fails ONNX shape inference: ") +
                                 e.what());
    }
    return result;
}

}  // namespace anomaly_export
