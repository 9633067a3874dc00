// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Merges the backbone graph and the trained head into one model file (doc/model-format.md).
#ifndef ANOMALY_TRAIN_MODEL_EXPORT_HPP
#define ANOMALY_TRAIN_MODEL_EXPORT_HPP

#include "heads.hpp"
#include "statistics_score.hpp"

#include <onnx_graph.hpp>

#include <memory>

namespace anomaly_train {

/** Backbone graph without its feature outputs, the head's nodes, and the outputs anomaly_map,
local_map, global_map [N, 1, h, w], plus statistics_score [N, 1, 1, 1] from the stride-16 features
when statistics is given (format 1.1). Metadata is the backbone's until the caller adds the
anomaly.* keys. */
std::unique_ptr<anomaly_export::OnnxGraphBuilder> buildMergedModel(
    const onnx::ModelProto& backbone, AnomalyHeadImpl& head, const HeadGeometry& geometry,
    const StatisticsScoreImpl* statistics = nullptr);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_MODEL_EXPORT_HPP
