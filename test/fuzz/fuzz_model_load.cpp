// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// libFuzzer target: arbitrary bytes as a model file. Loading must either succeed or throw
// cv::Exception; anything else (crash, other exception, sanitizer report) is a bug.
#include <opencv2/anomaly.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const bool quiet = [] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        return true;
    }();
    (void)quiet;
    const std::vector<uchar> bytes(data, data + size);
    try {
        cv::anomaly::parseOnnxModelHeader(bytes);
    } catch (const cv::Exception&) {
    }
    try {
        auto detector = cv::anomaly::LocalGlobalFlow::createFromBuffer(bytes);
        cv::anomaly::AnomalyResult r;
        detector->detect(cv::Mat(17, 23, CV_8UC3, cv::Scalar::all(90)), r);
    } catch (const cv::Exception&) {
    }
    return 0;
}
