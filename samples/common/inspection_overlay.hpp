// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The picture every sample writes or shows: heatmap over the part, defect outlines, OK/NG banner.
#ifndef ANOMALY_SAMPLES_INSPECTION_OVERLAY_HPP
#define ANOMALY_SAMPLES_INSPECTION_OVERLAY_HPP

#include <opencv2/anomaly.hpp>
#include <opencv2/core.hpp>

#include <string>

namespace anomaly_samples {

/** @brief What the overlay needs from a model: its pixel threshold and map normalisation range. */
struct MapScale
{
    float pixelThreshold = 0.f;
    float normMin = 0.f;  //!< anomaly.normalization.pixel
    float normMax = 1.f;
    bool hasStatisticsScore = false;  //!< the model outputs statistics_score (format 1.1)

    /** @brief Reads the detector's current pixel threshold and its model's normalisation range.
    @throws std::runtime_error when the model's anomaly.normalization.pixel is malformed. */
    static MapScale fromModel(const cv::anomaly::LocalGlobalFlow& model);

    /** @brief clamp(0.5 + (raw - threshold) / (max - min), 0, 1) per pixel (doc/model-format.md):
    the pixel threshold maps to 0.5. CV_32F in, CV_32F out. */
    cv::Mat normalize(const cv::Mat& rawMap) const;
};

/** @brief The banner's second line: the defect region count, and for an NG image that the
statistics score decided (it is the image score) that the part looked unusual overall, which the
regions alone would not explain (there may be none). */
std::string verdictDetail(const cv::anomaly::AnomalyResult& result, bool hasStatisticsScore);

/** @brief Any 1/3/4-channel 8U/16U/32F image as 8-bit BGR for display. */
cv::Mat toDisplayBgr(const cv::Mat& image);

/** @brief Draws the inspection overlay of one result.
The image is enlarged to at least minDisplayWidth pixels wide (small parts stay readable) but to at
most twice that in height; a tall, narrow part is centred on a minDisplayWidth-wide canvas. The
normalised anomaly map is blended on it (stronger where it nears and passes the threshold), each
defect region is outlined and numbered, and a banner above it shows OK/NG, the normalised score
against its 0.5 threshold, the region count, a colour legend and an optional caption. */
class OverlayRenderer
{
public:
    explicit OverlayRenderer(MapScale scale, int minDisplayWidth = 640);

    cv::Mat render(const cv::Mat& image, const cv::anomaly::AnomalyResult& result,
                   const std::string& caption = std::string()) const;

private:
    MapScale scale_;
    int minDisplayWidth_;
};

}  // namespace anomaly_samples

#endif  // ANOMALY_SAMPLES_INSPECTION_OVERLAY_HPP
