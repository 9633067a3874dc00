// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "feature_cache.hpp"

#include <onnx_graph.hpp>
#include <opencv2/imgcodecs.hpp>
#include <progress_bar.hpp>

#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace anomaly_train {

const char* const kFeatureOutputs[3] = {"feat_s4", "feat_s8", "feat_s16"};

namespace {

std::string metadataValue(const onnx::ModelProto& model, const std::string& key,
                          const std::string& origin)
{
    for (const auto& p : model.metadata_props())
        if (p.key() == key)
            return p.value();
    throw std::runtime_error("backbone " + origin + " lacks metadata key " + key);
}

std::vector<double> parseNumbers(const std::string& text, size_t count, const std::string& key)
{
    std::vector<double> values;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        values.push_back(std::stod(item));
    if (values.size() != count)
        throw std::runtime_error("backbone metadata " + key + " must hold " +
                                 std::to_string(count) + " numbers, got '" + text + "'");
    return values;
}

std::vector<torch::Tensor> runBatch(Backbone& backbone, const std::vector<cv::Mat>& images)
{
    cv::Mat blob;
    cv::anomaly::makeInputBlob(images, backbone.spec, blob);
    backbone.net.setInput(blob);
    std::vector<cv::Mat> outs;
    backbone.net.forward(outs, std::vector<cv::String>(kFeatureOutputs, kFeatureOutputs + 3));
    std::vector<torch::Tensor> result;
    for (const auto& m : outs) {
        std::vector<int64_t> sizes(m.size.p, m.size.p + m.dims);
        result.push_back(torch::from_blob(const_cast<float*>(m.ptr<float>()), sizes).clone());
    }
    return result;
}

}  // namespace

Backbone loadBackbone(const std::string& path)
{
    return loadBackbone(anomaly_export::loadOnnxModel(path), path);
}

Backbone loadBackbone(const onnx::ModelProto& model, const std::string& origin)
{
    Backbone b;
    b.model = model;
    b.name = metadataValue(model, "backbone.name", origin);
    const int w = std::stoi(metadataValue(model, "backbone.input_width", origin));
    const int h = std::stoi(metadataValue(model, "backbone.input_height", origin));
    b.spec.size = cv::Size(w, h);
    const std::string order = metadataValue(model, "backbone.color_order", origin);
    if (order != "RGB" && order != "BGR")
        throw std::runtime_error("backbone " + origin + ": color_order must be RGB or BGR");
    b.spec.rgb = order == "RGB";
    const auto mean = parseNumbers(metadataValue(model, "backbone.mean", origin), 3, "mean");
    const auto stdv = parseNumbers(metadataValue(model, "backbone.std", origin), 3, "std");
    b.spec.mean = cv::Scalar(mean[0], mean[1], mean[2]);
    b.spec.std = cv::Scalar(stdv[0], stdv[1], stdv[2]);

    const auto bytes = anomaly_export::serializeOnnxModel(model);
    b.net = cv::anomaly::readNetWithCustomLayers(bytes);
    // Output shapes measured on one image, so any backbone layout is handled.
    const auto feats = runBatch(b, {cv::Mat(h, w, CV_8UC3, cv::Scalar::all(128))});
    for (int s = 0; s < 3; ++s) {
        b.geometry.channels[s] = feats[size_t(s)].size(1);
        b.geometry.heights[s] = feats[size_t(s)].size(2);
        b.geometry.widths[s] = feats[size_t(s)].size(3);
    }
    const auto& g = b.geometry;
    if (g.heights[0] != 4 * g.heights[2] || g.heights[1] != 2 * g.heights[2] ||
        g.widths[0] != 4 * g.widths[2] || g.widths[1] != 2 * g.widths[2])
        throw std::runtime_error("backbone " + origin +
                                 ": feature maps must be at strides 4, 8, 16 exactly (input size a "
                                 "multiple of 16)");
    return b;
}

cv::Mat readImage(const std::string& path)
{
    return cv::imread(path, cv::IMREAD_UNCHANGED);
}

std::vector<torch::Tensor> extractFeatures(Backbone& backbone, const std::vector<cv::Mat>& images)
{
    return runBatch(backbone, images);
}

std::vector<torch::Tensor> extractFeatures(Backbone& backbone, std::vector<std::string>& paths,
                                           BadImagePolicy policy, int batchSize, bool showProgress)
{
    const auto& g = backbone.geometry;
    std::vector<torch::Tensor> all;
    for (int s = 0; s < 3; ++s)
        all.push_back(
            torch::empty({int64_t(paths.size()), g.channels[s], g.heights[s], g.widths[s]}));
    std::vector<std::string> used;
    std::optional<anomaly_samples::ProgressBar> bar;
    if (showProgress)
        bar.emplace("features", long(paths.size()), "img");
    std::vector<cv::Mat> batch;
    auto flush = [&]() {
        if (batch.empty())
            return;
        const auto feats = runBatch(backbone, batch);
        const int64_t at = int64_t(used.size() - batch.size());
        for (int s = 0; s < 3; ++s)
            all[size_t(s)].narrow(0, at, int64_t(batch.size())).copy_(feats[size_t(s)]);
        batch.clear();
    };
    for (size_t i = 0; i < paths.size(); ++i) {
        cv::Mat image = readImage(paths[i]);
        if (image.empty() ||
            (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
            if (policy == BadImagePolicy::Fail)
                throw std::runtime_error("cannot read image " + paths[i] +
                                         " (use --on-bad-image skip to leave it out)");
            std::cerr << "\nskipping unreadable image " << paths[i] << "\n";
            continue;
        }
        batch.push_back(image);
        used.push_back(paths[i]);
        if (int(batch.size()) == batchSize)
            flush();
        if (bar)
            bar->update(long(i + 1));
    }
    flush();
    if (bar)
        bar->finish();
    for (auto& t : all)
        t = t.narrow(0, 0, int64_t(used.size())).contiguous();
    paths = used;
    return all;
}

}  // namespace anomaly_train
