// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "heads.hpp"

#include "head_parts.hpp"
#include "positional_whitening.hpp"

#include <stdexcept>

namespace anomaly_train {

namespace {

torch::Tensor reconstructionLoss(const std::vector<torch::Tensor>& features,
                                 const std::vector<torch::Tensor>& reconstructions)
{
    auto loss = torch::zeros({});
    for (size_t s = 0; s < features.size(); ++s)
        loss = loss + (features[s] - reconstructions[s]).pow(2).mean();
    return loss;
}

const std::vector<int> kAllScales{0, 1, 2};

/** Maps of the given scales (maps[i] at scales[i]) brought to the stride-4 grid and averaged. */
torch::Tensor fuseScales(const HeadGeometry& geom, const std::vector<torch::Tensor>& maps,
                         const std::vector<int>& scales = kAllScales)
{
    std::vector<torch::Tensor> up;
    for (size_t i = 0; i < maps.size(); ++i)
        up.push_back(upsample(maps[i], geom.upFactor(scales[i])));
    return meanOfMaps(up);
}

std::string exportFuseScales(GraphEmitter& g, const HeadGeometry& geom,
                             const std::vector<std::string>& maps,
                             const std::vector<int>& scales = kAllScales)
{
    StageScope stage(g, stage::kMaps);
    std::vector<std::string> up;
    for (size_t i = 0; i < maps.size(); ++i)
        up.push_back(g.upsample(maps[i], geom.upFactor(scales[i])));
    return exportMeanOfMaps(g, up);
}

std::vector<torch::Tensor> errorMaps(const std::vector<torch::Tensor>& features,
                                     const std::vector<torch::Tensor>& reconstructions)
{
    std::vector<torch::Tensor> maps;
    for (size_t s = 0; s < features.size(); ++s)
        maps.push_back(squaredErrorMap(features[s], reconstructions[s]));
    return maps;
}

std::vector<std::string> exportErrorMaps(GraphEmitter& g, const std::vector<std::string>& features,
                                         const std::vector<std::string>& reconstructions)
{
    std::vector<std::string> maps;
    for (size_t s = 0; s < features.size(); ++s)
        maps.push_back(exportSquaredErrorMap(g, features[s], reconstructions[s]));
    return maps;
}

/** Runs emit() with the emitter's stage set to stage, restoring the previous stage after. */
template <typename Emit>
auto exportInStage(GraphEmitter& g, const char* stage, Emit emit)
{
    StageScope scope(g, stage);
    return emit();
}

uint64_t flowSeed(int scale, int branch)
{
    return uint64_t(1000 + 100 * branch + 10 * scale);
}

/** lgnf (paper A): local and global reconstructions, one discrepancy flow per branch and flow
scale (HeadOptions::flowScales; HeadOptions::flowInput says what exactly the flows see). */
class LgnfHead : public AnomalyHeadImpl
{
public:
    LgnfHead(const HeadOptions& o, const HeadGeometry& geom) : options_(o), geometry_(geom)
    {
        if (o.flowScales.empty())
            throw std::invalid_argument("lgnf needs at least one flow scale");
        embed_ = register_module("embed", TokenEmbedding(geom, o.dim));
        local_ = register_module("local_branch", LocalBranch(o, geom));
        global_ = register_module("global_branch", GlobalBranch(o, geom));
        localDecoder_ = register_module("local_decoder", ScaleDecoder(geom, o.dim));
        globalDecoder_ = register_module("global_decoder", ScaleDecoder(geom, o.dim));
        flows_ = register_module("flows", torch::nn::ModuleList());
        const bool withFeatures = o.flowInput == FlowInput::DiscrepancyWithFeatures ||
                                  o.flowInput == FlowInput::WhitenedWithDiscrepancy;
        const int64_t factor = withFeatures ? 2 : 1;
        if (o.flowInput == FlowInput::WhitenedWithDiscrepancy) {
            whitening_ = register_module("whitening", torch::nn::ModuleList());
            for (int s : o.flowScales)
                whitening_->push_back(
                    PositionalWhitening(geom.channels[s], geom.heights[s], geom.widths[s]));
        }
        for (int branch = 0; branch < 2; ++branch)
            for (int s : o.flowScales)
                flows_->push_back(Flow(factor * geom.channels[s], o.flowBlocks, o.flowClamp,
                                       flowSeed(s, branch)));
    }

    HeadOutput forward(const std::vector<torch::Tensor>& features) override
    {
        const auto x = embed_(features);
        const auto recLocal = localDecoder_(local_(x));
        const auto recGlobal = globalDecoder_(global_(x));
        HeadOutput out;
        out.loss = reconstructionLoss(features, recLocal) + reconstructionLoss(features, recGlobal);
        const auto seen = featuresSeenByFlows(features);
        std::vector<torch::Tensor> maps[2];
        for (int branch = 0; branch < 2; ++branch) {
            const auto& rec = branch == 0 ? recLocal : recGlobal;
            for (size_t i = 0; i < scales().size(); ++i) {
                const auto s = size_t(scales()[i]);
                // The flow models the discrepancy; it does not train the transformer.
                const auto d = flowInput(seen[i], features[s].detach(), rec[s].detach());
                auto [z, logDet] = flowOf(branch, i).forward(d);
                out.loss = out.loss + options_.flowLossWeight * flowNll(z, logDet);
                maps[branch].push_back(likelihoodAnomalyMap(z));
            }
        }
        out.localMap = fuseScales(geometry_, maps[0], scales());
        out.globalMap = fuseScales(geometry_, maps[1], scales());
        out.anomalyMap = meanOfMaps({out.localMap, out.globalMap});
        return out;
    }

    ExportedMaps exportGraph(GraphEmitter& g, const std::vector<std::string>& features) override
    {
        const auto x = embed_->exportGraph(g, features);
        const auto recLocal = exportInStage(g, stage::kLocal, [&] {
            return localDecoder_->exportGraph(g, local_->exportGraph(g, x), scales());
        });
        const auto recGlobal = exportInStage(g, stage::kGlobal, [&] {
            return globalDecoder_->exportGraph(g, global_->exportGraph(g, x), scales());
        });
        const auto seen =
            exportInStage(g, stage::kFlow, [&] { return exportFeaturesSeenByFlows(g, features); });
        std::vector<std::string> maps[2];
        for (int branch = 0; branch < 2; ++branch) {
            const auto& rec = branch == 0 ? recLocal : recGlobal;
            for (size_t i = 0; i < scales().size(); ++i) {
                const auto d = exportInStage(g, stage::kFlow, [&] {
                    return exportFlowInput(g, seen[i], features[size_t(scales()[i])], rec[i]);
                });
                maps[branch].push_back(exportFlowMap(g, flowOf(branch, i), d));
            }
        }
        ExportedMaps out;
        out.localMap = exportFuseScales(g, geometry_, maps[0], scales());
        out.globalMap = exportFuseScales(g, geometry_, maps[1], scales());
        out.anomalyMap = exportInStage(g, stage::kMaps, [&] {
            return exportMeanOfMaps(g, {out.localMap, out.globalMap});
        });
        return out;
    }

    void fitFeatureStatistics(const std::vector<torch::Tensor>& features) override
    {
        if (whitening_)
            for (size_t i = 0; i < scales().size(); ++i)
                whitening_->at<PositionalWhiteningImpl>(i).fit(features[size_t(scales()[i])]);
    }

private:
    const std::vector<int>& scales() const { return options_.flowScales; }

    /** The flow of a branch (0 local, 1 global) at the i-th flow scale. */
    FlowImpl& flowOf(int branch, size_t i)
    {
        return *flows_[size_t(branch) * scales().size() + i]->as<Flow>();
    }

    /** Per flow scale, the features as the flows see them: whitened by position where the flow
    input says so (computed once for both branches), else as they are. */
    std::vector<torch::Tensor> featuresSeenByFlows(const std::vector<torch::Tensor>& features) const
    {
        std::vector<torch::Tensor> seen;
        for (size_t i = 0; i < scales().size(); ++i) {
            const auto f = features[size_t(scales()[i])].detach();
            seen.push_back(whitening_ ? whiteningOf(i).forward(f) : f);
        }
        return seen;
    }

    std::vector<std::string> exportFeaturesSeenByFlows(
        GraphEmitter& g, const std::vector<std::string>& features) const
    {
        std::vector<std::string> seen;
        for (size_t i = 0; i < scales().size(); ++i) {
            const auto& f = features[size_t(scales()[i])];
            seen.push_back(whitening_ ? whiteningOf(i).exportGraph(g, f) : f);
        }
        return seen;
    }

    const PositionalWhiteningImpl& whiteningOf(size_t i) const
    {
        return whitening_->at<PositionalWhiteningImpl>(i);
    }

    /** What one flow sees (HeadOptions::flowInput) from the features F, the features as the flows
    see them (featuresSeenByFlows) and the branch's reconstruction R. */
    torch::Tensor flowInput(const torch::Tensor& seen, const torch::Tensor& f,
                            const torch::Tensor& rec) const
    {
        const auto d = f - rec;
        switch (options_.flowInput) {
            case FlowInput::Discrepancy:
                break;
            case FlowInput::DiscrepancyWithFeatures:
            case FlowInput::WhitenedWithDiscrepancy:
                return torch::cat({seen, d}, 1);
            case FlowInput::AbsoluteDiscrepancy:
                return d.abs();
        }
        return d;
    }

    std::string exportFlowInput(GraphEmitter& g, const std::string& seen, const std::string& f,
                                const std::string& rec) const
    {
        const auto d = g.binary("Sub", f, rec);
        switch (options_.flowInput) {
            case FlowInput::Discrepancy:
                break;
            case FlowInput::DiscrepancyWithFeatures:
            case FlowInput::WhitenedWithDiscrepancy:
                return g.concatChannels({seen, d});
            case FlowInput::AbsoluteDiscrepancy:
                return g.unary("Abs", d);
        }
        return d;
    }

    HeadOptions options_;
    HeadGeometry geometry_;
    TokenEmbedding embed_{nullptr};
    LocalBranch local_{nullptr};
    GlobalBranch global_{nullptr};
    ScaleDecoder localDecoder_{nullptr}, globalDecoder_{nullptr};
    torch::nn::ModuleList flows_{nullptr};
    torch::nn::ModuleList whitening_{nullptr};  // per flow scale, with WhitenedWithDiscrepancy
};

/** dadf (paper B): shared-weight dual-attention blocks over image tokens and per-position memory
tokens; one flow per scale on concat(F, F_local, F_global). */
class DadfHead : public AnomalyHeadImpl
{
public:
    DadfHead(const HeadOptions& o, const HeadGeometry& geom) : options_(o), geometry_(geom)
    {
        embed_ = register_module("embed", TokenEmbedding(geom, o.dim));
        memory_ = register_parameter(
            "memory", torch::randn({1, o.dim, geom.tokenHeight(), geom.tokenWidth()}) * 0.02);
        norms1_ = register_module("norms1", torch::nn::ModuleList());
        attentions_ = register_module("attentions", torch::nn::ModuleList());
        norms2_ = register_module("norms2", torch::nn::ModuleList());
        mlps_ = register_module("mlps", torch::nn::ModuleList());
        for (int64_t i = 0; i < o.dualBlocks; ++i) {
            norms1_->push_back(ChannelLayerNorm(o.dim));
            attentions_->push_back(Attention(o.dim, o.heads));
            norms2_->push_back(ChannelLayerNorm(o.dim));
            mlps_->push_back(Mlp(o.dim, o.dim * o.mlpRatio));
        }
        decoder_ = register_module("decoder", ScaleDecoder(geom, o.dim));
        flows_ = register_module("flows", torch::nn::ModuleList());
        for (int s = 0; s < 3; ++s)
            flows_->push_back(
                Flow(3 * geom.channels[s], o.flowBlocks, o.flowClamp, flowSeed(s, 0)));
    }

    HeadOutput forward(const std::vector<torch::Tensor>& features) override
    {
        auto x = embed_(features);
        auto m = memory_;
        for (size_t i = 0; i < attentions_->size(); ++i) {
            auto& norm1 = *norms1_[i]->as<ChannelLayerNorm>();
            auto& attn = *attentions_[i]->as<Attention>();
            auto& norm2 = *norms2_[i]->as<ChannelLayerNorm>();
            auto& mlp = *mlps_[i]->as<Mlp>();
            const auto xn = norm1.forward(x);
            const auto mn = norm1.forward(m);
            const auto local = attn.forward(xn, xn, xn);
            const auto global =
                attn.forward(mn, xn, mn);  // memory queries, image keys, memory values
            x = x + local;
            m = m + global;
            x = x + mlp.forward(norm2.forward(x));
            m = m + mlp.forward(norm2.forward(m));
        }
        const auto recLocal = decoder_(x);
        const auto recGlobal = decoder_(m);
        HeadOutput out;
        out.loss = reconstructionLoss(features, recLocal) + reconstructionLoss(features, recGlobal);
        std::vector<torch::Tensor> maps;
        for (int s = 0; s < 3; ++s) {
            const auto in =
                torch::cat({features[size_t(s)], recLocal[size_t(s)], recGlobal[size_t(s)]}, 1)
                    .detach();
            auto [z, logDet] = flows_[size_t(s)]->as<Flow>()->forward(in);
            out.loss = out.loss + options_.flowLossWeight * flowNll(z, logDet);
            maps.push_back(likelihoodAnomalyMap(z));
        }
        out.anomalyMap = fuseScales(geometry_, maps);
        out.localMap = fuseScales(geometry_, errorMaps(features, recLocal));
        out.globalMap = fuseScales(geometry_, errorMaps(features, recGlobal));
        return out;
    }

    ExportedMaps exportGraph(GraphEmitter& g, const std::vector<std::string>& features) override
    {
        torch::NoGradGuard noGrad;
        StageScope restore(g, g.stage());
        auto x = embed_->exportGraph(g, features);
        std::string m;  // empty while the memory stream is still the constant memory_
        for (size_t i = 0; i < attentions_->size(); ++i) {
            auto& norm1 = *norms1_[i]->as<ChannelLayerNorm>();
            auto& attn = *attentions_[i]->as<Attention>();
            auto& norm2 = *norms2_[i]->as<ChannelLayerNorm>();
            auto& mlp = *mlps_[i]->as<Mlp>();
            // The image stream x is the local branch, the memory stream m the global one.
            g.setStage(stage::kLocal);
            const auto xn = exportLayerNorm(g, norm1, x);
            g.setStage(stage::kGlobal);
            const TokenSource mn = m.empty() ? TokenSource::fixed(norm1.forward(memory_))
                                             : TokenSource::value(exportLayerNorm(g, norm1, m));
            g.setStage(stage::kLocal);
            const auto local =
                exportAttention(g, attn, TokenSource::value(xn), xn, TokenSource::value(xn));
            x = g.binary("Add", x, local);
            x = g.binary("Add", x, exportMlp(g, mlp, exportLayerNorm(g, norm2, x)));
            g.setStage(stage::kGlobal);
            const auto global = exportAttention(g, attn, mn, xn, mn);
            m = m.empty() ? g.binaryConstant("Add", global, memory_[0])
                          : g.binary("Add", m, global);
            m = g.binary("Add", m, exportMlp(g, mlp, exportLayerNorm(g, norm2, m)));
        }
        g.setStage(stage::kLocal);
        const auto recLocal = decoder_->exportGraph(g, x);
        g.setStage(stage::kGlobal);
        const auto recGlobal = decoder_->exportGraph(g, m);
        g.setStage(stage::kFlow);
        std::vector<std::string> maps;
        for (int s = 0; s < 3; ++s) {
            const auto in =
                g.concatChannels({features[size_t(s)], recLocal[size_t(s)], recGlobal[size_t(s)]});
            maps.push_back(exportFlowMap(g, *flows_[size_t(s)]->as<Flow>(), in));
        }
        ExportedMaps out;
        out.anomalyMap = exportFuseScales(g, geometry_, maps);
        out.localMap = exportFuseScales(g, geometry_, exportErrorMaps(g, features, recLocal));
        out.globalMap = exportFuseScales(g, geometry_, exportErrorMaps(g, features, recGlobal));
        return out;
    }

private:
    HeadOptions options_;
    HeadGeometry geometry_;
    TokenEmbedding embed_{nullptr};
    torch::Tensor memory_;
    torch::nn::ModuleList norms1_{nullptr}, attentions_{nullptr}, norms2_{nullptr}, mlps_{nullptr};
    ScaleDecoder decoder_{nullptr};
    torch::nn::ModuleList flows_{nullptr};
};

/** lgfdr (paper C): local and global towers trained to denoise jittered tokens, fused by a learned
per-pixel, per-channel gate; scores are reconstruction errors, no flow. */
class LgfdrHead : public AnomalyHeadImpl
{
public:
    LgfdrHead(const HeadOptions& o, const HeadGeometry& geom) : options_(o), geometry_(geom)
    {
        embed_ = register_module("embed", TokenEmbedding(geom, o.dim));
        local_ = register_module("local_branch", LocalBranch(o, geom));
        global_ = register_module("global_branch", GlobalBranch(o, geom));
        gate_ = register_module("gate", Pointwise(2 * o.dim, o.dim));
        decoder_ = register_module("decoder", ScaleDecoder(geom, o.dim));
    }

    HeadOutput forward(const std::vector<torch::Tensor>& features) override
    {
        auto x = embed_(features);
        if (is_training()) {
            // UniAD feature jitter: N(0, (|x| / C * scale)^2) per token.
            const auto sigma = x.norm(2, 1, true) / double(x.size(1)) * options_.noiseScale;
            x = x + torch::randn_like(x) * sigma;
        }
        const auto l = local_(x);
        const auto gl = global_(x);
        const auto w = torch::sigmoid(gate_(torch::cat({l, gl}, 1)));
        const auto fused = gl + w * (l - gl);
        const auto recLocal = decoder_(l);
        const auto recGlobal = decoder_(gl);
        const auto recFused = decoder_(fused);
        HeadOutput out;
        out.loss = reconstructionLoss(features, recLocal) +
                   reconstructionLoss(features, recGlobal) + reconstructionLoss(features, recFused);
        out.anomalyMap = fuseScales(geometry_, errorMaps(features, recFused));
        out.localMap = fuseScales(geometry_, errorMaps(features, recLocal));
        out.globalMap = fuseScales(geometry_, errorMaps(features, recGlobal));
        return out;
    }

    ExportedMaps exportGraph(GraphEmitter& g, const std::vector<std::string>& features) override
    {
        const auto x = embed_->exportGraph(g, features);
        const auto l = local_->exportGraph(g, x);
        const auto gl = global_->exportGraph(g, x);
        const auto recFused = exportInStage(g, stage::kFlow, [&] {
            const auto w = g.unary(
                "Sigmoid", g.pointwise(g.concatChannels({l, gl}), gate_->weight, gate_->bias));
            const auto fused = g.binary("Add", gl, g.binary("Mul", w, g.binary("Sub", l, gl)));
            return decoder_->exportGraph(g, fused);
        });
        const auto recLocal =
            exportInStage(g, stage::kLocal, [&] { return decoder_->exportGraph(g, l); });
        const auto recGlobal =
            exportInStage(g, stage::kGlobal, [&] { return decoder_->exportGraph(g, gl); });
        ExportedMaps out;
        out.anomalyMap = exportFuseScales(g, geometry_, exportErrorMaps(g, features, recFused));
        out.localMap = exportFuseScales(g, geometry_, exportErrorMaps(g, features, recLocal));
        out.globalMap = exportFuseScales(g, geometry_, exportErrorMaps(g, features, recGlobal));
        return out;
    }

private:
    HeadOptions options_;
    HeadGeometry geometry_;
    TokenEmbedding embed_{nullptr};
    LocalBranch local_{nullptr};
    GlobalBranch global_{nullptr};
    Pointwise gate_{nullptr};
    ScaleDecoder decoder_{nullptr};
};

}  // namespace

std::shared_ptr<AnomalyHeadImpl> makeHead(const HeadOptions& options, const HeadGeometry& geometry)
{
    switch (options.preset) {
        case Preset::Lgnf:
            return std::make_shared<LgnfHead>(options, geometry);
        case Preset::Dadf:
            return std::make_shared<DadfHead>(options, geometry);
        case Preset::Lgfdr:
            return std::make_shared<LgfdrHead>(options, geometry);
    }
    throw std::invalid_argument("unknown preset");
}

double headFlops(AnomalyHeadImpl& head, const HeadGeometry& geometry)
{
    anomaly_export::OnnxGraphBuilder builder("flop_count");
    GraphEmitter g(builder);
    std::vector<std::string> features;
    for (int s = 0; s < 3; ++s) {
        features.push_back("feat" + std::to_string(s));
        builder.addInput(features.back(),
                         {-1, geometry.channels[s], geometry.heights[s], geometry.widths[s]});
        g.declare(features.back(),
                  {1, geometry.channels[s], geometry.heights[s], geometry.widths[s]});
    }
    head.exportGraph(g, features);
    return g.flops();
}

}  // namespace anomaly_train
