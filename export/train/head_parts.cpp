// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "head_parts.hpp"

#include <cmath>

namespace anomaly_train {

namespace {

/** Query projection of a constant token map, scaled by 1/sqrt(d): [heads, T, d]. */
torch::Tensor constantQueries(AttentionImpl& attn, const torch::Tensor& tokens)
{
    torch::NoGradGuard noGrad;
    const int64_t dim = tokens.size(1), headDim = dim / attn.heads;
    const int64_t t = tokens.size(2) * tokens.size(3);
    return attn.query(tokens).reshape({attn.heads, headDim, t}).transpose(1, 2) /
           std::sqrt(double(headDim));
}

/** Value projection of a constant token map: [heads, d, T]. */
torch::Tensor constantValues(AttentionImpl& attn, const torch::Tensor& tokens)
{
    torch::NoGradGuard noGrad;
    const int64_t dim = tokens.size(1), headDim = dim / attn.heads;
    return attn.value(tokens).reshape({attn.heads, headDim, tokens.size(2) * tokens.size(3)});
}

}  // namespace

std::string exportAttention(GraphEmitter& g, AttentionImpl& attn, const TokenSource& query,
                            const std::string& key, const TokenSource& value,
                            const torch::Tensor& mask)
{
    torch::NoGradGuard noGrad;
    const Shape keyShape = g.shape(key);
    const int64_t dim = keyShape[1], heads = attn.heads, headDim = dim / heads;
    const int64_t tk = keyShape[2] * keyShape[3];
    const double scale = 1.0 / std::sqrt(double(headDim));

    if (!query.constant.defined() && !value.constant.defined()) {
        const auto q =
            g.pointwise(query.name, attn.query->weight * scale, attn.query->bias * scale);
        const auto k = g.pointwise(key, attn.key->weight, attn.key->bias);
        const auto v = g.pointwise(value.name, attn.value->weight, attn.value->bias);
        // The op takes one [Tq, Tk] mask for all heads.
        if (mask.defined() && !torch::equal(mask, mask[0].expand_as(mask)))
            throw std::logic_error("exportAttention: the mask differs between heads");
        const auto attended =
            g.attention(q, k, v, heads, mask.defined() ? mask[0].contiguous() : torch::Tensor());
        return g.pointwise(attended, attn.out->weight, attn.out->bias);
    }
    // The heads' constant queries: prototypes, semantic queries, memory tokens.
    if (!query.constant.defined() || mask.defined())
        throw std::logic_error(
            "exportAttention: graph queries with constant values, or a mask "
            "with constant queries (no head has them)");
    const int64_t hq = query.constant.size(2), wq = query.constant.size(3), tq = hq * wq;
    // scores[h,t,:] = Q_h[t] . (Wk_h x + bk_h) = (Q_h Wk_h) x + Q_h bk_h: one 1x1 Conv on x.
    const auto q = constantQueries(attn, query.constant);             // [h, Tq, d]
    const auto wk = attn.key->weight.reshape({heads, headDim, dim});  // [h, d, C]
    const auto bk = attn.key->bias.reshape({heads, headDim, 1});      // [h, d, 1]
    const auto logits = g.pointwise(key, torch::bmm(q, wk).reshape({heads * tq, dim}),
                                    torch::bmm(q, bk).reshape({heads * tq}));

    std::string attended;  // [N, C, hq, wq]
    if (value.constant.defined()) {
        // out[h*d+e, t] = sum_k A[h,t,k] V[h,e,k]: a 1x1 Conv with a block-per-head weight over
        // the attention weights laid out as channels (h*Tk + k).
        const auto weights = g.softmaxLastAxis(g.reshape(logits, {0, heads, tq, tk}));
        const auto v = constantValues(attn, value.constant);  // [h, d, Tk]
        auto w = torch::zeros({dim, heads * tk});
        for (int64_t h = 0; h < heads; ++h)
            w.slice(0, h * headDim, (h + 1) * headDim).slice(1, h * tk, (h + 1) * tk).copy_(v[h]);
        const auto weightsT = g.reshape(g.transposeLast2(weights), {0, heads * tk, tq, 1});
        attended = g.reshape(g.pointwise(weightsT, w, {}), {0, dim, hq, wq});
    } else {
        const auto v = g.pointwise(value.name, attn.value->weight, attn.value->bias);
        attended = g.attentionPooling(logits, v, heads);  // [N, C, Tq, 1]
        if (wq != 1)
            attended = g.reshape(attended, {0, dim, hq, wq});
    }
    return g.pointwise(attended, attn.out->weight, attn.out->bias);
}

std::string exportLayerNorm(GraphEmitter& g, ChannelLayerNormImpl& norm, const std::string& x)
{
    return g.layerNorm(x, norm.gamma, norm.beta, norm.epsilon);
}

std::string exportMlp(GraphEmitter& g, MlpImpl& mlp, const std::string& x)
{
    const auto h = g.unary("Relu", g.pointwise(x, mlp.fc1->weight, mlp.fc1->bias));
    return g.pointwise(h, mlp.fc2->weight, mlp.fc2->bias);
}

std::string exportFlowMap(GraphEmitter& g, FlowImpl& flow, const std::string& x)
{
    torch::NoGradGuard noGrad;
    StageScope stage(g, stage::kFlow);
    std::string z = x;
    for (const auto& module : *flow.blocks) {
        auto& block = *module->as<CouplingBlock>();
        // The subnet's output factor 0.1 is folded into its last layer.
        z = g.affineCoupling(
            z, {block.depthwise->weight, block.depthwise->bias, block.project->weight * 0.1,
                block.project->bias * 0.1, block.globalScale(), block.offset, block.permutation,
                float(block.clamp), float(CouplingBlockImpl::kSubnetSlope)});
    }
    return g.meanSquaredDifference(z, "", 0.5f);
}

std::string exportSquaredErrorMap(GraphEmitter& g, const std::string& a, const std::string& b)
{
    StageScope stage(g, stage::kMaps);
    return g.meanSquaredDifference(a, b, 1.f);
}

std::string exportMeanOfMaps(GraphEmitter& g, const std::vector<std::string>& maps)
{
    if (maps.size() == 1)
        return maps.front();
    const int64_t k = int64_t(maps.size());
    return g.pointwise(g.concatChannels(maps), torch::full({1, k}, 1.f / float(k)),
                       torch::zeros({1}));
}

torch::Tensor meanOfMaps(const std::vector<torch::Tensor>& maps)
{
    return torch::cat(maps, 1).mean(1, true);
}

torch::Tensor sinCosPositionEmbedding(int64_t dim, int64_t h, int64_t w)
{
    if (dim % 4 != 0)
        throw std::invalid_argument("token width must be a multiple of 4");
    const int64_t quarter = dim / 4;
    const auto omega =
        torch::pow(10000.0, -torch::arange(quarter, torch::kDouble) / double(quarter));
    const auto ys = torch::arange(h, torch::kDouble).view({h, 1, 1}) * omega.view({1, 1, -1});
    const auto xs = torch::arange(w, torch::kDouble).view({1, w, 1}) * omega.view({1, 1, -1});
    const auto emb =
        torch::cat({torch::sin(ys).expand({h, w, quarter}), torch::cos(ys).expand({h, w, quarter}),
                    torch::sin(xs).expand({h, w, quarter}), torch::cos(xs).expand({h, w, quarter})},
                   2);  // [h, w, dim]
    return emb.permute({2, 0, 1}).contiguous().to(torch::kFloat);
}

torch::Tensor neighbourhoodMask(int64_t heads, int64_t h, int64_t w, int64_t radius)
{
    const int64_t t = h * w;
    auto mask = torch::zeros({t, t});
    auto acc = mask.accessor<float, 2>();
    for (int64_t q = 0; q < t; ++q)
        for (int64_t k = 0; k < t; ++k)
            if (std::abs(q / w - k / w) <= radius && std::abs(q % w - k % w) <= radius)
                acc[q][k] = -1e4f;  // finite: softmax stays defined, weight underflows to 0
    return mask.unsqueeze(0).repeat({heads, 1, 1}).contiguous();
}

TokenEmbeddingImpl::TokenEmbeddingImpl(const HeadGeometry& geom, int64_t dim) : geometry(geom)
{
    const int64_t in = geom.channels[0] + geom.channels[1] + geom.channels[2];
    project = register_module("project", Pointwise(in, dim));
    position = register_buffer("position",
                               sinCosPositionEmbedding(dim, geom.tokenHeight(), geom.tokenWidth()));
}

torch::Tensor TokenEmbeddingImpl::forward(const std::vector<torch::Tensor>& features)
{
    std::vector<torch::Tensor> pooled;
    for (int s = 0; s < 3; ++s) {
        const int64_t f = geometry.heights[s] / geometry.tokenHeight();
        pooled.push_back(f == 1 ? features[size_t(s)]
                                : torch::avg_pool2d(features[size_t(s)], f, f));
    }
    return project(torch::cat(pooled, 1)) + position.unsqueeze(0);
}

std::string TokenEmbeddingImpl::exportGraph(GraphEmitter& g,
                                            const std::vector<std::string>& features)
{
    StageScope stage(g, stage::kTokens);
    std::vector<std::string> pooled;
    for (int s = 0; s < 3; ++s)
        pooled.push_back(
            g.averagePool(features[size_t(s)], geometry.heights[s] / geometry.tokenHeight()));
    const auto x = g.pointwise(g.concatChannels(pooled), project->weight, project->bias);
    return g.binaryConstant("Add", x, position);
}

ScaleDecoderImpl::ScaleDecoderImpl(const HeadGeometry& geom, int64_t dim) : geometry(geom)
{
    norm = register_module("norm", ChannelLayerNorm(dim));
    projections = register_module("projections", torch::nn::ModuleList());
    for (int s = 0; s < 3; ++s)
        projections->push_back(Pointwise(dim, geom.channels[s]));
}

std::vector<torch::Tensor> ScaleDecoderImpl::forward(const torch::Tensor& tokens)
{
    const auto n = norm(tokens);
    std::vector<torch::Tensor> out;
    for (int s = 0; s < 3; ++s)
        out.push_back(upsample(projections[s]->as<Pointwise>()->forward(n),
                               geometry.heights[s] / geometry.tokenHeight()));
    return out;
}

std::vector<std::string> ScaleDecoderImpl::exportGraph(GraphEmitter& g, const std::string& tokens,
                                                       const std::vector<int>& scales)
{
    const auto n = exportLayerNorm(g, *norm, tokens);
    std::vector<std::string> out;
    for (int s : scales) {
        auto& p = *projections[s]->as<Pointwise>();
        out.push_back(g.upsample(g.pointwise(n, p.weight, p.bias),
                                 geometry.heights[s] / geometry.tokenHeight()));
    }
    return out;
}

LocalBranchImpl::LocalBranchImpl(const HeadOptions& o, const HeadGeometry& geom)
{
    norms1 = register_module("norms1", torch::nn::ModuleList());
    attentions = register_module("attentions", torch::nn::ModuleList());
    norms2 = register_module("norms2", torch::nn::ModuleList());
    mlps = register_module("mlps", torch::nn::ModuleList());
    for (int64_t i = 0; i < o.localBlocks; ++i) {
        norms1->push_back(ChannelLayerNorm(o.dim));
        attentions->push_back(Attention(o.dim, o.heads));
        norms2->push_back(ChannelLayerNorm(o.dim));
        mlps->push_back(Mlp(o.dim, o.dim * o.mlpRatio));
    }
    mask = register_buffer(
        "mask", neighbourhoodMask(o.heads, geom.tokenHeight(), geom.tokenWidth(), o.maskRadius));
}

torch::Tensor LocalBranchImpl::forward(const torch::Tensor& x)
{
    auto y = x;
    for (size_t i = 0; i < attentions->size(); ++i) {
        const auto n = norms1[i]->as<ChannelLayerNorm>()->forward(y);
        const auto a = attentions[i]->as<Attention>()->forward(n, n, n, mask);
        y = i == 0 ? a : y + a;
        y = y + mlps[i]->as<Mlp>()->forward(norms2[i]->as<ChannelLayerNorm>()->forward(y));
    }
    return y;
}

std::string LocalBranchImpl::exportGraph(GraphEmitter& g, const std::string& x)
{
    StageScope stage(g, stage::kLocal);
    std::string y = x;
    for (size_t i = 0; i < attentions->size(); ++i) {
        const auto n = exportLayerNorm(g, *norms1[i]->as<ChannelLayerNorm>(), y);
        const auto a = exportAttention(g, *attentions[i]->as<Attention>(), TokenSource::value(n), n,
                                       TokenSource::value(n), mask);
        y = i == 0 ? a : g.binary("Add", y, a);
        const auto m = exportMlp(g, *mlps[i]->as<Mlp>(),
                                 exportLayerNorm(g, *norms2[i]->as<ChannelLayerNorm>(), y));
        y = g.binary("Add", y, m);
    }
    return y;
}

GlobalBranchImpl::GlobalBranchImpl(const HeadOptions& o, const HeadGeometry& geom)
{
    prototypes = register_parameter("prototypes", torch::randn({1, o.dim, o.prototypes, 1}) * 0.02);
    semanticQueries = register_parameter(
        "semantic_queries", torch::randn({1, o.dim, geom.tokenHeight(), geom.tokenWidth()}) * 0.02);
    aggregateNorm = register_module("aggregate_norm", ChannelLayerNorm(o.dim));
    aggregate = register_module("aggregate", Attention(o.dim, o.heads));
    prototypeNorm = register_module("prototype_norm", ChannelLayerNorm(o.dim));
    prototypeMlp = register_module("prototype_mlp", Mlp(o.dim, o.dim * o.mlpRatio));
    prototypeKeyNorm = register_module("prototype_key_norm", ChannelLayerNorm(o.dim));
    queryNorms = register_module("query_norms", torch::nn::ModuleList());
    crossAttentions = register_module("cross_attentions", torch::nn::ModuleList());
    norms2 = register_module("norms2", torch::nn::ModuleList());
    mlps = register_module("mlps", torch::nn::ModuleList());
    for (int64_t i = 0; i < o.globalBlocks; ++i) {
        if (i > 0)  // block 0's queries are the learned semantic queries themselves
            queryNorms->push_back(ChannelLayerNorm(o.dim));
        crossAttentions->push_back(Attention(o.dim, o.heads));
        norms2->push_back(ChannelLayerNorm(o.dim));
        mlps->push_back(Mlp(o.dim, o.dim * o.mlpRatio));
    }
}

torch::Tensor GlobalBranchImpl::forward(const torch::Tensor& x)
{
    const auto xn = aggregateNorm(x);
    auto p = prototypes + aggregate(prototypes, xn, xn);
    p = p + prototypeMlp(prototypeNorm(p));
    const auto pn = prototypeKeyNorm(p);
    torch::Tensor y;
    for (size_t i = 0; i < crossAttentions->size(); ++i) {
        const auto q =
            i == 0 ? semanticQueries : queryNorms[i - 1]->as<ChannelLayerNorm>()->forward(y);
        const auto a = crossAttentions[i]->as<Attention>()->forward(q, pn, pn);
        y = i == 0 ? a : y + a;
        y = y + mlps[i]->as<Mlp>()->forward(norms2[i]->as<ChannelLayerNorm>()->forward(y));
    }
    return y;
}

std::string GlobalBranchImpl::exportGraph(GraphEmitter& g, const std::string& x)
{
    torch::NoGradGuard noGrad;
    StageScope stage(g, stage::kGlobal);
    const auto xn = exportLayerNorm(g, *aggregateNorm, x);
    auto p =
        exportAttention(g, *aggregate, TokenSource::fixed(prototypes), xn, TokenSource::value(xn));
    p = g.binaryConstant("Add", p, prototypes[0]);
    p = g.binary("Add", p, exportMlp(g, *prototypeMlp, exportLayerNorm(g, *prototypeNorm, p)));
    const auto pn = exportLayerNorm(g, *prototypeKeyNorm, p);
    std::string y;
    for (size_t i = 0; i < crossAttentions->size(); ++i) {
        const auto q = i == 0 ? TokenSource::fixed(semanticQueries)
                              : TokenSource::value(exportLayerNorm(
                                    g, *queryNorms[i - 1]->as<ChannelLayerNorm>(), y));
        const auto a =
            exportAttention(g, *crossAttentions[i]->as<Attention>(), q, pn, TokenSource::value(pn));
        y = i == 0 ? a : g.binary("Add", y, a);
        y = g.binary("Add", y,
                     exportMlp(g, *mlps[i]->as<Mlp>(),
                               exportLayerNorm(g, *norms2[i]->as<ChannelLayerNorm>(), y)));
    }
    return y;
}

}  // namespace anomaly_train
