// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "torch_head_peer.hpp"

#include "measurement.hpp"

#include <onnx_graph.hpp>
#include <standardized_head.hpp>

namespace anomaly_benchmark {

namespace {

const char* const kFeatureNames[3] = {"feat_s4", "feat_s8", "feat_s16"};

struct ExportedHead
{
    cv::dnn::Net net;
    std::vector<cv::String> outputs;  // anomaly map first
};

ExportedHead exportHeadToDnn(anomaly_train::AnomalyHeadImpl& head,
                             const anomaly_train::HeadGeometry& geometry)
{
    torch::NoGradGuard noGrad;
    anomaly_export::OnnxGraphBuilder builder("head");
    anomaly_train::GraphEmitter emitter(builder);
    std::vector<std::string> features;
    for (int s = 0; s < 3; ++s) {
        builder.addInput(kFeatureNames[s],
                         {-1, geometry.channels[s], geometry.heights[s], geometry.widths[s]});
        emitter.declare(kFeatureNames[s],
                        {1, geometry.channels[s], geometry.heights[s], geometry.widths[s]});
        features.push_back(kFeatureNames[s]);
    }
    const anomaly_train::ExportedMaps maps = head.exportGraph(emitter, features);
    ExportedHead exported;
    for (const std::string& name : {maps.anomalyMap, maps.localMap, maps.globalMap}) {
        if (name.empty())
            continue;
        builder.addOutput(name, {-1, 1, geometry.mapHeight(), geometry.mapWidth()});
        exported.outputs.push_back(name);
    }
    exported.net =
        cv::anomaly::readNetWithCustomLayers(anomaly_export::serializeOnnxModel(builder.model()));
    return exported;
}

cv::Mat asMat(const torch::Tensor& t)
{
    std::vector<int> sizes(t.sizes().begin(), t.sizes().end());
    return cv::Mat(sizes, CV_32F, t.data_ptr<float>());
}

}  // namespace

std::vector<HeadPeerRow> benchmarkTorchHead(const std::string& method, const std::string& modelSize,
                                            const std::string& flowInput,
                                            const std::string& flowScales,
                                            const std::array<int64_t, 3>& channels,
                                            cv::Size inputSize, const std::vector<int>& threads,
                                            const std::vector<int>& batches, int warmup,
                                            int repeats, const IterationDone& done)
{
    anomaly_train::HeadGeometry geometry;
    for (int s = 0; s < 3; ++s) {
        geometry.channels[size_t(s)] = channels[size_t(s)];
        geometry.heights[size_t(s)] = inputSize.height >> (s + 2);
        geometry.widths[size_t(s)] = inputSize.width >> (s + 2);
    }
    torch::manual_seed(0);
    anomaly_train::HeadOptions options = anomaly_train::defaultHeadOptions(
        anomaly_train::parsePreset(method), anomaly_train::parseModelSize(modelSize));
    options.flowInput = anomaly_train::parseFlowInput(flowInput);
    options.flowScales = anomaly_train::parseFlowScales(flowScales);
    auto head = anomaly_train::makeStandardizedHead(options, geometry);
    head->eval();
    ExportedHead exported = exportHeadToDnn(*head, geometry);

    std::vector<HeadPeerRow> rows;
    for (int t : threads) {
        for (int batch : batches) {
            torch::set_num_threads(t);
            cv::setNumThreads(t);
            std::vector<torch::Tensor> features;
            for (int s = 0; s < 3; ++s)
                features.push_back(torch::randn(
                    {batch, geometry.channels[s], geometry.heights[s], geometry.widths[s]}));
            std::vector<double> torchTimes, dnnTimes;
            anomaly_train::HeadOutput torchOut;
            std::vector<cv::Mat> dnnOut;
            for (int i = 0; i < warmup + repeats; ++i) {
                Stopwatch clock;
                {
                    torch::NoGradGuard noGrad;
                    torchOut = head->forward(features);
                }
                const double torchSeconds = clock.seconds();
                clock.restart();
                for (int s = 0; s < 3; ++s)
                    exported.net.setInput(asMat(features[size_t(s)]), kFeatureNames[s]);
                exported.net.forward(dnnOut, exported.outputs);
                const double dnnSeconds = clock.seconds();
                if (i >= warmup) {
                    torchTimes.push_back(torchSeconds / batch);
                    dnnTimes.push_back(dnnSeconds / batch);
                }
                done();
            }
            HeadPeerRow row;
            row.threads = t;
            row.batch = batch;
            row.torchSecondsPerImage = median(torchTimes);
            row.opencvSecondsPerImage = median(dnnTimes);
            const torch::Tensor map = torchOut.anomalyMap.contiguous();
            row.maxAbsMapDifference = cv::norm(asMat(map), dnnOut[0], cv::NORM_INF);
            rows.push_back(row);
        }
    }
    return rows;
}

double torchMatmulGflops(int threads, int repeats)
{
    torch::set_num_threads(threads);
    torch::manual_seed(1);
    const auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
    auto c = torch::mm(a, b);  // warm-up
    std::vector<double> rates;
    for (int i = 0; i < repeats; ++i) {
        Stopwatch clock;
        c = torch::mm(a, b);
        rates.push_back(2.0 * 1024 * 1024 * 1024 / clock.seconds() / 1e9);
    }
    return median(rates);
}

}  // namespace anomaly_benchmark
