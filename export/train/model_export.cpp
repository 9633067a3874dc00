// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "model_export.hpp"

#include "feature_cache.hpp"

namespace anomaly_train {

namespace {

/** Renames a value everywhere it is produced or consumed. */
void renameValue(onnx::GraphProto& graph, const std::string& from, const std::string& to)
{
    for (auto& node : *graph.mutable_node()) {
        for (auto& in : *node.mutable_input())
            if (in == from)
                in = to;
        for (auto& out : *node.mutable_output())
            if (out == from)
                out = to;
    }
}

/** Prefixes every backbone node's name with "backbone/" (unnamed nodes are named after their
first output), so a per-layer profile can tell backbone from head time. */
void prefixBackboneNodeNames(onnx::GraphProto& graph)
{
    for (auto& node : *graph.mutable_node()) {
        const std::string& base =
            node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name();
        node.set_name(std::string(stage::kBackbone) + "/" + base);
    }
}

}  // namespace

std::unique_ptr<anomaly_export::OnnxGraphBuilder> buildMergedModel(
    const onnx::ModelProto& backbone, AnomalyHeadImpl& head, const HeadGeometry& geometry,
    const StatisticsScoreImpl* statistics)
{
    torch::NoGradGuard noGrad;
    onnx::ModelProto renamed = backbone;
    prefixBackboneNodeNames(*renamed.mutable_graph());
    auto builder = std::make_unique<anomaly_export::OnnxGraphBuilder>(std::move(renamed));
    GraphEmitter g(*builder);
    std::vector<std::string> features;
    for (int s = 0; s < 3; ++s) {
        builder->removeOutput(kFeatureOutputs[s]);
        features.push_back(kFeatureOutputs[s]);
        g.declare(features.back(),
                  {1, geometry.channels[s], geometry.heights[s], geometry.widths[s]});
    }
    const ExportedMaps maps = head.exportGraph(g, features);
    auto& graph = *builder->model().mutable_graph();
    renameValue(graph, maps.anomalyMap, "anomaly_map");
    renameValue(graph, maps.localMap, "local_map");
    renameValue(graph, maps.globalMap, "global_map");
    for (const char* name : {"anomaly_map", "local_map", "global_map"})
        builder->addOutput(name, {-1, 1, geometry.mapHeight(), geometry.mapWidth()});
    if (!maps.scoreMap.empty()) {
        renameValue(graph, maps.scoreMap, "score_map");
        builder->addOutput("score_map", {-1, 1, geometry.mapHeight(), geometry.mapWidth()});
    }
    if (statistics) {
        renameValue(graph, statistics->exportGraph(g, features[2]), "statistics_score");
        builder->addOutput("statistics_score", {-1, 1, 1, 1});
    }
    return builder;
}

}  // namespace anomaly_train
