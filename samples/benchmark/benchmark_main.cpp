// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_benchmark: how fast a model file runs on this machine, where the time goes, and how
// that compares with the machine's matmul rate and with the training tool's LibTorch head
// (doc/performance.md).
#include "command_line.hpp"
#include "matmul_peak.hpp"
#include "measurement.hpp"
#include "opencv_runs.hpp"
#include "progress_bar.hpp"
#include "report.hpp"
#include "stage_profile.hpp"
#include "tool_main.hpp"
#ifdef ANOMALY_BENCHMARK_WITH_LIBTORCH
#include "torch_head_peer.hpp"
#endif

#include <opencv2/imgcodecs.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

namespace {

namespace ab = anomaly_benchmark;
namespace fs = std::filesystem;

std::vector<int> parseIntList(const std::string& text, const std::string& option)
{
    std::vector<int> values;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            values.push_back(std::stoi(item));
        } catch (const std::exception&) {
            throw anomaly_samples::UsageError("--" + option + ": '" + item + "' is not an integer");
        }
        if (values.back() < 1)
            throw anomaly_samples::UsageError("--" + option + ": values must be >= 1");
    }
    if (values.empty())
        throw anomaly_samples::UsageError("--" + option + " is empty");
    return values;
}

// The first `count` images of a folder (sorted by name), or seeded noise at the model's size.
std::vector<cv::Mat> benchmarkImages(const std::string& folder, int count, cv::Size size)
{
    std::vector<cv::Mat> images;
    if (folder.empty()) {
        cv::RNG rng(12345);
        for (int i = 0; i < count; ++i) {
            cv::Mat image(size, CV_8UC3);
            rng.fill(image, cv::RNG::UNIFORM, 0, 256);
            images.push_back(image);
        }
        return images;
    }
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(folder))
        if (entry.is_regular_file())
            paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
        cv::Mat image = cv::imread(p.string(), cv::IMREAD_COLOR);
        if (!image.empty())
            images.push_back(image);
        if (int(images.size()) == count)
            return images;
    }
    throw std::runtime_error("--images " + folder + ": fewer than " + std::to_string(count) +
                             " readable images");
}

#ifdef ANOMALY_BENCHMARK_WITH_LIBTORCH
std::array<int64_t, 3> backboneChannels(const cv::anomaly::LocalGlobalFlow& detector)
{
    std::istringstream in(detector.getMetadata("backbone.channels"));
    std::array<int64_t, 3> channels{};
    std::string item;
    for (auto& c : channels) {
        if (!std::getline(in, item, ','))
            throw std::runtime_error("model has no backbone.channels metadata (3 values)");
        c = std::stoll(item);
    }
    return channels;
}

/** A text entry of the model's training summary (an lgnf setting: flow_input, flow_scales);
fallback for models trained before the setting existed, which had what it names. */
std::string trainingSetting(const cv::anomaly::LocalGlobalFlow& detector, const std::string& name,
                            const std::string& fallback)
{
    const std::string summary = detector.getMetadata("anomaly.training.summary");
    const std::string key = "\"" + name + "\":\"";
    const size_t at = summary.find(key);
    if (at == std::string::npos)
        return fallback;
    const size_t begin = at + key.size();
    return summary.substr(begin, summary.find('"', begin) - begin);
}
#endif

// Raw float32 files for ort_benchmark.py: the batch-2 input blob and the OpenCV outputs.
void dumpTensors(const std::string& prefix, const cv::Mat& blob,
                 const std::vector<cv::String>& names, const std::vector<cv::Mat>& outputs)
{
    auto write = [](const std::string& path, const cv::Mat& m) {
        const std::string tmp = path + ".tmp";
        {
            std::ofstream out(tmp, std::ios::binary);
            out.write(reinterpret_cast<const char*>(m.ptr<float>()),
                      std::streamsize(m.total() * sizeof(float)));
            if (!out.flush())
                throw std::runtime_error("cannot write " + tmp);
        }
        fs::rename(tmp, path);
    };
    write(prefix + ".image.f32", blob);
    for (size_t i = 0; i < names.size(); ++i)
        write(prefix + "." + names[i] + ".f32", outputs[i]);
}

int run(const anomaly_samples::CommandLine& cli)
{
    const std::vector<int> threads = parseIntList(cli.get("threads"), "threads");
    const int batch = parseIntList(cli.get("batch"), "batch")[0];
    const int warmup = cli.getInt("warmup"), repeats = cli.getInt("repeats");
    if (warmup < 0 || repeats < 1)
        throw anomaly_samples::UsageError("--warmup must be >= 0 and --repeats >= 1");

    ab::BenchmarkReport report;
    report.startRssMiB = ab::procStatusMiB("VmRSS");
    report.modelPath = cli.get("model");
    report.warmup = warmup;
    report.repeats = repeats;
    report.topLayers = cli.getInt("layers");
    cv::Ptr<cv::anomaly::LocalGlobalFlow> detector =
        cv::anomaly::LocalGlobalFlow::create(report.modelPath);
    report.method = detector->getMethod();
    report.modelSize = detector->getModelSize();
    report.backbone = detector->getBackbone();
    report.inputSize = detector->getInputSize();
    const std::vector<cv::Mat> images = benchmarkImages(cli.get("images"), batch, report.inputSize);
    const std::vector<cv::Mat> single(images.begin(), images.begin() + 1);
    const std::vector<int> batches = {1, batch};

    const bool withTorch =
#ifdef ANOMALY_BENCHMARK_WITH_LIBTORCH
        !cli.has("no-torch");
#else
        false;
#endif
    const long total =
        long(threads.size() * batches.size()) * (warmup + repeats) * (withTorch ? 3 : 2);
    anomaly_samples::ProgressBar progress("benchmark " + report.method, total, "run");
    long done = 0;
    const ab::IterationDone tick = [&] { progress.update(++done); };

    // End to end first, alone in the process, so its peak memory is the detector's.
    std::vector<double> detectTimes;
    for (int t : threads) {
        cv::setNumThreads(t);
        for (int b : batches) {
            detector->setBatchSize(b);
            detectTimes.push_back(ab::medianDetectSecondsPerImage(
                *detector, b == 1 ? single : images, warmup, repeats, tick));
        }
    }
    report.detectorPeakMiB = ab::procStatusMiB("VmHWM");

    cv::dnn::Net net = cv::anomaly::readNetWithCustomLayers(report.modelPath);
    std::vector<cv::String> outputNames = {"anomaly_map"};
    if (detector->hasLocalGlobalMaps())
        outputNames.insert(outputNames.end(), {"local_map", "global_map"});
    const ab::StageLayout layout(net);
    report.stageNames = layout.stages();
    const cv::dnn::MatShape oneImage = {1, 3, report.inputSize.height, report.inputSize.width};
    report.stageFlops = layout.flops(net, oneImage);
    report.layerNames = layout.layerNames();
    report.layerTypes = layout.layerTypes();
    report.layerFlops = layout.layerFlops(net, oneImage);
    report.totalFlops = std::accumulate(report.stageFlops.begin(), report.stageFlops.end(), 0.0);
    const cv::anomaly::InputSpec spec = ab::inputSpecOf(*detector);
    size_t next = 0;
    for (int t : threads) {
        cv::setNumThreads(t);
        for (int b : batches) {
            ab::ConfigResult c;
            c.threads = t;
            c.batch = b;
            c.detectSecondsPerImage = detectTimes[next++];
            c.stages = ab::medianStageSecondsPerImage(net, layout, *detector, spec,
                                                      b == 1 ? single : images, outputNames, warmup,
                                                      repeats, tick);
            report.configs.push_back(c);
        }
    }

    if (!cli.get("dump").empty()) {
        const std::vector<cv::Mat> two(images.begin(), images.begin() + std::min(2, batch));
        cv::Mat blob;
        cv::anomaly::makeInputBlob(two, spec, blob);
        net.setInput(blob, "image");
        std::vector<cv::Mat> outputs;
        net.forward(outputs, outputNames);
        dumpTensors(cli.get("dump"), blob, outputNames, outputs);
    }

#ifdef ANOMALY_BENCHMARK_WITH_LIBTORCH
    if (withTorch) {
        // Before the settings existed the flows saw the discrepancy alone, at all three strides.
        report.flowInput = trainingSetting(*detector, "flow_input", "discrepancy");
        report.flowScales = trainingSetting(*detector, "flow_scales", "4,8,16");
        report.headRows = ab::benchmarkTorchHead(
            report.method, report.modelSize, report.flowInput, report.flowScales,
            backboneChannels(*detector), report.inputSize, threads, batches, warmup, repeats, tick);
    }
#endif
    progress.finish();
    for (int t : threads) {
        ab::MatmulPeak p;
        p.threads = t;
        p.cvGemm = ab::cvGemmGflops(t, repeats, p.blasThreadsSet);
        p.dnnConv = ab::dnnConvGemmGflops(t, repeats);
#ifdef ANOMALY_BENCHMARK_WITH_LIBTORCH
        if (withTorch)
            p.torchMm = ab::torchMatmulGflops(t, repeats);
#endif
        report.peaks.push_back(p);
    }
    report.finalPeakMiB = ab::procStatusMiB("VmHWM");
    ab::printReport(report, std::cout);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    anomaly_samples::CommandLine cli(
        "anomaly_benchmark",
        "Latency, throughput, per-stage time, memory, FLOPs and fraction of matmul peak of a "
        "model file (doc/performance.md).",
        {{"model", "", "model file (.onnx) written by anomaly_train", true},
         {"images", "", "folder of images to time on (default: seeded noise at the model size)"},
         {"threads", "1,2", "comma-separated thread counts (cv::setNumThreads)"},
         {"batch", "8", "batch size of the throughput runs"},
         {"warmup", "3", "untimed runs before each measurement"},
         {"repeats", "20", "timed runs per measurement (medians are reported)"},
         {"dump", "",
          "write <prefix>.image.f32 and <prefix>.<output>.f32 (batch 2) for "
          "ort_benchmark.py"},
         {"layers", "15", "how many of the slowest layers to list (1 thread, batch 1)"},
         {"no-torch", "", "skip the LibTorch head peer", false, true}});
    return anomaly_samples::runTool(cli, argc, argv, run);
}
