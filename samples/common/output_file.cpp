// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "output_file.hpp"

#include <opencv2/imgcodecs.hpp>

#include <unistd.h>
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
    const std::string temporary = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(temporary, std::ios::binary);
        out.write(data, static_cast<std::streamsize>(size));
        if (!out) {
            std::error_code ignored;
            fs::remove(temporary, ignored);
            throw std::runtime_error("cannot write " + path);
        }
    }
    std::error_code error;
    fs::rename(temporary, destination, error);
    if (error) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw std::runtime_error("cannot write " + path + ": " + error.message());
    }
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
