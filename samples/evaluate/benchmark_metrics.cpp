// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// anomaly_benchmark_metrics: times the pixel metrics on synthetic maps (default: 1000 maps of
// 256x256, half of them with 1-3 disc defects), the workload doc/evaluation.md quotes.
// Usage: anomaly_benchmark_metrics [maps] [size]
#include <opencv2/anomaly.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

int main(int argc, char** argv)
{
    const int count = argc > 1 ? std::atoi(argv[1]) : 1000;
    const int size = argc > 2 ? std::atoi(argv[2]) : 256;
    if (count < 2 || size < 8) {
        std::fprintf(stderr, "anomaly_benchmark_metrics: usage: [maps >= 2] [size >= 8]\n");
        return 2;
    }
    cv::RNG rng(42);
    std::vector<cv::Mat> maps, masks;
    for (int i = 0; i < count; ++i) {
        cv::Mat map(size, size, CV_32F), mask(size, size, CV_8U, cv::Scalar(0));
        rng.fill(map, cv::RNG::UNIFORM, 0.f, 1.f);
        if (i % 2)
            for (int k = 0; k < 1 + i % 3; ++k)
                cv::circle(mask, cv::Point(rng.uniform(0, size), rng.uniform(0, size)),
                           rng.uniform(3, size / 8), cv::Scalar(255), cv::FILLED);
        // Raised, partly tied values inside defects; smoothing makes the maps look like real ones.
        map.setTo(cv::Scalar(0.7), mask);
        cv::GaussianBlur(map, map, cv::Size(5, 5), 1.5);
        maps.push_back(map);
        masks.push_back(mask);
    }
    auto time = [](const char* name, const std::function<double()>& metric) {
        const auto start = std::chrono::steady_clock::now();
        const double value = metric();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("%-18s %.6f  %.2f s\n", name, value, seconds);
    };
    std::printf("%d maps of %dx%d\n", count, size, size);
    time("AUPRO (FPR 0.3)", [&] { return cv::anomaly::pixelAUPRO(maps, masks, 0.3); });
    time("pixel AUROC", [&] { return cv::anomaly::pixelAUROC(maps, masks); });
    time("pixel AP", [&] { return cv::anomaly::pixelAP(maps, masks); });
    time("pixel F1-max", [&] { return cv::anomaly::pixelF1Max(maps, masks).f1; });
    return 0;
}
