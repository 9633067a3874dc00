// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Production lines call detect() millions of times: memory must not creep.
#include <gtest/gtest.h>

#include <opencv2/anomaly.hpp>

#include "test_models.hpp"

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <fstream>

namespace opencv_test {
namespace {

using namespace cv;
using namespace cv::anomaly;

// Resident set size in bytes, from /proc/self/statm (pages).
size_t residentBytes()
{
    std::ifstream statm("/proc/self/statm");
    size_t sizePages = 0, residentPages = 0;
    statm >> sizePages >> residentPages;
    return residentPages * size_t(sysconf(_SC_PAGESIZE));
}

TEST(Anomaly_Endurance, ten_thousand_detect_calls_do_not_grow_memory)
{
    if (access("/proc/self/statm", R_OK) != 0)
        GTEST_SKIP() << "/proc/self/statm is not readable on this system";
    auto detector = LocalGlobalFlow::createFromBuffer(channelMixModel().serialize());
    RNG rng(5);
    // Varying sizes and a defect every few frames exercise every allocation path (maps, masks,
    // regions and contours), not only a steady state.
    std::vector<Mat> images;
    for (int i = 0; i < 8; ++i) {
        Mat img(120 + 17 * i, 160 + 11 * i, CV_8UC3);
        rng.fill(img, RNG::UNIFORM, 0, 100);
        if (i % 2)
            img(Rect(10 * i, 20, 30, 25)).setTo(Scalar::all(255));
        images.push_back(img);
    }
    AnomalyResult r;
    // Warm-up: allocator pools and OpenCV's internal buffers reach their steady size.
    for (int i = 0; i < 1000; ++i)
        detector->detect(images[i % images.size()], r);
    // Resident memory breathes by a few hundred KiB as malloc trims and re-grows its arenas, so
    // compare the *peak* over the first and the last thousand calls, not two single samples.
    const int calls = 10000, window = 1000;
    size_t firstPeak = 0, lastPeak = 0;
    for (int i = 0; i < calls; ++i) {
        detector->detect(images[i % images.size()], r);
        if (i < window)
            firstPeak = std::max(firstPeak, residentBytes());
        else if (i >= calls - window)
            lastPeak = std::max(lastPeak, residentBytes());
    }
    const double growth = (double(lastPeak) - double(firstPeak)) / double(firstPeak);
    std::printf("peak resident over calls 1-%d: %.2f MiB, over the last %d: %.2f MiB (%+.3f%%)\n",
                window, firstPeak / 1048576.0, window, lastPeak / 1048576.0, 100.0 * growth);
    EXPECT_LT(growth, 0.01);
}

}  // namespace
}  // namespace opencv_test
