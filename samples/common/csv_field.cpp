// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "csv_field.hpp"

namespace anomaly_samples {

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (char c : text)
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

}  // namespace anomaly_samples
