// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "measurement.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace anomaly_benchmark {

double median(std::vector<double> values)
{
    if (values.empty())
        return 0;
    const size_t mid = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + mid, values.end());
    if (values.size() % 2 == 1)
        return values[mid];
    const double upper = values[mid];
    return 0.5 * (upper + *std::max_element(values.begin(), values.begin() + mid));
}

double procStatusMiB(const std::string& field)
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field + ":", 0) != 0)
            continue;
        std::istringstream fields(line.substr(field.size() + 1));
        double kib = 0;
        std::string unit;
        if (fields >> kib >> unit && unit == "kB")
            return kib / 1024.0;
    }
    throw std::runtime_error("cannot read " + field + " from /proc/self/status");
}

}  // namespace anomaly_benchmark
