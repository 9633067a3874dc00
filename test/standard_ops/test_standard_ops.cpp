// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The standard-ops rewrite: structure (opset 17 only, names, outputs, metadata kept) and numbers
// (the custom ops as OpenCV DNN runs them vs the rewritten ops evaluated by LibTorch following
// the ONNX operator definitions).
#include "program_run.hpp"

#include <onnx/checker.h>
#include <torch/torch.h>
#include <onnx_graph.hpp>
#include <opencv2/anomaly/model_io.hpp>
#include <opencv2/dnn.hpp>
#include <standard_ops.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

namespace {

namespace fs = std::filesystem;
using anomaly_export::OnnxGraphBuilder;

constexpr int64_t kChannels = 6, kHeight = 3, kWidth = 4;
const std::vector<int64_t> kPerm = {2, 0, 5, 1, 4, 3};

// image [N,6,3,4] -> local/LayerNorm -> "normalized" -> flow/ChannelAffinePermute -> "flowed".
onnx::ModelProto smallCustomOpModel(const std::vector<int64_t>& perm = kPerm)
{
    OnnxGraphBuilder b("small");
    b.addInput("image", {-1, kChannels, kHeight, kWidth});
    const std::vector<float> gamma = {1.f, 2.f, 0.5f, -1.f, 1.5f, 3.f};
    const std::vector<float> beta = {0.f, 0.1f, -0.2f, 0.3f, 1.f, -1.f};
    const std::vector<float> scale = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
    const std::vector<float> bias = {10.f, 20.f, 30.f, 40.f, 50.f, 60.f};
    b.addInitializer("gamma", {kChannels}, gamma.data());
    b.addInitializer("beta", {kChannels}, beta.data());
    b.addInitializer("scale", {kChannels}, scale.data());
    b.addInitializer("bias", {kChannels}, bias.data());
    b.addInt64Initializer("perm", perm);
    b.addNode("LayerNorm", {"image", "gamma", "beta"}, "normalized",
              {anomaly_export::attrFloat("epsilon", 1e-3f)}, anomaly_export::kCustomDomain);
    b.addNode("ChannelAffinePermute", {"normalized", "scale", "bias", "perm"}, "flowed", {},
              anomaly_export::kCustomDomain);
    auto& nodes = *b.model().mutable_graph()->mutable_node();
    nodes[0].set_name("local/LayerNorm_0");
    nodes[1].set_name("flow/ChannelAffinePermute_0");
    b.addOutput("normalized", {-1, kChannels, kHeight, kWidth});
    b.addOutput("flowed", {-1, kChannels, kHeight, kWidth});
    b.setMetadata("anomaly.method", "lgnf");
    return b.model();
}

// image [N,6,3,4] -> two backbone/Relu6 nodes in sequence (the second checks shared bounds).
onnx::ModelProto relu6Model()
{
    OnnxGraphBuilder b("relu6");
    b.addInput("image", {-1, kChannels, kHeight, kWidth});
    b.addNode("Relu6", {"image"}, "activated", {}, anomaly_export::kCustomDomain);
    b.addNode("Relu6", {"activated"}, "activated_twice", {}, anomaly_export::kCustomDomain);
    auto& nodes = *b.model().mutable_graph()->mutable_node();
    nodes[0].set_name("backbone/Relu6_0");
    nodes[1].set_name("backbone/Relu6_1");
    b.addOutput("activated", {-1, kChannels, kHeight, kWidth});
    b.addOutput("activated_twice", {-1, kChannels, kHeight, kWidth});
    return b.model();
}

// image [N,6,3,4] -> 1x1 Conv to 3 channels "x2"; flow/SoftClampAffine(x2, image) -> "coupled".
onnx::ModelProto softClampAffineModel()
{
    OnnxGraphBuilder b("soft_clamp_affine");
    b.addInput("image", {-1, kChannels, kHeight, kWidth});
    std::vector<float> weight(3 * kChannels);
    for (size_t i = 0; i < weight.size(); ++i)
        weight[i] = 0.25f * float(int(i % 5) - 2);
    b.addInitializer("mix", {3, kChannels, 1, 1}, weight.data());
    b.addNode("Conv", {"image", "mix"}, "x2", {anomaly_export::attrInts("kernel_shape", {1, 1})});
    b.addNode("SoftClampAffine", {"x2", "image"}, "coupled",
              {anomaly_export::attrFloat("clamp", 1.5f)}, anomaly_export::kCustomDomain);
    auto& nodes = *b.model().mutable_graph()->mutable_node();
    nodes[0].set_name("flow/Conv_0");
    nodes[1].set_name("flow/SoftClampAffine_0");
    b.addOutput("coupled", {-1, 3, kHeight, kWidth});
    return b.model();
}

// image [N,6,7,9] -> backbone/DepthwiseConv (5x5, stride 2, padding 1,2,2,2) -> "dw" [N,6,3,5].
onnx::ModelProto depthwiseConvModel()
{
    OnnxGraphBuilder b("depthwise");
    b.addInput("image", {-1, kChannels, 7, 9});
    std::vector<float> weight(kChannels * 25), bias(kChannels);
    for (size_t i = 0; i < weight.size(); ++i)
        weight[i] = 0.1f * float(int(i % 7) - 3);
    for (size_t i = 0; i < bias.size(); ++i)
        bias[i] = 0.5f * float(i) - 1.f;
    b.addInitializer("dw_w", {kChannels, 1, 5, 5}, weight.data());
    b.addInitializer("dw_b", {kChannels}, bias.data());
    const anomaly_export::ConvolutionNode node =
        anomaly_export::convolutionNode(kChannels, kChannels, kChannels, 5, 5, 2, {1, 2, 2, 2});
    EXPECT_EQ(node.opType, anomaly_export::kDepthwiseConvOp);
    b.addNode(node.opType, {"image", "dw_w", "dw_b"}, "dw", node.attributes, node.domain);
    b.model().mutable_graph()->mutable_node(0)->set_name("backbone/DepthwiseConv_0");
    b.addOutput("dw", {-1, kChannels, 3, 5});
    return b.model();
}

// image [N,6,5,7] -> backbone/PointwiseConv to 13 channels -> "pw" [N,13,5,7].
onnx::ModelProto pointwiseConvModel()
{
    OnnxGraphBuilder b("pointwise");
    b.addInput("image", {-1, kChannels, 5, 7});
    std::vector<float> weight(13 * kChannels), bias(13);
    for (size_t i = 0; i < weight.size(); ++i)
        weight[i] = 0.1f * float(int(i % 9) - 4);
    for (size_t i = 0; i < bias.size(); ++i)
        bias[i] = 0.25f * float(i) - 1.f;
    b.addInitializer("pw_w", {13, kChannels, 1, 1}, weight.data());
    b.addInitializer("pw_b", {13}, bias.data());
    const anomaly_export::ConvolutionNode node =
        anomaly_export::convolutionNode(kChannels, 13, 1, 1, 1, 1, {0, 0, 0, 0});
    EXPECT_EQ(node.opType, anomaly_export::kPointwiseConvOp);
    b.addNode(node.opType, {"image", "pw_w", "pw_b"}, "pw", node.attributes, node.domain);
    b.model().mutable_graph()->mutable_node(0)->set_name("backbone/PointwiseConv_0");
    b.addOutput("pw", {-1, 13, 5, 7});
    return b.model();
}

// image [N,6,5,7] -> flow/AffineCoupling (3 channels pass, 3 are transformed; 3x3 subnet
// kernel) -> "coupled".
onnx::ModelProto affineCouplingModel()
{
    OnnxGraphBuilder b("coupling");
    b.addInput("image", {-1, kChannels, 5, 7});
    const auto pattern = [](size_t n, float step, float offset) {
        std::vector<float> v(n);
        for (size_t i = 0; i < n; ++i)
            v[i] = step * float(int(i % 7) - 3) + offset;
        return v;
    };
    b.addInitializer("dw", {3, 1, 3, 3}, pattern(27, 0.2f, 0.05f).data());
    b.addInitializer("db", {3}, pattern(3, 0.1f, 0.f).data());
    b.addInitializer("pw", {6, 3, 1, 1}, pattern(18, 0.5f, 0.1f).data());
    b.addInitializer("pb", {6}, pattern(6, 0.2f, 0.f).data());
    b.addInitializer("scale", {kChannels}, pattern(kChannels, 0.1f, 1.f).data());
    b.addInitializer("bias", {kChannels}, pattern(kChannels, 0.3f, 0.f).data());
    b.addInt64Initializer("perm", kPerm);
    b.addNode(anomaly_export::kAffineCouplingOp,
              {"image", "dw", "db", "pw", "pb", "scale", "bias", "perm"}, "coupled",
              {anomaly_export::attrFloat("clamp", 1.5f), anomaly_export::attrFloat("slope", 0.1f)},
              anomaly_export::kCustomDomain);
    b.model().mutable_graph()->mutable_node(0)->set_name("flow/AffineCoupling_0");
    b.addOutput("coupled", {-1, kChannels, 5, 7});
    return b.model();
}

// image [N,6,3,4] -> local/SoftmaxLastAxis -> "weights".
onnx::ModelProto softmaxModel()
{
    OnnxGraphBuilder b("softmax");
    b.addInput("image", {-1, kChannels, kHeight, kWidth});
    b.addNode("SoftmaxLastAxis", {"image"}, "weights", {}, anomaly_export::kCustomDomain);
    b.model().mutable_graph()->mutable_node(0)->set_name("local/SoftmaxLastAxis_0");
    b.addOutput("weights", {-1, kChannels, kHeight, kWidth});
    return b.model();
}

torch::Tensor initializerTensor(const onnx::TensorProto& t)
{
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    if (t.data_type() == onnx::TensorProto::INT64)
        return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, torch::kInt64)
            .clone();
    EXPECT_EQ(t.data_type(), onnx::TensorProto::FLOAT) << t.name();
    return torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, torch::kFloat32).clone();
}

/** The values of a 1-D int64 tensor (the axes, shape and sizes inputs of opset-13+ nodes). */
std::vector<int64_t> int64Values(const torch::Tensor& t)
{
    return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
}

std::vector<int64_t> intsAttribute(const onnx::NodeProto& n, const std::string& name)
{
    for (const auto& a : n.attribute())
        if (a.name() == name)
            return {a.ints().begin(), a.ints().end()};
    ADD_FAILURE() << n.name() << " lacks " << name;
    return {};
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& n, const std::string& name)
{
    for (const auto& a : n.attribute())
        if (a.name() == name)
            return &a;
    return nullptr;
}

// Evaluates the ops the rewrite emits, each as the ONNX operator definition says, with LibTorch.
std::map<std::string, torch::Tensor> evaluateStandardGraph(const onnx::ModelProto& model,
                                                           const torch::Tensor& image)
{
    std::map<std::string, torch::Tensor> values{{"image", image}};
    for (const auto& t : model.graph().initializer())
        values[t.name()] = initializerTensor(t);
    for (const auto& n : model.graph().node()) {
        auto in = [&](int i) { return values.at(n.input(i)); };
        torch::Tensor out;
        if (n.op_type() == "Transpose") {
            out = in(0).permute(intsAttribute(n, "perm")).contiguous();
        } else if (n.op_type() == "LayerNormalization") {
            const auto* axis = attribute(n, "axis");
            const auto* eps = attribute(n, "epsilon");
            EXPECT_TRUE(axis == nullptr || axis->i() == -1 || axis->i() == 3) << n.name();
            out = torch::layer_norm(in(0), {in(0).size(-1)}, in(1), in(2), eps ? eps->f() : 1e-5);
        } else if (n.op_type() == "Gather") {
            const auto* axis = attribute(n, "axis");
            out = in(0).index_select(axis ? axis->i() : 0, in(1));
        } else if (n.op_type() == "Mul") {
            out = in(0) * in(1);  // numpy broadcasting, as ONNX
        } else if (n.op_type() == "Sub") {
            out = in(0) - in(1);
        } else if (n.op_type() == "ReduceMean") {
            const std::vector<int64_t> axes = intsAttribute(n, "axes");
            const auto* keep = attribute(n, "keepdims");
            out = in(0).mean(axes, keep == nullptr || keep->i() != 0);
        } else if (n.op_type() == "ReduceSum") {  // opset 13+: axes as the second input
            const auto* keep = attribute(n, "keepdims");
            out = in(0).sum(int64Values(in(1)), keep == nullptr || keep->i() != 0);
        } else if (n.op_type() == "Unsqueeze") {  // opset 13+: axes as the second input
            const torch::Tensor axes = in(1);
            EXPECT_EQ(axes.numel(), 1) << n.name();
            out = in(0).unsqueeze(axes[0].item<int64_t>());
        } else if (n.op_type() == "Add") {
            out = in(0) + in(1);
        } else if (n.op_type() == "Clip") {
            out = torch::clamp(in(0), in(1).item<float>(), in(2).item<float>());
        } else if (n.op_type() == "Softmax") {
            const auto* axis = attribute(n, "axis");
            out = torch::softmax(in(0), axis ? axis->i() : -1);
        } else if (n.op_type() == "LeakyRelu") {
            const auto* alpha = attribute(n, "alpha");
            out = torch::leaky_relu(in(0), alpha ? alpha->f() : 0.01);
        } else if (n.op_type() == "Concat") {
            std::vector<torch::Tensor> parts;
            for (int k = 0; k < n.input_size(); ++k)
                parts.push_back(in(k));
            out = torch::cat(parts, attribute(n, "axis")->i());
        } else if (n.op_type() == "Resize") {
            // Only what the rewrite of BilinearUpsample writes: linear, half_pixel, scales given.
            const auto* mode = attribute(n, "mode");
            const auto* transform = attribute(n, "coordinate_transformation_mode");
            EXPECT_TRUE(mode && mode->s() == "linear") << n.name();
            EXPECT_TRUE(transform && transform->s() == "half_pixel") << n.name();
            EXPECT_EQ(in(1).numel(), 0) << n.name() << ": roi";
            const torch::Tensor scales = in(2);
            EXPECT_EQ(scales[0].item<float>(), 1.f);
            EXPECT_EQ(scales[1].item<float>(), 1.f);
            const auto size = [&](int axis) {
                return int64_t(std::floor(in(0).size(axis) * scales[axis].item<double>()));
            };
            out = torch::upsample_bilinear2d(in(0), {size(2), size(3)}, false);
        } else if (n.op_type() == "Reshape") {  // 0 keeps that axis, -1 takes the rest
            std::vector<int64_t> dims = int64Values(in(1));
            for (size_t a = 0; a < dims.size(); ++a)
                if (dims[a] == 0)
                    dims[a] = in(0).size(int64_t(a));
            out = in(0).reshape(dims);
        } else if (n.op_type() == "MatMul") {
            out = torch::matmul(in(0), in(1));
        } else if (n.op_type() == "Shape") {
            out = torch::tensor(in(0).sizes().vec(), torch::kInt64);
        } else if (n.op_type() == "Tanh") {
            out = torch::tanh(in(0));
        } else if (n.op_type() == "Exp") {
            out = torch::exp(in(0));
        } else if (n.op_type() == "Conv") {
            // ONNX pads are {top, left, bottom, right}; constant_pad_nd takes the last axis first.
            const auto* pads = attribute(n, "pads");
            const auto* strides = attribute(n, "strides");
            const auto* group = attribute(n, "group");
            const std::vector<int64_t> p =
                pads ? std::vector<int64_t>(pads->ints().begin(), pads->ints().end())
                     : std::vector<int64_t>{0, 0, 0, 0};
            const torch::Tensor padded = torch::constant_pad_nd(in(0), {p[1], p[3], p[0], p[2]});
            const int64_t stride = strides ? strides->ints(0) : 1;
            out = torch::conv2d(padded, in(1), n.input_size() > 2 ? in(2) : torch::Tensor(),
                                torch::IntArrayRef{stride, stride}, torch::IntArrayRef{0, 0},
                                torch::IntArrayRef{1, 1}, group ? group->i() : 1);
        } else if (n.op_type() == "Split") {  // sizes from the second input, else equal parts
            const auto* axis = attribute(n, "axis");
            const int64_t dim = axis ? axis->i() : 0;
            std::vector<torch::Tensor> parts;
            if (n.input_size() == 2) {
                parts = in(0).split_with_sizes(int64Values(in(1)), dim);
            } else {
                parts = in(0).chunk(n.output_size(), dim);
            }
            EXPECT_EQ(int(parts.size()), n.output_size()) << n.name();
            for (int k = 1; k < n.output_size(); ++k)
                values[n.output(k)] = parts[size_t(k)];
            out = parts[0];
        } else {
            ADD_FAILURE() << "unexpected op " << n.op_type() << " in the rewritten graph";
            return values;
        }
        values[n.output(0)] = out;
    }
    return values;
}

std::vector<cv::Mat> runOpenCv(const onnx::ModelProto& model, const cv::Mat& blob,
                               const std::vector<cv::String>& outputNames)
{
    cv::dnn::Net net =
        cv::anomaly::readNetWithCustomLayers(anomaly_export::serializeOnnxModel(model));
    net.setInput(blob, "image");
    std::vector<cv::Mat> outputs;
    net.forward(outputs, outputNames);
    return outputs;
}

double maxAbsDifference(const cv::Mat& a, const torch::Tensor& b)
{
    const torch::Tensor bc = b.contiguous();
    EXPECT_EQ(size_t(bc.numel()), a.total());
    const torch::Tensor at =
        torch::from_blob(const_cast<float*>(a.ptr<float>()), bc.sizes(), torch::kFloat32);
    return (at - bc).abs().max().item<double>();
}

/** The original model run by OpenCV with the custom layers, and its standard-ops rewrite evaluated
by LibTorch, on the same image. */
struct BothRuns
{
    std::vector<cv::Mat> openCv;                    //!< in the order of the requested outputs
    std::map<std::string, torch::Tensor> standard;  //!< every value of the rewritten graph
};

BothRuns runBoth(const onnx::ModelProto& original, const torch::Tensor& image,
                 const std::vector<cv::String>& outputNames)
{
    const torch::Tensor input = image.contiguous();
    const std::vector<int> sizes(input.sizes().begin(), input.sizes().end());
    const cv::Mat blob(int(sizes.size()), sizes.data(), CV_32F, input.data_ptr<float>());
    return {runOpenCv(original, blob, outputNames),
            evaluateStandardGraph(anomaly_export::toStandardOps(original), input)};
}

/** Runs runBoth on a seeded normal [2,6,5,7] image and expects `output` of the rewrite to agree
with OpenCV's to 1e-5 of its size (which must be of order 1, or the check would be loose). */
void expectRewriteMatchesOpenCv(const onnx::ModelProto& original, const std::string& output,
                                uint64_t seed)
{
    torch::manual_seed(seed);
    const torch::Tensor image = torch::randn({2, kChannels, 5, 7});
    const BothRuns runs = runBoth(original, image, {output});
    const double scale = runs.standard.at(output).abs().max().item<double>();
    ASSERT_GT(scale, 0.5);
    EXPECT_LT(maxAbsDifference(runs.openCv[0], runs.standard.at(output)), 1e-5 * scale);
}

TEST(StandardOps, OnlyOpset17StandardNodesAndEverythingElseKept)
{
    const onnx::ModelProto original = smallCustomOpModel();
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(original);
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    EXPECT_GE(rewritten.ir_version(), 8);
    ASSERT_EQ(rewritten.opset_import_size(), 1);
    EXPECT_EQ(rewritten.opset_import(0).domain(), "");
    EXPECT_EQ(rewritten.opset_import(0).version(), 17);

    std::vector<std::string> ops;
    for (const auto& n : rewritten.graph().node()) {
        EXPECT_TRUE(n.domain().empty()) << n.name();
        ops.push_back(n.op_type());
    }
    EXPECT_EQ(ops, (std::vector<std::string>{"Transpose", "LayerNormalization", "Transpose",
                                             "Gather", "Mul", "Add"}));
    // The main node keeps the name; helpers extend it, so stage prefixes survive.
    EXPECT_EQ(rewritten.graph().node(1).name(), "local/LayerNorm_0");
    EXPECT_EQ(rewritten.graph().node(3).name(), "flow/ChannelAffinePermute_0");
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(rewritten.graph().node(i).name().rfind("local/LayerNorm_0", 0), 0u);
    for (int i = 3; i < 6; ++i)
        EXPECT_EQ(rewritten.graph().node(i).name().rfind("flow/ChannelAffinePermute_0", 0), 0u);

    ASSERT_EQ(rewritten.graph().output_size(), 2);
    EXPECT_EQ(rewritten.graph().output(0).DebugString(), original.graph().output(0).DebugString());
    EXPECT_EQ(rewritten.graph().output(1).DebugString(), original.graph().output(1).DebugString());
    EXPECT_EQ(rewritten.graph().input(0).DebugString(), original.graph().input(0).DebugString());
    ASSERT_EQ(rewritten.metadata_props_size(), 1);
    EXPECT_EQ(rewritten.metadata_props(0).value(), "lgnf");
}

TEST(StandardOps, AffineConstantsAreGatheredByTheSamePermutation)
{
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(smallCustomOpModel());
    std::map<std::string, torch::Tensor> init;
    for (const auto& t : rewritten.graph().initializer())
        init[t.name()] = initializerTensor(t);
    const auto& gather = rewritten.graph().node(3);
    const auto& mul = rewritten.graph().node(4);
    const auto& add = rewritten.graph().node(5);
    // perm {2,0,5,1,4,3} applied to scale 1..6 and bias 10..60, by hand.
    const torch::Tensor indices = init.at(gather.input(1));
    EXPECT_TRUE(torch::equal(indices, torch::tensor(kPerm, torch::kInt64)));
    EXPECT_TRUE(torch::equal(init.at(mul.input(1)),
                             torch::tensor({3.f, 1.f, 6.f, 2.f, 5.f, 4.f}).view({6, 1, 1})));
    EXPECT_TRUE(torch::equal(init.at(add.input(1)),
                             torch::tensor({30.f, 10.f, 60.f, 20.f, 50.f, 40.f}).view({6, 1, 1})));
    // The unpermuted scale and bias are no longer read by any node and are gone.
    EXPECT_EQ(init.count("scale"), 0u);
    EXPECT_EQ(init.count("bias"), 0u);
}

TEST(StandardOps, RewrittenGraphMatchesTheCustomOpsRunByOpenCvAtBatch2)
{
    const onnx::ModelProto original = smallCustomOpModel();
    torch::manual_seed(7);
    const torch::Tensor image = torch::randn({2, kChannels, kHeight, kWidth}) * 3 + 1;

    const BothRuns runs = runBoth(original, image, {"normalized", "flowed"});
    const std::vector<cv::Mat>& reference = runs.openCv;
    const auto& values = runs.standard;
    EXPECT_LT(maxAbsDifference(reference[0], values.at("normalized")), 1e-5);
    EXPECT_LT(maxAbsDifference(reference[1], values.at("flowed")), 1e-4);
}

TEST(StandardOps, Relu6BecomesClipWithScalarBoundsZeroAndSix)
{
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(relu6Model());
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    ASSERT_EQ(rewritten.opset_import_size(), 1);
    EXPECT_EQ(rewritten.opset_import(0).version(), 17);
    ASSERT_EQ(rewritten.graph().node_size(), 2);
    std::map<std::string, torch::Tensor> init;
    for (const auto& t : rewritten.graph().initializer())
        init[t.name()] = initializerTensor(t);
    for (int i = 0; i < 2; ++i) {
        const auto& clip = rewritten.graph().node(i);
        EXPECT_EQ(clip.op_type(), "Clip");
        EXPECT_TRUE(clip.domain().empty());
        EXPECT_EQ(clip.name(), "backbone/Relu6_" + std::to_string(i));
        ASSERT_EQ(clip.input_size(), 3);
        EXPECT_EQ(clip.output(0), i == 0 ? "activated" : "activated_twice");
        // Opset >= 11 Clip: min and max are scalar inputs, not attributes.
        EXPECT_EQ(clip.attribute_size(), 0);
        const torch::Tensor lo = init.at(clip.input(1)), hi = init.at(clip.input(2));
        EXPECT_EQ(lo.dim(), 0);
        EXPECT_EQ(hi.dim(), 0);
        EXPECT_EQ(lo.item<float>(), 0.f);
        EXPECT_EQ(hi.item<float>(), 6.f);
    }
    // One pair of bounds serves every Clip.
    EXPECT_EQ(rewritten.graph().initializer_size(), 2);
}

TEST(StandardOps, ClipMatchesTheCustomRelu6RunByOpenCvAtBatch2)
{
    const onnx::ModelProto original = relu6Model();
    torch::manual_seed(8);
    // Values from about -8 to 10: both bounds are exercised.
    const torch::Tensor image = torch::randn({2, kChannels, kHeight, kWidth}) * 4 + 1;
    ASSERT_GT((image < 0).sum().item<int64_t>(), 0);
    ASSERT_GT((image > 6).sum().item<int64_t>(), 0);

    const BothRuns runs = runBoth(original, image, {"activated", "activated_twice"});
    const std::vector<cv::Mat>& reference = runs.openCv;
    const auto& values = runs.standard;
    EXPECT_EQ(maxAbsDifference(reference[0], values.at("activated")), 0.0);
    EXPECT_EQ(maxAbsDifference(reference[1], values.at("activated_twice")), 0.0);
    // And both against the definition min(max(x, 0), 6), written out here.
    EXPECT_EQ(maxAbsDifference(reference[0],
                               torch::minimum(torch::relu(image), torch::full_like(image, 6.f))),
              0.0);
}

TEST(StandardOps, SoftClampAffineBecomesSplitTanhMulExpMulAdd)
{
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(softClampAffineModel());
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    std::vector<std::string> ops;
    for (const auto& n : rewritten.graph().node()) {
        EXPECT_TRUE(n.domain().empty()) << n.name();
        ops.push_back(n.op_type());
    }
    EXPECT_EQ(ops, (std::vector<std::string>{"Conv", "Split", "Tanh", "Mul", "Exp", "Mul", "Add"}));
    // The last node keeps the custom node's name and output.
    EXPECT_EQ(rewritten.graph().node(6).name(), "flow/SoftClampAffine_0");
    EXPECT_EQ(rewritten.graph().node(6).output(0), "coupled");
}

TEST(StandardOps, SoftClampAffineMatchesOpenCvAndItsDefinitionAtBatch2)
{
    const onnx::ModelProto original = softClampAffineModel();
    torch::manual_seed(9);
    // Log-scale inputs from about -12 to 12: tanh saturates at both ends.
    const torch::Tensor image = torch::randn({2, kChannels, kHeight, kWidth}) * 4;

    const BothRuns runs = runBoth(original, image, {"coupled"});
    const std::vector<cv::Mat>& reference = runs.openCv;
    const auto& values = runs.standard;
    const torch::Tensor x2 = values.at("x2");
    const torch::Tensor definition =
        x2 * torch::exp(1.5f * torch::tanh(image.narrow(1, 0, 3))) + image.narrow(1, 3, 3);
    const double scale = definition.abs().max().item<double>();
    EXPECT_LT(maxAbsDifference(reference[0], values.at("coupled")), 1e-5 * scale);
    EXPECT_LT(maxAbsDifference(reference[0], definition), 1e-5 * scale);
}

TEST(StandardOps, DepthwiseConvBecomesAGroupedConvWithTheSameStrideAndPadding)
{
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(depthwiseConvModel());
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    ASSERT_EQ(rewritten.graph().node_size(), 1);
    const onnx::NodeProto& conv = rewritten.graph().node(0);
    EXPECT_EQ(conv.op_type(), "Conv");
    EXPECT_TRUE(conv.domain().empty());
    EXPECT_EQ(conv.name(), "backbone/DepthwiseConv_0");
    EXPECT_EQ(std::vector<std::string>(conv.input().begin(), conv.input().end()),
              (std::vector<std::string>{"image", "dw_w", "dw_b"}));
    EXPECT_EQ(intsAttribute(conv, "kernel_shape"), (std::vector<int64_t>{5, 5}));
    EXPECT_EQ(intsAttribute(conv, "strides"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(intsAttribute(conv, "pads"), (std::vector<int64_t>{1, 2, 2, 2}));
    ASSERT_NE(attribute(conv, "group"), nullptr);
    EXPECT_EQ(attribute(conv, "group")->i(), kChannels);
    EXPECT_EQ(rewritten.graph().initializer_size(), 2);
}

TEST(StandardOps, GroupedConvMatchesTheDepthwiseConvRunByOpenCvAtBatch2)
{
    const onnx::ModelProto original = depthwiseConvModel();
    torch::manual_seed(10);
    const torch::Tensor image = torch::randn({2, kChannels, 7, 9});
    const BothRuns runs = runBoth(original, image, {"dw"});
    const std::vector<cv::Mat>& reference = runs.openCv;
    const auto& values = runs.standard;
    const double scale = values.at("dw").abs().max().item<double>();
    ASSERT_GT(scale, 0.5);
    EXPECT_LT(maxAbsDifference(reference[0], values.at("dw")), 1e-5 * scale);
}

TEST(StandardOps, PointwiseConvBecomesA1x1ConvAndMatchesOpenCvAtBatch2)
{
    const onnx::ModelProto original = pointwiseConvModel();
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(original);
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    ASSERT_EQ(rewritten.graph().node_size(), 1);
    const onnx::NodeProto& conv = rewritten.graph().node(0);
    EXPECT_EQ(conv.op_type(), "Conv");
    EXPECT_TRUE(conv.domain().empty());
    EXPECT_EQ(conv.name(), "backbone/PointwiseConv_0");
    EXPECT_EQ(std::vector<std::string>(conv.input().begin(), conv.input().end()),
              (std::vector<std::string>{"image", "pw_w", "pw_b"}));
    EXPECT_EQ(intsAttribute(conv, "kernel_shape"), (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(attribute(conv, "group"), nullptr);

    expectRewriteMatchesOpenCv(original, "pw", 12);
}

TEST(StandardOps, ConvolutionsAreWrittenAsTheCustomOpOnlyWhereItApplies)
{
    using anomaly_export::convolutionNode;
    // One input channel per group and output channel: DepthwiseConv, stride and padding its own.
    EXPECT_EQ(convolutionNode(8, 8, 8, 3, 3, 2, {0, 0, 1, 1}).opType, "DepthwiseConv");
    // A channel multiplier (two outputs per group) is not depthwise in the op's sense.
    EXPECT_EQ(convolutionNode(8, 16, 8, 3, 3, 1, {1, 1, 1, 1}).opType, "Conv");
    EXPECT_EQ(convolutionNode(8, 16, 1, 1, 1, 1, {0, 0, 0, 0}).opType, "PointwiseConv");
    // Any other convolution of one group (a 1x1 kernel with a stride or a padding, the 3x3
    // stride-2 stem) is DenseConv, with its stride and padding as DepthwiseConv's.
    EXPECT_EQ(convolutionNode(8, 16, 1, 1, 1, 2, {0, 0, 0, 0}).opType, "DenseConv");
    EXPECT_EQ(convolutionNode(8, 16, 1, 1, 1, 1, {0, 1, 0, 0}).opType, "DenseConv");
    const auto stem = convolutionNode(3, 32, 1, 3, 3, 2, {0, 0, 1, 1});
    EXPECT_EQ(stem.opType, "DenseConv");
    EXPECT_EQ(stem.domain, anomaly_export::kCustomDomain);
    EXPECT_TRUE(stem.needsBias);
    onnx::NodeProto node;
    for (const auto& a : stem.attributes)
        *node.add_attribute() = a;
    EXPECT_EQ(intsAttribute(node, "padding"), (std::vector<int64_t>{0, 0, 1, 1}));
    ASSERT_NE(attribute(node, "stride"), nullptr);
    EXPECT_EQ(attribute(node, "stride")->i(), 2);
    // Groups of several channels stay an ONNX Conv.
    const auto grouped = convolutionNode(8, 16, 2, 3, 3, 1, {1, 1, 1, 1});
    EXPECT_EQ(grouped.opType, "Conv");
    EXPECT_TRUE(grouped.domain.empty());
    EXPECT_FALSE(grouped.needsBias);
    // Any dilation stays an ONNX Conv; a single-channel spatial convolution is depthwise (a 1x1
    // one pointwise).
    EXPECT_EQ(convolutionNode(8, 8, 8, 3, 3, 1, {2, 2, 2, 2}, 2).opType, "Conv");
    EXPECT_EQ(convolutionNode(1, 1, 1, 39, 39, 1, {19, 19, 19, 19}).opType, "DepthwiseConv");
    EXPECT_EQ(convolutionNode(1, 1, 1, 1, 1, 1, {0, 0, 0, 0}).opType, "PointwiseConv");
}

// image [N,6,5,7] -> backbone/DenseConv to 4 channels, 3x3, stride 2, "SAME" padding -> "dense"
// [N,4,2,3].
onnx::ModelProto denseConvModel()
{
    OnnxGraphBuilder b("dense");
    b.addInput("image", {-1, kChannels, 5, 7});
    std::vector<float> weight(4 * kChannels * 9), bias(4);
    for (size_t i = 0; i < weight.size(); ++i)
        weight[i] = 0.05f * float(int(i % 11) - 5);
    for (size_t i = 0; i < bias.size(); ++i)
        bias[i] = 0.5f * float(i) - 1.f;
    b.addInitializer("dense_w", {4, kChannels, 3, 3}, weight.data());
    b.addInitializer("dense_b", {4}, bias.data());
    const anomaly_export::ConvolutionNode node =
        anomaly_export::convolutionNode(kChannels, 4, 1, 3, 3, 2, {0, 0, 1, 1});
    b.addNode(node.opType, {"image", "dense_w", "dense_b"}, "dense", node.attributes, node.domain);
    b.model().mutable_graph()->mutable_node(0)->set_name("backbone/DenseConv_0");
    b.addOutput("dense", {-1, 4, 2, 3});
    return b.model();
}

TEST(StandardOps, DenseConvBecomesAConvWithTheSameStrideAndPaddingAndMatchesOpenCvAtBatch2)
{
    const onnx::ModelProto original = denseConvModel();
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(original);
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    ASSERT_EQ(rewritten.graph().node_size(), 1);
    const onnx::NodeProto& conv = rewritten.graph().node(0);
    EXPECT_EQ(conv.op_type(), "Conv");
    EXPECT_TRUE(conv.domain().empty());
    EXPECT_EQ(conv.name(), "backbone/DenseConv_0");
    EXPECT_EQ(intsAttribute(conv, "kernel_shape"), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(intsAttribute(conv, "strides"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(intsAttribute(conv, "pads"), (std::vector<int64_t>{0, 0, 1, 1}));
    ASSERT_NE(attribute(conv, "group"), nullptr);
    EXPECT_EQ(attribute(conv, "group")->i(), 1);

    expectRewriteMatchesOpenCv(original, "dense", 14);
}

TEST(StandardOps, AffineCouplingBecomesTheNodesOfItsDefinitionAndMatchesOpenCvAtBatch2)
{
    const onnx::ModelProto original = affineCouplingModel();
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(original);
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    std::vector<std::string> ops;
    for (const auto& n : rewritten.graph().node()) {
        EXPECT_TRUE(n.domain().empty()) << n.name();
        EXPECT_EQ(n.name().rfind("flow/", 0), 0u) << n.name() << " lost its stage prefix";
        ops.push_back(n.op_type());
    }
    EXPECT_EQ(
        ops, (std::vector<std::string>{"Split", "Conv", "LeakyRelu", "Conv", "Split", "Tanh", "Mul",
                                       "Exp", "Mul", "Add", "Concat", "Gather", "Mul", "Add"}));
    EXPECT_EQ(rewritten.graph().node(int(ops.size()) - 1).output(0), "coupled");
    EXPECT_EQ(intsAttribute(rewritten.graph().node(1), "pads"), (std::vector<int64_t>{1, 1, 1, 1}));

    expectRewriteMatchesOpenCv(original, "coupled", 13);
}

// image [N,6,5,7] -> InvertedResidual 6 -> 10 -> 6, 3x3 pad 1, residual -> "block"
// -> InvertedResidual without expansion, 3x3 stride 2, pads 0,0,1,1, to 4 -> "strided" [N,4,2,3].
onnx::ModelProto invertedResidualModel()
{
    OnnxGraphBuilder b("blocks");
    b.addInput("image", {-1, kChannels, 5, 7});
    const auto pattern = [](size_t n, float step, float offset) {
        std::vector<float> v(n);
        for (size_t i = 0; i < n; ++i)
            v[i] = step * float(int(i % 7) - 3) + offset;
        return v;
    };
    b.addInitializer("ew", {10, kChannels, 1, 1}, pattern(10 * kChannels, 0.3f, 0.1f).data());
    b.addInitializer("eb", {10}, pattern(10, 0.5f, 1.f).data());
    b.addInitializer("dw", {10, 1, 3, 3}, pattern(90, 0.2f, 0.05f).data());
    b.addInitializer("db", {10}, pattern(10, 0.4f, 0.5f).data());
    b.addInitializer("pw", {kChannels, 10, 1, 1}, pattern(10 * kChannels, 0.2f, 0.f).data());
    b.addInitializer("pb", {kChannels}, pattern(kChannels, 0.2f, 0.f).data());
    b.addInitializer("dw2", {kChannels, 1, 3, 3}, pattern(9 * kChannels, 0.25f, 0.1f).data());
    b.addInitializer("db2", {kChannels}, pattern(kChannels, 0.3f, 1.f).data());
    b.addInitializer("pw2", {4, kChannels, 1, 1}, pattern(4 * kChannels, 0.3f, 0.05f).data());
    b.addInitializer("pb2", {4}, pattern(4, 0.2f, 0.f).data());
    using anomaly_export::attrInt;
    using anomaly_export::attrInts;
    b.addNode(anomaly_export::kInvertedResidualOp, {"image", "ew", "eb", "dw", "db", "pw", "pb"},
              "block",
              {attrInt("stride", 1), attrInts("padding", {1, 1, 1, 1}), attrInt("residual", 1)},
              anomaly_export::kCustomDomain);
    b.addNode(anomaly_export::kInvertedResidualOp, {"block", "dw2", "db2", "pw2", "pb2"}, "strided",
              {attrInt("stride", 2), attrInts("padding", {0, 0, 1, 1})},
              anomaly_export::kCustomDomain);
    b.model().mutable_graph()->mutable_node(0)->set_name("backbone/InvertedResidual_0");
    b.model().mutable_graph()->mutable_node(1)->set_name("backbone/InvertedResidual_1");
    b.addOutput("strided", {-1, 4, 2, 3});
    return b.model();
}

TEST(StandardOps, InvertedResidualBecomesTheNodesOfItsDefinitionAndMatchesOpenCvAtBatch2)
{
    const onnx::ModelProto original = invertedResidualModel();
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(original);
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    std::vector<std::string> ops;
    for (const auto& n : rewritten.graph().node()) {
        EXPECT_TRUE(n.domain().empty()) << n.name();
        EXPECT_EQ(n.name().rfind("backbone/InvertedResidual_", 0), 0u)
            << n.name() << " lost its node's name";
        ops.push_back(n.op_type());
    }
    EXPECT_EQ(ops, (std::vector<std::string>{"Conv", "Clip", "Conv", "Clip", "Conv", "Add", "Conv",
                                             "Clip", "Conv"}));
    const auto& nodes = rewritten.graph().node();
    EXPECT_EQ(nodes.Get(5).output(0), "block");
    EXPECT_EQ(nodes.Get(5).input(1), "image");
    EXPECT_EQ(nodes.Get(8).output(0), "strided");
    ASSERT_NE(attribute(nodes.Get(6), "group"), nullptr);
    EXPECT_EQ(attribute(nodes.Get(6), "group")->i(), kChannels);
    EXPECT_EQ(intsAttribute(nodes.Get(6), "strides"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(intsAttribute(nodes.Get(6), "pads"), (std::vector<int64_t>{0, 0, 1, 1}));

    expectRewriteMatchesOpenCv(original, "strided", 15);
}

TEST(StandardOps, SoftmaxLastAxisBecomesSoftmaxOverTheLastAxisAndMatchesOpenCv)
{
    const onnx::ModelProto original = softmaxModel();
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(original);
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    ASSERT_EQ(rewritten.graph().node_size(), 1);
    const onnx::NodeProto& softmax = rewritten.graph().node(0);
    EXPECT_EQ(softmax.op_type(), "Softmax");
    EXPECT_TRUE(softmax.domain().empty());
    EXPECT_EQ(softmax.name(), "local/SoftmaxLastAxis_0");
    ASSERT_NE(attribute(softmax, "axis"), nullptr);
    EXPECT_EQ(attribute(softmax, "axis")->i(), -1);

    torch::manual_seed(11);
    const torch::Tensor image = torch::randn({2, kChannels, kHeight, kWidth}) * 5;
    const BothRuns runs = runBoth(original, image, {"weights"});
    const std::vector<cv::Mat>& reference = runs.openCv;
    const auto& values = runs.standard;
    EXPECT_LT(maxAbsDifference(reference[0], values.at("weights")), 1e-6);
}

TEST(StandardOps, BilinearUpsampleBecomesResizeAndMatchesOpenCv)
{
    OnnxGraphBuilder b("upsample");
    b.addInput("image", {-1, kChannels, kHeight, kWidth});
    b.addNode("BilinearUpsample", {"image"}, "up", {anomaly_export::attrInt("factor", 4)},
              anomaly_export::kCustomDomain);
    b.model().mutable_graph()->mutable_node(0)->set_name("maps/BilinearUpsample_0");
    b.addOutput("up", {-1, kChannels, 4 * kHeight, 4 * kWidth});
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(b.model());
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    ASSERT_EQ(rewritten.graph().node_size(), 1);
    const onnx::NodeProto& resize = rewritten.graph().node(0);
    EXPECT_EQ(resize.op_type(), "Resize");
    EXPECT_TRUE(resize.domain().empty());
    EXPECT_EQ(resize.name(), "maps/BilinearUpsample_0");
    ASSERT_EQ(resize.input_size(), 3);
    EXPECT_EQ(rewritten.graph().initializer_size(), 2) << "roi and scales";

    torch::manual_seed(12);
    const torch::Tensor image = torch::randn({2, kChannels, kHeight, kWidth});
    const BothRuns runs = runBoth(b.model(), image, {"up"});
    EXPECT_LT(maxAbsDifference(runs.openCv[0], runs.standard.at("up")), 1e-5);
}

/** Rewrites a model whose only custom node is `nodeName` (writing `output`): expects a checked
model of standard nodes that all keep the node's name as prefix, the last of them under the
node's own name and writing its output; returns how many nodes of each type it wrote. */
std::map<std::string, int> expectStandardRewriteOfOneNode(const onnx::ModelProto& original,
                                                          const std::string& nodeName,
                                                          const std::string& output)
{
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(original);
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    std::map<std::string, int> ops;
    for (const auto& n : rewritten.graph().node()) {
        EXPECT_TRUE(n.domain().empty()) << n.name();
        EXPECT_EQ(n.name().rfind(nodeName, 0), 0u) << n.name() << ": stage prefix";
        ++ops[n.op_type()];
    }
    const onnx::NodeProto& last = rewritten.graph().node(rewritten.graph().node_size() - 1);
    EXPECT_EQ(last.name(), nodeName);
    EXPECT_EQ(last.output(0), output);
    return ops;
}

TEST(StandardOps, AttentionBecomesTheNodesOfItsDefinitionAndMatchesOpenCv)
{
    // Self-attention on the image, 2 heads of 3 channels, a mask hiding each token itself.
    constexpr int64_t kTokens = 5 * 7;
    OnnxGraphBuilder b("attention");
    b.addInput("image", {-1, kChannels, 5, 7});
    std::vector<float> mask(size_t(kTokens * kTokens), 0.f);
    for (int64_t t = 0; t < kTokens; ++t)
        mask[size_t(t * kTokens + t)] = -1e4f;
    b.addInitializer("mask", {kTokens, kTokens}, mask.data());
    b.addNode("Attention", {"image", "image", "image", "mask"}, "attended",
              {anomaly_export::attrInt("heads", 2)}, anomaly_export::kCustomDomain);
    b.model().mutable_graph()->mutable_node(0)->set_name("local/Attention_0");
    b.addOutput("attended", {-1, kChannels, 5, 7});
    std::map<std::string, int> ops =
        expectStandardRewriteOfOneNode(b.model(), "local/Attention_0", "attended");
    EXPECT_EQ(ops["MatMul"], 2);
    EXPECT_EQ(ops["Softmax"], 1);
    EXPECT_EQ(ops["Add"], 1) << "the mask";

    expectRewriteMatchesOpenCv(b.model(), "attended", 13);
}

TEST(StandardOps, AttentionPoolingBecomesTheNodesOfItsDefinitionAndMatchesOpenCv)
{
    // The image as the logits of 2 heads of 3 queries and as the values (2 heads of 3 channels),
    // pooled over its 5 x 7 positions: [N, 6, 3, 1].
    OnnxGraphBuilder b("pooling");
    b.addInput("image", {-1, kChannels, 5, 7});
    b.addNode("AttentionPooling", {"image", "image"}, "pooled",
              {anomaly_export::attrInt("heads", 2)}, anomaly_export::kCustomDomain);
    b.model().mutable_graph()->mutable_node(0)->set_name("global/AttentionPooling_0");
    b.addOutput("pooled", {-1, kChannels, kChannels / 2, 1});
    std::map<std::string, int> ops =
        expectStandardRewriteOfOneNode(b.model(), "global/AttentionPooling_0", "pooled");
    EXPECT_EQ(ops["MatMul"], 1);
    EXPECT_EQ(ops["Softmax"], 1);
    EXPECT_EQ(ops["Shape"], 0) << "the output shape is [0, 0, -1, 1]";

    expectRewriteMatchesOpenCv(b.model(), "pooled", 14);
}

TEST(StandardOps, MeanSquaredDifferenceBecomesSubMulReduceMeanAndMatchesOpenCv)
{
    // The squared error of the image against a leaky ReLU of it (unscaled), and the flow map
    // 0.5 * mean of squares of the image.
    OnnxGraphBuilder b("squares");
    b.addInput("image", {-1, kChannels, kHeight, kWidth});
    b.addNode("LeakyRelu", {"image"}, "rectified", {anomaly_export::attrFloat("alpha", 0.2f)});
    b.addNode("MeanSquaredDifference", {"image", "rectified"}, "error",
              {anomaly_export::attrFloat("scale", 1.f)}, anomaly_export::kCustomDomain);
    b.addNode("MeanSquaredDifference", {"image"}, "flow_map",
              {anomaly_export::attrFloat("scale", 0.5f)}, anomaly_export::kCustomDomain);
    auto& nodes = *b.model().mutable_graph()->mutable_node();
    nodes[1].set_name("maps/MeanSquaredDifference_0");
    nodes[2].set_name("flow/MeanSquaredDifference_1");
    b.addOutput("error", {-1, 1, kHeight, kWidth});
    b.addOutput("flow_map", {-1, 1, kHeight, kWidth});
    const onnx::ModelProto rewritten = anomaly_export::toStandardOps(b.model());
    EXPECT_NO_THROW(onnx::checker::check_model(rewritten));
    std::vector<std::string> ops;
    for (const auto& n : rewritten.graph().node())
        ops.push_back(n.op_type());
    const std::vector<std::string> expected = {"LeakyRelu", "Sub",        "Mul", "ReduceMean",
                                               "Mul",       "ReduceMean", "Mul"};
    EXPECT_EQ(ops, expected);
    EXPECT_EQ(rewritten.graph().node(3).name(), "maps/MeanSquaredDifference_0");
    EXPECT_EQ(rewritten.graph().node(6).name(), "flow/MeanSquaredDifference_1");

    torch::manual_seed(14);
    const torch::Tensor image = torch::randn({2, kChannels, kHeight, kWidth}) * 2;
    const BothRuns runs = runBoth(b.model(), image, {"error", "flow_map"});
    EXPECT_LT(maxAbsDifference(runs.openCv[0], runs.standard.at("error")), 1e-5);
    EXPECT_LT(maxAbsDifference(runs.openCv[1], runs.standard.at("flow_map")), 1e-5);
}

TEST(StandardOps, PositionwiseLinearBecomesUnsqueezeMulReduceSumAddAndMatchesOpenCv)
{
    // 6 channels to 4 on the 5 x 7 plane of expectRewriteMatchesOpenCv, weights and bias different
    // at every position.
    constexpr int64_t kOut = 4;
    OnnxGraphBuilder b("positionwise");
    b.addInput("image", {-1, kChannels, 5, 7});
    torch::manual_seed(15);
    const torch::Tensor weight = torch::randn({kOut, kChannels, 5, 7});
    const torch::Tensor bias = torch::randn({kOut, 5, 7});
    b.addInitializer("w", {kOut, kChannels, 5, 7}, weight.data_ptr<float>());
    b.addInitializer("b", {kOut, 5, 7}, bias.data_ptr<float>());
    b.addNode("PositionwiseLinear", {"image", "w", "b"}, "whitened", {},
              anomaly_export::kCustomDomain);
    b.model().mutable_graph()->mutable_node(0)->set_name("flow/PositionwiseLinear_0");
    b.addOutput("whitened", {-1, kOut, 5, 7});
    std::map<std::string, int> ops =
        expectStandardRewriteOfOneNode(b.model(), "flow/PositionwiseLinear_0", "whitened");
    const std::map<std::string, int> expected = {
        {"Unsqueeze", 1}, {"Mul", 1}, {"ReduceSum", 1}, {"Add", 1}};
    EXPECT_EQ(ops, expected);

    expectRewriteMatchesOpenCv(b.model(), "whitened", 16);
}

TEST(StandardOps, SymmetricPositionwiseLinearIsExpandedAndMatchesOpenCv)
{
    // The symmetric form: W stored as the upper triangle of symmetric C x C matrices, different
    // at every position; the rewrite writes the full matrices and OpenCV's layer, which reads
    // the triangle, must agree with ONNX's evaluation of them.
    OnnxGraphBuilder b("positionwise_symmetric");
    b.addInput("image", {-1, kChannels, 5, 7});
    torch::manual_seed(16);
    const torch::Tensor a = torch::randn({kChannels, kChannels, 5, 7});
    const torch::Tensor weight = a + a.transpose(0, 1);
    const auto upper = torch::triu_indices(kChannels, kChannels);
    const torch::Tensor packed = weight.index({upper[0], upper[1]}).contiguous();
    const torch::Tensor bias = torch::randn({kChannels, 5, 7});
    b.addInitializer("w", {packed.size(0), 5, 7}, packed.data_ptr<float>());
    b.addInitializer("b", {kChannels, 5, 7}, bias.data_ptr<float>());
    b.addNode("PositionwiseLinear", {"image", "w", "b"}, "whitened",
              {anomaly_export::attrInt("symmetric", 1)}, anomaly_export::kCustomDomain);
    b.model().mutable_graph()->mutable_node(0)->set_name("flow/PositionwiseLinear_0");
    b.addOutput("whitened", {-1, kChannels, 5, 7});
    expectStandardRewriteOfOneNode(b.model(), "flow/PositionwiseLinear_0", "whitened");
    const onnx::ModelProto standard = anomaly_export::toStandardOps(b.model());
    bool packedLeft = false;
    for (const auto& t : standard.graph().initializer())
        packedLeft = packedLeft || t.name() == "w";
    EXPECT_FALSE(packedLeft) << "the triangle is replaced by the full matrices";
    expectRewriteMatchesOpenCv(b.model(), "whitened", 16);
}

TEST(StandardOps, RefusesUnknownCustomOpsAndBadPermutations)
{
    onnx::ModelProto unknown = smallCustomOpModel();
    unknown.mutable_graph()->mutable_node(0)->set_op_type("Mystery");
    try {
        anomaly_export::toStandardOps(unknown);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("org.opencv.anomaly.Mystery"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(anomaly_export::toStandardOps(smallCustomOpModel({0, 0, 1, 2, 3, 4})),
                 std::runtime_error);
}

class StandardOnnxTool : public ::testing::Test
{
protected:
    void SetUp() override
    {
        dir_ = fs::temp_directory_path() /
               ("anomaly_standard_ops_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(StandardOnnxTool, WritesACheckedStandardModel)
{
    const fs::path in = dir_ / "model.onnx", out = dir_ / "model_std.onnx";
    OnnxGraphBuilder(smallCustomOpModel()).save(in.string());
    const auto r =
        anomaly_test::run(std::string(ANOMALY_STANDARD_ONNX_TOOL) + " --in " +
                          anomaly_test::quoted(in) + " --out " + anomaly_test::quoted(out));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const onnx::ModelProto written = anomaly_export::loadOnnxModel(out.string());
    EXPECT_EQ(written.opset_import(0).version(), 17);
    EXPECT_EQ(written.graph().node_size(), 6);
    for (const auto& entry : fs::directory_iterator(dir_))
        EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST_F(StandardOnnxTool, BadArgumentsAndInputsFailWithOneLineAndNoOutput)
{
    const fs::path out = dir_ / "out.onnx";
    const std::string tool = ANOMALY_STANDARD_ONNX_TOOL;
    for (const std::string& args : {std::string("--in"), std::string("--bogus x"),
                                    "--in " + anomaly_test::quoted(dir_ / "missing.onnx") +
                                        " --out " + anomaly_test::quoted(out)}) {
        const auto r = anomaly_test::run(tool + " " + args);
        EXPECT_NE(r.exitCode, 0) << args;
        EXPECT_EQ(r.output.rfind("anomaly_standard_onnx: ", 0), 0u) << r.output;
        EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    }
    EXPECT_FALSE(fs::exists(out));
}

}  // namespace
