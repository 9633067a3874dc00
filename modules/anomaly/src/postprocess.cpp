// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "postprocess.hpp"

#include "precomp.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace cv {
namespace anomaly {

Mat smoothMap(const Mat& map, double sigma)
{
    if (sigma <= 0)
        return map;
    // Truncate the kernel at 4 sigma, as scipy/anomalib do, so results match their smoothing.
    const int radius = std::max(1, int(std::ceil(4.0 * sigma)));
    Mat out;
    GaussianBlur(map, out, Size(2 * radius + 1, 2 * radius + 1), sigma, sigma, BORDER_REFLECT);
    return out;
}

float reduceMap(const Mat& map, const ScoreReduction& reduction)
{
    CV_Assert(map.type() == CV_32F && map.isContinuous() && !map.empty());
    if (reduction.topK <= 0) {
        double maxVal = 0;
        minMaxLoc(map, nullptr, &maxVal);
        return float(maxVal);
    }
    std::vector<float> values(map.ptr<float>(), map.ptr<float>() + map.total());
    const size_t k = std::min(values.size(), size_t(reduction.topK));
    std::nth_element(values.begin(), values.begin() + (k - 1), values.end(), std::greater<float>());
    double sum = 0;
    for (size_t i = 0; i < k; ++i)
        sum += values[i];
    return float(sum / double(k));
}

float normalizeScore(float raw, float threshold, float normMin, float normMax)
{
    const float v = 0.5f + (raw - threshold) / (normMax - normMin);
    return std::min(1.f, std::max(0.f, v));
}

std::vector<DefectRegion> findDefectRegions(const Mat& map, const Mat& mask, double minArea)
{
    std::vector<DefectRegion> regions;
    Mat labels, stats, centroids;
    const int count = connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
    for (int label = 1; label < count; ++label) {
        const double area = stats.at<int>(label, CC_STAT_AREA);
        if (area < minArea)
            continue;
        DefectRegion r;
        r.box = Rect(stats.at<int>(label, CC_STAT_LEFT), stats.at<int>(label, CC_STAT_TOP),
                     stats.at<int>(label, CC_STAT_WIDTH), stats.at<int>(label, CC_STAT_HEIGHT));
        r.area = area;
        // Work inside the box only: regions are usually small compared with the image.
        const Mat component = labels(r.box) == label;
        double peak = 0;
        Point peakAt;
        minMaxLoc(map(r.box), nullptr, &peak, nullptr, &peakAt, component);
        r.peakScore = float(peak);
        r.peakLocation = peakAt + r.box.tl();
        std::vector<std::vector<Point>> contours;
        findContours(component, contours, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE, r.box.tl());
        if (!contours.empty())
            r.contour =
                *std::max_element(contours.begin(), contours.end(),
                                  [](const std::vector<Point>& a, const std::vector<Point>& b) {
                                      return a.size() < b.size();
                                  });
        regions.push_back(std::move(r));
    }
    // Most severe first: what an operator looks at first.
    std::sort(regions.begin(), regions.end(), [](const DefectRegion& a, const DefectRegion& b) {
        return a.peakScore > b.peakScore;
    });
    return regions;
}

}  // namespace anomaly
}  // namespace cv
