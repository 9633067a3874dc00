// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
//
// Tiny models whose outputs can be computed by hand, for the runtime tests.
#ifndef OPENCV_ANOMALY_TEST_MODELS_HPP
#define OPENCV_ANOMALY_TEST_MODELS_HPP

#include "onnx_test_writer.hpp"

namespace opencv_test {

constexpr int kTestModelSize = 32;

/** Metadata of a valid format-1.0 model (doc/model-format.md section 3), BGR, mean 0, std 1, so
the network input is the image scaled to [0,1]. Thresholds 0.5, normalisation ranges [0,1]. */
inline void addValidMetadata(TestModel& m)
{
    m.metadata("anomaly.format_version", "1.0");
    m.metadata("anomaly.input_width", std::to_string(kTestModelSize));
    m.metadata("anomaly.input_height", std::to_string(kTestModelSize));
    m.metadata("anomaly.color_order", "BGR");
    m.metadata("anomaly.mean", "0,0,0");
    m.metadata("anomaly.std", "1,1,1");
    m.metadata("anomaly.method", "lgnf");
    m.metadata("anomaly.model_size", "lite");
    m.metadata("anomaly.backbone", "test_identity");
    m.metadata("anomaly.threshold.image", "0.5");
    m.metadata("anomaly.threshold.pixel", "0.5");
    m.metadata("anomaly.normalization.image", "0,1");
    m.metadata("anomaly.normalization.pixel", "0,1");
    m.metadata("anomaly.score.reduction", "max");
    m.metadata("anomaly.map.smoothing_sigma", "0");
    m.metadata("anomaly.training.summary", "{\"images\":0}");
}

/** A model whose maps are plain channel mixes of the [0,1] image, at the input resolution:
anomaly_map = (B+G+R)/3, local_map = B, global_map = R. */
inline TestModel channelMixModel(bool withLocalGlobal = true)
{
    TestModel m;
    const int64_t s = kTestModelSize;
    m.input("image", {-1, 3, s, s});
    m.floatTensor("w_mean", {1, 3, 1, 1}, {1.f / 3, 1.f / 3, 1.f / 3});
    m.node("Conv", {"image", "w_mean"}, {"anomaly_map"}, {TestAttr::list("kernel_shape", {1, 1})});
    m.output("anomaly_map", {-1, 1, s, s});
    if (withLocalGlobal) {
        m.floatTensor("w_blue", {1, 3, 1, 1}, {1.f, 0.f, 0.f});
        m.floatTensor("w_red", {1, 3, 1, 1}, {0.f, 0.f, 1.f});
        m.node("Conv", {"image", "w_blue"}, {"local_map"},
               {TestAttr::list("kernel_shape", {1, 1})});
        m.node("Conv", {"image", "w_red"}, {"global_map"},
               {TestAttr::list("kernel_shape", {1, 1})});
        m.output("local_map", {-1, 1, s, s});
        m.output("global_map", {-1, 1, s, s});
    }
    addValidMetadata(m);
    return m;
}

/** channelMixModel() plus the format-1.1 output statistics_score = the mean grey level of the
[0,1] input image times `factor` (2 unless given), [N,1,1,1]. With a pooling window of `window`
pixels instead of the whole input, the output is [N,1,s/window,s/window]: not a statistics score. */
inline TestModel statisticsScoreModel(float factor = 2.f, int64_t window = kTestModelSize)
{
    TestModel m = channelMixModel();
    const int64_t grid = kTestModelSize / window;
    m.node("AveragePool", {"image"}, {"image_mean"},
           {TestAttr::list("kernel_shape", {window, window}),
            TestAttr::list("strides", {window, window})});
    m.floatTensor("w_scaled_grey", {1, 3, 1, 1}, {factor / 3, factor / 3, factor / 3});
    m.node("Conv", {"image_mean", "w_scaled_grey"}, {"statistics_score"},
           {TestAttr::list("kernel_shape", {1, 1})});
    m.output("statistics_score", {-1, 1, grid, grid});
    m.metadata("anomaly.format_version", "1.1");
    return m;
}

/** channelMixModel() plus the format-1.10 output score_map = G, the map the image score comes
from. */
inline TestModel scoreMapModel()
{
    TestModel m = channelMixModel();
    const int64_t s = kTestModelSize;
    m.floatTensor("w_green", {1, 3, 1, 1}, {0.f, 1.f, 0.f});
    m.node("Conv", {"image", "w_green"}, {"score_map"}, {TestAttr::list("kernel_shape", {1, 1})});
    m.output("score_map", {-1, 1, s, s});
    m.metadata("anomaly.format_version", "1.10");
    return m;
}

}  // namespace opencv_test

#endif  // OPENCV_ANOMALY_TEST_MODELS_HPP
