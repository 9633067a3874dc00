// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef ANOMALY_BACKBONE_FILE_BYTES_HPP
#define ANOMALY_BACKBONE_FILE_BYTES_HPP

#include <string>

namespace anomaly_backbone {

/** The whole file as bytes; throws std::runtime_error naming the path when it cannot be opened. */
std::string readWholeFile(const std::string& path);

}  // namespace anomaly_backbone

#endif  // ANOMALY_BACKBONE_FILE_BYTES_HPP
