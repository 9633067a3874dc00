// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// libFuzzer target: detect() on arbitrary image shapes, types and pixel bytes, and on whatever
// cv::imdecode makes of the bytes (PNG, JPEG, BMP and TIFF only). detect() must succeed or throw
// cv::Exception.
#include <opencv2/anomaly.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include "test_models.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

cv::Ptr<cv::anomaly::LocalGlobalFlow> detector()
{
    static cv::Ptr<cv::anomaly::LocalGlobalFlow> d = [] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        return cv::anomaly::LocalGlobalFlow::createFromBuffer(
            opencv_test::channelMixModel().serialize());
    }();
    return d;
}

void detectQuietly(const cv::Mat& image)
{
    try {
        cv::anomaly::AnomalyResult r;
        detector()->detect(image, r);
    } catch (const cv::Exception&) {
    }
}

// True for PNG, JPEG, BMP and TIFF signatures: the formats the dataset readers and samples list
// (kImageExtensions). Other bytes would exercise whatever else Debian's OpenCV decodes, e.g. DICOM
// through GDCM, which aborts on an assertion for some corrupt files (doc/robustness.md); that is
// OpenCV's code, not ours, and would hide our own findings.
bool hasListedImageSignature(const uint8_t* data, size_t size)
{
    const auto startsWith = [&](const char* magic, size_t n) {
        return size >= n && std::memcmp(data, magic, n) == 0;
    };
    return startsWith("\x89PNG", 4) || startsWith("\xFF\xD8\xFF", 3) || startsWith("BM", 2) ||
           startsWith("II*\0", 4) || startsWith("MM\0*", 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 4)
        return 0;
    // Header: rows (1..256), cols (1..256), depth selector, channel count (1..5).
    const int rows = 1 + data[0], cols = 1 + data[1];
    const int depths[] = {CV_8U, CV_8S, CV_16U, CV_16S, CV_32S, CV_32F, CV_64F};
    const int depth = depths[data[2] % 7];
    const int channels = 1 + data[3] % 5;
    cv::Mat image(rows, cols, CV_MAKETYPE(depth, channels), cv::Scalar::all(0));
    const size_t payload = std::min(size - 4, image.total() * image.elemSize());
    std::memcpy(image.data, data + 4, payload);
    // For float depths the bytes include NaN and Inf: the detector must not crash on them either.
    detectQuietly(image);
    if (!hasListedImageSignature(data, size))
        return 0;
    const std::vector<uchar> encoded(data, data + size);
    cv::Mat decoded;
    try {
        decoded = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception&) {
    }
    if (!decoded.empty() && decoded.total() < 4096 * 4096)
        detectQuietly(decoded);
    return 0;
}
