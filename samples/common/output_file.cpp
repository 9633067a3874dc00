// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "output_file.hpp"

#include "atomic_file.hpp"

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace anomaly_samples {
namespace {

namespace fs = std::filesystem;

void writeBytesAtomically(const std::string& path, const char* data, size_t size)
{
    const fs::path destination(path);
    if (destination.has_parent_path() && !fs::is_directory(destination.parent_path()))
        throw std::runtime_error("folder " + destination.parent_path().string() +
                                 " does not exist (for " + path + ")");
    writeFileAtomically(path, [&](const std::string& temporary) {
        std::ofstream out(temporary, std::ios::binary);
        out.write(data, static_cast<std::streamsize>(size));
        if (!out.flush())
            throw std::runtime_error("cannot write " + path);
    });
}

}  // namespace

void writeImageAtomically(const std::string& path, const cv::Mat& image)
{
    const std::string extension = fs::path(path).extension().string();
    if (extension.empty())
        throw std::runtime_error("output " + path + " needs an image extension such as .png");
    std::vector<uchar> bytes;
    bool encoded = false;
    try {
        encoded = cv::imencode(extension, image, bytes);
    } catch (const cv::Exception&) {
        encoded = false;
    }
    if (!encoded)
        throw std::runtime_error("cannot encode " + path + " (unknown image extension '" +
                                 extension + "'?)");
    writeBytesAtomically(path, reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void writeTextAtomically(const std::string& path, const std::string& text)
{
    writeBytesAtomically(path, text.data(), text.size());
}

}  // namespace anomaly_samples
