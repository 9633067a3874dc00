// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "opencv_runs.hpp"

#include "measurement.hpp"

#include <numeric>
#include <sstream>
#include <stdexcept>

namespace anomaly_benchmark {

namespace {

cv::Scalar threeValues(const cv::anomaly::LocalGlobalFlow& detector, const std::string& key)
{
    std::istringstream in(detector.getMetadata(key));
    cv::Scalar s;
    std::string item;
    for (int c = 0; c < 3; ++c) {
        if (!std::getline(in, item, ','))
            throw std::runtime_error("model metadata " + key + " does not hold 3 values");
        s[c] = std::stod(item);
    }
    return s;
}

}  // namespace

cv::anomaly::InputSpec inputSpecOf(const cv::anomaly::LocalGlobalFlow& detector)
{
    cv::anomaly::InputSpec spec;
    spec.size = detector.getInputSize();
    spec.rgb = detector.getMetadata("anomaly.color_order") == "RGB";
    spec.mean = threeValues(detector, "anomaly.mean");
    spec.std = threeValues(detector, "anomaly.std");
    return spec;
}

double medianDetectSecondsPerImage(cv::anomaly::LocalGlobalFlow& detector,
                                   const std::vector<cv::Mat>& images, int warmup, int repeats,
                                   const IterationDone& done)
{
    std::vector<double> perImage;
    cv::anomaly::AnomalyResult one;
    std::vector<cv::anomaly::AnomalyResult> many;
    for (int i = 0; i < warmup + repeats; ++i) {
        Stopwatch clock;
        if (images.size() == 1)
            detector.detect(images[0], one);
        else
            detector.detectBatch(images, many);
        if (i >= warmup)
            perImage.push_back(clock.seconds() / double(images.size()));
        done();
    }
    return median(perImage);
}

StageTimes medianStageSecondsPerImage(cv::dnn::Net& net, const StageLayout& layout,
                                      cv::anomaly::LocalGlobalFlow& detector,
                                      const cv::anomaly::InputSpec& spec,
                                      const std::vector<cv::Mat>& images,
                                      const std::vector<cv::String>& outputNames, int warmup,
                                      int repeats, const IterationDone& done)
{
    const double n = double(images.size());
    std::vector<double> pre, forward, overhead, post;
    std::vector<std::vector<double>> stages(layout.stages().size());
    std::vector<std::vector<double>> layers(layout.layerNames().size());
    cv::anomaly::AnomalyResult one;
    std::vector<cv::anomaly::AnomalyResult> many;
    std::vector<cv::Mat> outputs;
    cv::Mat blob;
    for (int i = 0; i < warmup + repeats; ++i) {
        Stopwatch clock;
        cv::anomaly::makeInputBlob(images, spec, blob);
        const double preSeconds = clock.seconds();
        clock.restart();
        net.setInput(blob, "image");
        net.forward(outputs, outputNames);
        const double forwardSeconds = clock.seconds();
        const std::vector<double> perStage = layout.lastForwardSeconds(net);
        const std::vector<double> perLayer = layout.layerSeconds(net);
        clock.restart();
        if (images.size() == 1)
            detector.detect(images[0], one);
        else
            detector.detectBatch(images, many);
        const double detectSeconds = clock.seconds();
        done();
        if (i < warmup)
            continue;
        pre.push_back(preSeconds / n);
        forward.push_back(forwardSeconds / n);
        overhead.push_back(
            (forwardSeconds - std::accumulate(perStage.begin(), perStage.end(), 0.0)) / n);
        post.push_back((detectSeconds - preSeconds - forwardSeconds) / n);
        for (size_t s = 0; s < perStage.size(); ++s)
            stages[s].push_back(perStage[s] / n);
        for (size_t l = 0; l < perLayer.size(); ++l)
            layers[l].push_back(perLayer[l] / n);
    }
    StageTimes t;
    t.preprocess = median(pre);
    t.forward = median(forward);
    t.dnnOverhead = median(overhead);
    t.postprocess = median(post);
    for (const auto& values : stages)
        t.stages.push_back(median(values));
    for (const auto& values : layers)
        t.layers.push_back(median(values));
    return t;
}

}  // namespace anomaly_benchmark
