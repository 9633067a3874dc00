// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "texture_grain.hpp"

#include <opencv2/imgproc.hpp>

#include <stdexcept>

namespace anomaly_train {

GrainEnergy grainEnergy(const cv::Mat& image)
{
    const int depth = image.depth(), channels = image.channels();
    if (image.empty())
        throw std::invalid_argument("grainEnergy needs an image");
    if (depth != CV_8U && depth != CV_16U && depth != CV_32F)
        throw std::invalid_argument("grainEnergy needs a CV_8U, CV_16U or CV_32F image");
    if (channels != 1 && channels != 3 && channels != 4)
        throw std::invalid_argument("grainEnergy needs 1, 3 or 4 channels");
    const double scale = depth == CV_8U ? 1.0 / 255 : depth == CV_16U ? 1.0 / 65535 : 1.0;
    cv::Mat grey;
    image.convertTo(grey, CV_32F, scale);
    if (channels > 1) {
        // Colour channels averaged; a fourth (alpha) channel left out.
        std::vector<cv::Mat> planes;
        cv::split(grey, planes);
        grey = (planes[0] + planes[1] + planes[2]) / 3.0;
    }
    cv::Mat dx, dy;
    cv::Sobel(grey, dx, CV_32F, 1, 0, 3, 1.0, 0.0, cv::BORDER_REFLECT);
    cv::Sobel(grey, dy, CV_32F, 0, 1, 3, 1.0, 0.0, cv::BORDER_REFLECT);
    return {dx.dot(dx), dy.dot(dy)};
}

BandEdges bandEdgesAcrossGrain(const GrainEnergy& energy, double minRatio)
{
    if (!(minRatio >= 1.0))
        throw std::invalid_argument("bandEdgesAcrossGrain needs minRatio >= 1");
    if (energy.horizontal > 0 && energy.horizontal >= minRatio * energy.vertical)
        return BandEdges::TopBottom;
    if (energy.vertical > 0 && energy.vertical >= minRatio * energy.horizontal)
        return BandEdges::LeftRight;
    return BandEdges::All;
}

}  // namespace anomaly_train
