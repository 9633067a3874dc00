// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "stage_profile.hpp"

#include <opencv2/dnn/shape_utils.hpp>

#include <algorithm>

namespace anomaly_benchmark {

std::string stageOfLayer(const std::string& layerName)
{
    const size_t bang = layerName.find('!');
    const std::string nodeName = bang == std::string::npos ? layerName : layerName.substr(bang + 1);
    const size_t slash = nodeName.find('/');
    return slash == std::string::npos ? "(unprefixed)" : nodeName.substr(0, slash);
}

namespace {

// cv::dnn::Net::getFLOPS is wrong for two layer kinds of our graphs in OpenCV 4.6, so they are
// counted from their shapes (2 FLOPs per multiply-add, as getFLOPS counts):
// - Convolution ignores the group count: a depthwise conv is counted as a dense one. The weight
//   blob [out, in/group, kh, kw] gives the multiply-adds per output element directly.
// - MatMul of two graph values becomes an InnerProduct without weights whose getFLOPS reads the
//   absent weight blob (segmentation fault); the inner dimension is the last of input 0.
double layerFlops(cv::dnn::Net& net, int layerId, const cv::dnn::MatShape& inputShape)
{
    const cv::Ptr<cv::dnn::Layer> layer = net.getLayer(layerId);
    const bool conv = layer->type == "Convolution" && !layer->blobs.empty();
    const bool matmul = layer->type == "InnerProduct" && layer->blobs.empty();
    if (!conv && !matmul)
        return double(net.getFLOPS(layerId, inputShape));
    std::vector<cv::dnn::MatShape> in, out;
    net.getLayerShapes(inputShape, layerId, in, out);
    if (in.empty() || in[0].empty() || out.empty())
        return 0;
    const cv::Mat& weights = conv ? layer->blobs[0] : cv::Mat();
    const double macsPerOutput =
        conv ? double(weights.total()) / weights.size[0] : double(in[0].back());
    return 2.0 * double(cv::dnn::total(out[0])) * macsPerOutput / double(inputShape[0]);
}

}  // namespace

StageLayout::StageLayout(cv::dnn::Net& net)
{
    for (const std::string& name : net.getLayerNames()) {
        const std::string stage = stageOfLayer(name);
        auto it = std::find(stages_.begin(), stages_.end(), stage);
        if (it == stages_.end())
            it = stages_.insert(stages_.end(), stage);
        layerIds_.push_back(net.getLayerId(name));
        stageOfLayer_.push_back(int(it - stages_.begin()));
        layerNames_.push_back(name);
        layerTypes_.push_back(net.getLayer(layerIds_.back())->type);
    }
}

std::vector<double> StageLayout::layerSeconds(cv::dnn::Net& net) const
{
    // timings[i] belongs to layer id i + 1 (id 0 is the input layer).
    std::vector<double> timings;
    net.getPerfProfile(timings);
    std::vector<double> seconds(layerIds_.size(), 0.0);
    for (size_t i = 0; i < layerIds_.size(); ++i) {
        const size_t index = size_t(layerIds_[i] - 1);
        if (index < timings.size())
            seconds[i] = timings[index] / cv::getTickFrequency();
    }
    return seconds;
}

std::vector<double> StageLayout::layerFlops(cv::dnn::Net& net,
                                            const cv::dnn::MatShape& inputShape) const
{
    std::vector<double> perLayer;
    for (int id : layerIds_)
        perLayer.push_back(anomaly_benchmark::layerFlops(net, id, inputShape));
    return perLayer;
}

std::vector<double> StageLayout::lastForwardSeconds(cv::dnn::Net& net) const
{
    const std::vector<double> perLayer = layerSeconds(net);
    std::vector<double> seconds(stages_.size(), 0.0);
    for (size_t i = 0; i < perLayer.size(); ++i)
        seconds[size_t(stageOfLayer_[i])] += perLayer[i];
    return seconds;
}

std::vector<double> StageLayout::flops(cv::dnn::Net& net, const cv::dnn::MatShape& inputShape) const
{
    const std::vector<double> perLayer = layerFlops(net, inputShape);
    std::vector<double> perStage(stages_.size(), 0.0);
    for (size_t i = 0; i < perLayer.size(); ++i)
        perStage[size_t(stageOfLayer_[i])] += perLayer[i];
    return perStage;
}

}  // namespace anomaly_benchmark
