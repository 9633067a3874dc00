// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Per-stage times and FLOPs of a cv::dnn::Net whose ONNX node names carry a stage prefix
// ("backbone/...", "tokens/...", ...; OpenCV names layers "onnx_node!<node name>").
#ifndef ANOMALY_BENCHMARK_STAGE_PROFILE_HPP
#define ANOMALY_BENCHMARK_STAGE_PROFILE_HPP

#include <opencv2/dnn.hpp>

#include <string>
#include <vector>

namespace anomaly_benchmark {

/** "onnx_node!local/Conv_3" -> "local"; a name without '/' -> "(unprefixed)". */
std::string stageOfLayer(const std::string& layerName);

/** Which stage each layer of a net belongs to; stages in the order their first layer runs. */
class StageLayout
{
public:
    explicit StageLayout(cv::dnn::Net& net);

    const std::vector<std::string>& stages() const { return stages_; }
    /** Layer names and types, in the order of layerSeconds() and layerFlops(). */
    const std::vector<std::string>& layerNames() const { return layerNames_; }
    const std::vector<std::string>& layerTypes() const { return layerTypes_; }

    /** Seconds per layer of the net's last forward() (fused layers report 0). */
    std::vector<double> layerSeconds(cv::dnn::Net& net) const;
    /** FLOPs per layer for one input shape (see flops()). */
    std::vector<double> layerFlops(cv::dnn::Net& net, const cv::dnn::MatShape& inputShape) const;

    /** Seconds per stage of the net's last forward() (cv::dnn::Net::getPerfProfile). Fused layers
    report 0 and their time is in the layer they were fused into. */
    std::vector<double> lastForwardSeconds(cv::dnn::Net& net) const;

    /** FLOPs per stage for one input shape: cv::dnn::Net::getFLOPS per layer, except Convolution
    and two-input MatMul, which 4.6 gets wrong and are counted from their shapes; layers without a
    FLOPs model (the custom element-wise ones) count 0. */
    std::vector<double> flops(cv::dnn::Net& net, const cv::dnn::MatShape& inputShape) const;

private:
    std::vector<std::string> stages_;
    std::vector<int> layerIds_;
    std::vector<int> stageOfLayer_;  // parallel to layerIds_
    std::vector<std::string> layerNames_, layerTypes_;
};

}  // namespace anomaly_benchmark

#endif  // ANOMALY_BENCHMARK_STAGE_PROFILE_HPP
