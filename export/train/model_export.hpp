// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Merges the backbone graph and the trained head into one model file (doc/model-format.md).
#ifndef ANOMALY_TRAIN_MODEL_EXPORT_HPP
#define ANOMALY_TRAIN_MODEL_EXPORT_HPP

#include "heads.hpp"

#include <onnx_graph.hpp>

#include <memory>

namespace anomaly_train {

/** Backbone graph without its feature outputs, the head's nodes, and the outputs anomaly_map,
local_map, global_map [N, 1, h, w]. Metadata is the backbone's until the caller adds the
anomaly.* keys. flops (optional) receives the head's FLOPs per image. */
std::unique_ptr<anomaly_export::OnnxGraphBuilder> buildMergedModel(const onnx::ModelProto& backbone,
                                                                   AnomalyHeadImpl& head,
                                                                   const HeadGeometry& geometry,
                                                                   double* flops = nullptr);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_MODEL_EXPORT_HPP
