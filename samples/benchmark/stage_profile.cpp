// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "stage_profile.hpp"

#include "layer_flops.hpp"

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
        perLayer.push_back(anomaly_samples::layerFlops(net, id, inputShape));
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
