// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef ANOMALY_SAMPLES_CSV_FIELD_HPP
#define ANOMALY_SAMPLES_CSV_FIELD_HPP

#include <string>

namespace anomaly_samples {

/** @brief One CSV field (RFC 4180): quoted, with doubled quotes, when it holds a comma, quote or
newline; as is otherwise. */
std::string csvField(const std::string& text);

}  // namespace anomaly_samples

#endif  // ANOMALY_SAMPLES_CSV_FIELD_HPP
