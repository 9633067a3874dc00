// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Emits the ONNX ops of the head in the forms OpenCV 4.6 runs at any batch size
// (doc/model-format.md section 6), tracks every value's shape and counts the FLOPs.
#ifndef ANOMALY_TRAIN_GRAPH_EMITTER_HPP
#define ANOMALY_TRAIN_GRAPH_EMITTER_HPP

#include <torch/torch.h>
#include <onnx_graph.hpp>

#include <map>
#include <string>
#include <vector>

namespace anomaly_train {

using Shape = std::vector<int64_t>;  // [N, C, H, W]; N is tracked as 1

/** The weights of one flow coupling block, in the order of the AffineCoupling op's inputs
(doc/model-format.md section 6): S channels pass, R = C - S are transformed. */
struct CouplingTensors
{
    torch::Tensor depthwiseWeight;  // [S, 1, k, k], k odd
    torch::Tensor depthwiseBias;    // [S]
    torch::Tensor projectWeight;    // [2R, S] or [2R, S, 1, 1]
    torch::Tensor projectBias;      // [2R]
    torch::Tensor scale, offset;    // [C]: the global affine
    torch::Tensor permutation;      // [C] channel indices
    float clamp = 0.f;              // of the soft-clamped log-scales
    float slope = 0.f;              // negative slope of the subnet's leaky ReLU
};

class GraphEmitter
{
public:
    explicit GraphEmitter(anomaly_export::OnnxGraphBuilder& builder) : b_(builder) {}

    /** Stage that names the nodes emitted from now on ("<stage>/<node>"), so that a per-layer
    profile (OpenCV 4.6 names layers "onnx_node!<node name>") can be summed per stage. Emitting a
    node while no stage is set is a logic error. */
    void setStage(const std::string& stage) { stage_ = stage; }
    const std::string& stage() const { return stage_; }

    /** Declares the shape of a value produced outside the emitter (e.g. a backbone output). */
    void declare(const std::string& name, const Shape& shape) { shapes_[name] = shape; }
    const Shape& shape(const std::string& name) const;

    /** Constant tensor (any shape) as an FP32 initializer. */
    std::string constant(const std::string& prefix, const torch::Tensor& value);

    /** 1x1 Conv: weight [out, in], bias [out] or undefined. */
    std::string pointwise(const std::string& x, const torch::Tensor& weight,
                          const torch::Tensor& bias);
    /** General Conv: weight [out, in/group, k, k], stride 1, same padding (dilation * (k / 2)). */
    std::string conv(const std::string& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     int64_t group, int64_t dilation = 1);
    /** org.opencv.anomaly.LayerNorm over channels. */
    std::string layerNorm(const std::string& x, const torch::Tensor& gamma,
                          const torch::Tensor& beta, double epsilon);
    /** One normalizing-flow coupling block as org.opencv.anomaly.AffineCoupling. */
    std::string affineCoupling(const std::string& x, const CouplingTensors& block);
    std::string reshape(const std::string& x, const Shape& shapeWithZeroBatch);
    std::string transposeLast2(const std::string& x);
    std::string softmaxLastAxis(const std::string& x);
    /** Element-wise Add/Sub/Mul of two graph values of equal shape. */
    std::string binary(const std::string& op, const std::string& a, const std::string& b);
    /** Add or Mul of a constant of shape [C, H, W] or [C, 1, 1] (never a leading batch dim). */
    std::string binaryConstant(const std::string& op, const std::string& x,
                               const torch::Tensor& value);
    std::string unary(const std::string& op, const std::string& x);
    std::string concatChannels(const std::vector<std::string>& xs);
    std::string upsample(const std::string& x, int64_t factor);
    /** scale * mean over channels of (a - b)^2, or of a^2 where b is empty: [N, 1, H, W]. */
    std::string meanSquaredDifference(const std::string& a, const std::string& b, float scale);
    /** Multi-head attention of graph values q [N,C,hq,wq], k and v [N,C,hk,wk] (scale folded into
    q) as one custom Attention node; mask: an additive [Tq, Tk] constant, or undefined. */
    std::string attention(const std::string& q, const std::string& k, const std::string& v,
                          int64_t heads, const torch::Tensor& mask);
    /** Attention of T constant queries whose scores are already the graph value logits
    [N, heads*T, h, w] (queries folded into the key projection): softmax over the h*w positions,
    then the weighted sum of v [N, C, h, w], as one custom AttentionPooling node: [N, C, T, 1]. */
    std::string attentionPooling(const std::string& logits, const std::string& v, int64_t heads);
    /** y[n,o,i,j] = bias[o,i,j] + sum_c weight[o,c,i,j] x[n,c,i,j]: a 1x1 convolution whose
    weights differ per position, as one custom PositionwiseLinear node. Weights that are exactly
    symmetric in (o, c) are written as their upper triangle (symmetric = 1, format 1.9): half the
    file and half the bytes the layer streams. */
    std::string positionwiseLinear(const std::string& x, const torch::Tensor& weight,
                                   const torch::Tensor& bias);
    std::string averagePool(const std::string& x, int64_t factor);
    /** Mean over all positions, [N, C, H, W] -> [N, C, 1, 1] (an AveragePool over H x W). */
    std::string globalAveragePool(const std::string& x);

    /** Multiply-adds x 2 of all Conv and MatMul ops emitted so far, per image. */
    double flops() const { return flops_; }
    anomaly_export::OnnxGraphBuilder& builder() { return b_; }

private:
    std::string emit(const std::string& op, const std::vector<std::string>& inputs,
                     const Shape& outShape,
                     const std::vector<onnx::AttributeProto>& attributes = {},
                     const std::string& domain = "");

    anomaly_export::OnnxGraphBuilder& b_;
    std::map<std::string, Shape> shapes_;
    double flops_ = 0;
    std::string stage_;
};

/** Head stages: the node-name prefixes listed in doc/training.md ("Node names"). */
namespace stage {
constexpr const char* kBackbone = "backbone";  // every node merged in from the backbone graph
constexpr const char* kTokens = "tokens";      // projection to tokens, position embedding
constexpr const char* kLocal = "local";        // local branch and its reconstruction
constexpr const char* kGlobal = "global";      // global branch and its reconstruction
constexpr const char* kFlow = "flow";          // normalizing flow, or lgfdr's gated scoring head
constexpr const char* kMaps = "maps";          // per-scale maps, upsampling, averaging
}  // namespace stage

/** Sets the emitter's stage for one scope and restores the previous one on exit. */
class StageScope
{
public:
    StageScope(GraphEmitter& g, const std::string& stage) : g_(g), previous_(g.stage())
    {
        g_.setStage(stage);
    }
    ~StageScope() { g_.setStage(previous_); }
    StageScope(const StageScope&) = delete;
    StageScope& operator=(const StageScope&) = delete;

private:
    GraphEmitter& g_;
    std::string previous_;
};

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_GRAPH_EMITTER_HPP
