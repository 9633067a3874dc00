// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Parts shared by the presets, each with its LibTorch forward and its ONNX export.
#ifndef ANOMALY_TRAIN_HEAD_PARTS_HPP
#define ANOMALY_TRAIN_HEAD_PARTS_HPP

#include "graph_emitter.hpp"
#include "head_options.hpp"
#include "torch_layers.hpp"

#include <array>
#include <string>
#include <vector>

namespace anomaly_train {

/** An attention operand at export time: a graph value, or a learned constant token map
[1, C, h, w] (prototypes, semantic queries, memory) that is folded into 1x1 Conv weights because
OpenCV 4.6 cannot take a constant MatMul operand. */
struct TokenSource
{
    std::string name;
    torch::Tensor constant;
    static TokenSource value(const std::string& n) { return {n, {}}; }
    static TokenSource fixed(const torch::Tensor& t) { return {"", t.detach()}; }
};

/** Exports attn(query, key, value) + mask; returns [N, C, hq, wq]. The forms the heads use: graph
query and value (with or without a mask: one Attention op), a constant query with a graph value
(AttentionPooling) or a constant value (a block-per-head 1x1 Conv); throws std::logic_error for a
graph query with a constant value and for a mask with a constant query. */
std::string exportAttention(GraphEmitter& g, AttentionImpl& attn, const TokenSource& query,
                            const std::string& key, const TokenSource& value,
                            const torch::Tensor& mask = {});
std::string exportLayerNorm(GraphEmitter& g, ChannelLayerNormImpl& norm, const std::string& x);
std::string exportMlp(GraphEmitter& g, MlpImpl& mlp, const std::string& x);
/** Exports a flow and its likelihood anomaly map 0.5 * mean_c z^2. */
std::string exportFlowMap(GraphEmitter& g, FlowImpl& flow, const std::string& x);
/** Mean over channels of (a - b)^2. */
std::string exportSquaredErrorMap(GraphEmitter& g, const std::string& a, const std::string& b);
/** Element-wise mean of maps of equal shape (Concat + 1x1 Conv with weights 1/k). */
std::string exportMeanOfMaps(GraphEmitter& g, const std::vector<std::string>& maps);
torch::Tensor meanOfMaps(const std::vector<torch::Tensor>& maps);

/** Fixed 2-D sin-cos position embedding [dim, h, w] (dim a multiple of 4). */
torch::Tensor sinCosPositionEmbedding(int64_t dim, int64_t h, int64_t w);
/** Additive attention mask [heads, T, T] hiding each token's (2r+1)^2 neighbourhood. */
torch::Tensor neighbourhoodMask(int64_t heads, int64_t h, int64_t w, int64_t radius);

/** Pools the three scales to the stride-16 grid, concatenates, projects to tokens, adds positions.
 */
class TokenEmbeddingImpl : public torch::nn::Module
{
public:
    TokenEmbeddingImpl(const HeadGeometry& geometry, int64_t dim);
    torch::Tensor forward(const std::vector<torch::Tensor>& features);
    std::string exportGraph(GraphEmitter& g, const std::vector<std::string>& features);
    HeadGeometry geometry;
    Pointwise project{nullptr};
    torch::Tensor position;
};
TORCH_MODULE(TokenEmbedding);

/** Per scale: LayerNorm -> 1x1 Conv to the scale's channels -> bilinear up to its resolution. */
class ScaleDecoderImpl : public torch::nn::Module
{
public:
    ScaleDecoderImpl(const HeadGeometry& geometry, int64_t dim);
    std::vector<torch::Tensor> forward(const torch::Tensor& tokens);
    /** The reconstructions of the given scales only (0, 1, 2 for strides 4, 8, 16), in their
    order: a head that reads fewer scales leaves the others' projections out of the graph. */
    std::vector<std::string> exportGraph(GraphEmitter& g, const std::string& tokens,
                                         const std::vector<int>& scales = {0, 1, 2});
    HeadGeometry geometry;
    ChannelLayerNorm norm{nullptr};
    torch::nn::ModuleList projections;
};
TORCH_MODULE(ScaleDecoder);

/** Local branch: self-attention over the image's own tokens. The first block has no residual from
its input and a neighbourhood mask, so a token is predicted from its context and an anomaly cannot
be copied through. */
class LocalBranchImpl : public torch::nn::Module
{
public:
    LocalBranchImpl(const HeadOptions& options, const HeadGeometry& geometry);
    torch::Tensor forward(const torch::Tensor& x);
    std::string exportGraph(GraphEmitter& g, const std::string& x);
    torch::nn::ModuleList norms1, attentions, norms2, mlps;
    torch::Tensor mask;
};
TORCH_MODULE(LocalBranch);

/** Global branch: M prototype tokens aggregate the image (P = P0 + Attn(P0, X, X), MLP), then one
semantic query token per position cross-attends to the prototypes only. */
class GlobalBranchImpl : public torch::nn::Module
{
public:
    GlobalBranchImpl(const HeadOptions& options, const HeadGeometry& geometry);
    torch::Tensor forward(const torch::Tensor& x);
    std::string exportGraph(GraphEmitter& g, const std::string& x);
    torch::Tensor prototypes, semanticQueries;
    ChannelLayerNorm aggregateNorm{nullptr}, prototypeNorm{nullptr}, prototypeKeyNorm{nullptr};
    Attention aggregate{nullptr};
    Mlp prototypeMlp{nullptr};
    torch::nn::ModuleList queryNorms, crossAttentions, norms2, mlps;
};
TORCH_MODULE(GlobalBranch);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_HEAD_PARTS_HPP
