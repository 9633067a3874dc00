// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace anomaly_benchmark {

namespace {

std::string ms(double seconds)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%.2f", seconds * 1e3);
    return text;
}

std::string fixed(double value, int decimals)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%.*f", decimals, value);
    return text;
}

std::string rate(double gflops)
{
    return gflops < 0 ? "-" : fixed(gflops, 1);
}

double peakFor(const BenchmarkReport& r, int threads)
{
    for (const auto& p : r.peaks)
        if (p.threads == threads)
            return p.best();
    return -1;
}

}  // namespace

double MatmulPeak::best() const
{
    return std::max({cvGemm, dnnConv, torchMm});
}

void printReport(const BenchmarkReport& r, std::ostream& out)
{
    out << "\n## " << r.method << " / " << r.modelSize << " / " << r.backbone << " / "
        << r.inputSize.width << "x" << r.inputSize.height << "  (" << r.modelPath << ")\n\n"
        << "Medians of " << r.repeats << " runs after " << r.warmup
        << " warm-up runs; milliseconds per image.\n\n";

    out << "| threads | batch | preprocess |";
    for (const auto& s : r.stageNames)
        out << " " << s << " |";
    out << " dnn other | postprocess | detect() total | images/s |\n|---|---|---|";
    for (size_t i = 0; i < r.stageNames.size(); ++i)
        out << "---|";
    out << "---|---|---|---|\n";
    for (const auto& c : r.configs) {
        out << "| " << c.threads << " | " << c.batch << " | " << ms(c.stages.preprocess) << " |";
        for (double s : c.stages.stages)
            out << " " << ms(s) << " |";
        out << " " << ms(c.stages.dnnOverhead) << " | " << ms(c.stages.postprocess) << " | "
            << ms(c.detectSecondsPerImage) << " | " << fixed(1.0 / c.detectSecondsPerImage, 1)
            << " |\n";
    }
    out << "\nStage columns: medians over runs that each do makeInputBlob + net forward (layer "
           "timings from getPerfProfile, summed by node-name prefix) + detect() on the same "
           "images; postprocess = detect() - preprocess - net forward of the same run; dnn other = "
           "net forward wall time - sum of layer timings. detect() total and images/s: separate "
           "runs of detect() alone.\n";

    out << "\nFLOPs per image (cv::dnn::Net::getFLOPS per layer; OpenCV's Conv and MatMul from "
           "their shapes; the custom convolutions and AffineCoupling their multiply-adds, other "
           "custom layers 0): "
           "total "
        << fixed(r.totalFlops / 1e9, 3) << " G;";
    for (size_t i = 0; i < r.stageNames.size(); ++i)
        out << " " << r.stageNames[i] << " " << fixed(r.stageFlops[i] / 1e9, 3) << " G"
            << (i + 1 < r.stageNames.size() ? "," : "\n");

    out << "\n| threads | cv::gemm 1024 GFLOP/s | cv::dnn 1x1 conv 1024 GFLOP/s | torch::mm 1024 "
           "GFLOP/s | net forward GFLOP/s (batch 1 / batch 8) | fraction of best matmul rate |\n"
           "|---|---|---|---|---|---|\n";
    for (const auto& p : r.peaks) {
        std::string achieved, fraction;
        for (const auto& c : r.configs) {
            if (c.threads != p.threads)
                continue;
            const double g = r.totalFlops / c.stages.forward / 1e9;
            achieved += (achieved.empty() ? "" : " / ") + fixed(g, 1);
            fraction += (fraction.empty() ? "" : " / ") + fixed(100.0 * g / p.best(), 0) + " %";
        }
        out << "| " << p.threads << " | " << rate(p.cvGemm)
            << (p.blasThreadsSet ? "" : " (BLAS threads not set)") << " | " << rate(p.dnnConv)
            << " | " << rate(p.torchMm) << " | " << achieved << " | " << fraction << " |\n";
    }

    out << "\nPer-stage rate at batch 1 (GFLOP/s, % of the best matmul rate at that thread count):";
    for (const auto& c : r.configs) {
        if (c.batch != 1)
            continue;
        out << "\n- " << c.threads << " thread(s):";
        for (size_t i = 0; i < r.stageNames.size(); ++i) {
            if (r.stageFlops[i] <= 0 || c.stages.stages[i] <= 0)
                continue;
            const double g = r.stageFlops[i] / c.stages.stages[i] / 1e9;
            out << " " << r.stageNames[i] << " " << fixed(g, 1) << " ("
                << fixed(100.0 * g / peakFor(r, c.threads), 0) << " %)";
        }
    }
    for (const auto& c : r.configs) {
        if (c.batch != 1 || r.topLayers <= 0)
            continue;
        std::vector<size_t> order(c.stages.layers.size());
        for (size_t i = 0; i < order.size(); ++i)
            order[i] = i;
        std::sort(order.begin(), order.end(),
                  [&](size_t a, size_t b) { return c.stages.layers[a] > c.stages.layers[b]; });
        out << "\n\nSlowest layers, " << c.threads
            << " thread(s), batch 1 (median ms, MFLOPs):\n\n| layer | type | ms | MFLOPs |\n"
               "|---|---|---|---|\n";
        for (size_t k = 0; k < order.size() && int(k) < r.topLayers; ++k)
            out << "| " << r.layerNames[order[k]] << " | " << r.layerTypes[order[k]] << " | "
                << ms(c.stages.layers[order[k]]) << " | " << fixed(r.layerFlops[order[k]] / 1e6, 1)
                << " |\n";
        std::map<std::string, double> byType;
        for (size_t i = 0; i < order.size(); ++i)
            byType[r.layerTypes[i]] += c.stages.layers[i];
        std::vector<std::pair<double, std::string>> types;
        for (const auto& kv : byType)
            types.emplace_back(kv.second, kv.first);
        std::sort(types.rbegin(), types.rend());
        out << "\nTime by layer type: ";
        for (size_t k = 0; k < types.size() && k < 10; ++k)
            out << types[k].second << " " << ms(types[k].first)
                << (k + 1 < std::min<size_t>(types.size(), 10) ? ", " : "");
        break;
    }
    out << "\n\nMemory (/proc/self/status): VmRSS at start " << fixed(r.startRssMiB, 0)
        << " MiB; VmHWM after the detect() runs " << fixed(r.detectorPeakMiB, 0)
        << " MiB; VmHWM at the end (second net, peers) " << fixed(r.finalPeakMiB, 0) << " MiB.\n";

    if (!r.headRows.empty()) {
        out << "\nPeer (a), head only (LibTorch has no backbone): the training tool's LibTorch "
               "head vs the same head (same weights) exported alone and run by cv::dnn";
        if (r.method == "lgnf")
            out << " (flows on " << r.flowInput << " at strides " << r.flowScales
                << ", as in the model)";
        out << "; ms per image.\n\n| threads | batch | LibTorch head | cv::dnn head | cv::dnn / "
               "LibTorch | "
               "max abs anomaly_map difference |\n|---|---|---|---|---|---|\n";
        for (const auto& h : r.headRows)
            out << "| " << h.threads << " | " << h.batch << " | " << ms(h.torchSecondsPerImage)
                << " | " << ms(h.opencvSecondsPerImage) << " | "
                << fixed(h.opencvSecondsPerImage / h.torchSecondsPerImage, 2) << " | "
                << h.maxAbsMapDifference << " |\n";
    }
    out.flush();
}

}  // namespace anomaly_benchmark
