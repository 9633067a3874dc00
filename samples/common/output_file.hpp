// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Writing result files so that a reader never sees half of one.
#ifndef ANOMALY_SAMPLES_OUTPUT_FILE_HPP
#define ANOMALY_SAMPLES_OUTPUT_FILE_HPP

#include <opencv2/core.hpp>

#include <string>

namespace anomaly_samples {

/** @brief Encodes the image in the format of the path's extension, writes it to a temporary file
beside the destination and renames it over the destination.
@throws std::runtime_error when the extension is unknown or the file cannot be written. */
void writeImageAtomically(const std::string& path, const cv::Mat& image);

/** @brief Writes text to a temporary file beside the destination and renames it over it.
@throws std::runtime_error when the file cannot be written. */
void writeTextAtomically(const std::string& path, const std::string& text);

}  // namespace anomaly_samples

#endif  // ANOMALY_SAMPLES_OUTPUT_FILE_HPP
