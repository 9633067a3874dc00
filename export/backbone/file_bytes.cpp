// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "file_bytes.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace anomaly_backbone {

std::string readWholeFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace anomaly_backbone
