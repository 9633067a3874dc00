// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Reads a whole file in tests (an empty string when it cannot be opened).
#ifndef ANOMALY_TEST_FILE_CONTENTS_HPP
#define ANOMALY_TEST_FILE_CONTENTS_HPP

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace anomaly_test {

inline std::string fileContents(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace anomaly_test

#endif  // ANOMALY_TEST_FILE_CONTENTS_HPP
