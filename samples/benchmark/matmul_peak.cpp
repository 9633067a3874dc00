// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "matmul_peak.hpp"

#include "measurement.hpp"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <dlfcn.h>

#include <vector>

namespace anomaly_benchmark {

namespace {

constexpr int kSize = 1024;
constexpr double kFlops = 2.0 * kSize * kSize * kSize;

// OpenBLAS ignores cv::setNumThreads; its own setter is looked up at run time so the benchmark
// does not link a particular BLAS.
bool setBlasThreads(int threads)
{
    using Setter = void (*)(int);
    auto setter = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (!setter)
        return false;
    setter(threads);
    return true;
}

}  // namespace

double cvGemmGflops(int threads, int repeats, bool& blasThreadsSet)
{
    cv::setNumThreads(threads);
    blasThreadsSet = setBlasThreads(threads);
    cv::RNG rng(1);
    cv::Mat a(kSize, kSize, CV_32F), b(kSize, kSize, CV_32F), c;
    rng.fill(a, cv::RNG::UNIFORM, -1, 1);
    rng.fill(b, cv::RNG::UNIFORM, -1, 1);
    cv::gemm(a, b, 1.0, cv::noArray(), 0.0, c);  // warm-up: BLAS thread start, page faults
    std::vector<double> rates;
    for (int i = 0; i < repeats; ++i) {
        Stopwatch clock;
        cv::gemm(a, b, 1.0, cv::noArray(), 0.0, c);
        rates.push_back(kFlops / clock.seconds() / 1e9);
    }
    return median(rates);
}

double dnnConvGemmGflops(int threads, int repeats)
{
    cv::setNumThreads(threads);
    cv::RNG rng(2);
    cv::dnn::LayerParams conv;
    conv.set("kernel_size", 1);
    conv.set("num_output", kSize);
    conv.set("bias_term", false);
    cv::Mat weights(std::vector<int>{kSize, kSize, 1, 1}, CV_32F);
    rng.fill(weights, cv::RNG::UNIFORM, -1, 1);
    conv.blobs.push_back(weights);
    cv::dnn::Net net;
    net.addLayerToPrev("conv", "Convolution", conv);
    cv::Mat input(std::vector<int>{1, kSize, 32, 32}, CV_32F);
    rng.fill(input, cv::RNG::UNIFORM, -1, 1);
    net.setInput(input);
    net.forward();  // warm-up: allocation, weight repacking
    std::vector<double> rates;
    for (int i = 0; i < repeats; ++i) {
        Stopwatch clock;
        net.setInput(input);
        net.forward();
        rates.push_back(kFlops / clock.seconds() / 1e9);
    }
    return median(rates);
}

}  // namespace anomaly_benchmark
