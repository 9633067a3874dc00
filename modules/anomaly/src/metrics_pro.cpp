// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Region-overlap curves: AUPRO (MVTec AD) and AUC-sPRO (MVTec LOCO AD). Both average a per-region
// overlap over regions and plot it against the false positive rate; they differ only in what a
// region is, which pixels are negatives, and when a region's overlap saturates.
#include "opencv2/anomaly/metrics.hpp"

#include "metrics_ranking.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace cv {
namespace anomaly {

namespace {

struct OverlapProblem
{
    std::vector<uint32_t> negatives;       //!< rank keys of the negative pixels
    std::vector<uint32_t> positiveKeys;    //!< rank keys of region pixels (one per membership)
    std::vector<uint32_t> positiveRegion;  //!< region index of each entry of positiveKeys
    std::vector<double> saturation;        //!< pixels at which each region's overlap reaches 1
};

void checkLimit(double fprLimit)
{
    if (!(fprLimit > 0 && fprLimit <= 1))
        CV_Error_(
            Error::StsOutOfRange,
            ("anomaly metrics: the FPR integration limit must be in (0, 1], got %g", fprLimit));
}

// Area under (FPR, mean overlap) from FPR 0 to fprLimit, divided by fprLimit. The curve has one
// point per distinct map value, from the highest down, starting at (0, 0); the trapezoid that
// crosses the limit is cut there with linear interpolation (MVTec's `trapezoid(x_max=...)`).
double normalizedOverlapArea(OverlapProblem& problem, double fprLimit)
{
    const size_t negativeCount = problem.negatives.size();
    const size_t regionCount = problem.saturation.size();
    if (negativeCount == 0)
        CV_Error(Error::StsBadArg, "anomaly metrics: no good pixels, the FPR is undefined");
    if (regionCount == 0)
        CV_Error(Error::StsBadArg, "anomaly metrics: no defect regions, the overlap is undefined");

    // The walk stops once the FPR passes the limit: sort only the negatives it can reach.
    detail::keepHighestRanks(problem.negatives, size_t(std::floor(fprLimit * negativeCount)));
    detail::sortRankKeys(problem.negatives);
    detail::sortRankKeys(problem.positiveKeys, problem.positiveRegion);

    const std::vector<uint32_t>& neg = problem.negatives;
    const std::vector<uint32_t>& pos = problem.positiveKeys;
    std::vector<double> detected(regionCount, 0.0);
    double overlapSum = 0, area = 0, prevFpr = 0, prevOverlap = 0;
    size_t p = 0, n = 0;
    while (p < pos.size() || n < neg.size()) {
        const uint32_t key =
            (n == neg.size() || (p < pos.size() && pos[p] <= neg[n])) ? pos[p] : neg[n];
        for (; p < pos.size() && pos[p] == key; ++p) {
            const uint32_t r = problem.positiveRegion[p];
            const double sat = problem.saturation[r];
            const double before = std::min(detected[r], sat);
            detected[r] += 1.0;
            overlapSum += (std::min(detected[r], sat) - before) / sat;
        }
        while (n < neg.size() && neg[n] == key)
            ++n;
        const double fpr = double(n) / double(negativeCount);
        const double overlap = overlapSum / double(regionCount);
        if (fpr > fprLimit) {
            const double atLimit =
                prevOverlap + (overlap - prevOverlap) * (fprLimit - prevFpr) / (fpr - prevFpr);
            area += 0.5 * (atLimit + prevOverlap) * (fprLimit - prevFpr);
            return area / fprLimit;
        }
        area += 0.5 * (overlap + prevOverlap) * (fpr - prevFpr);
        prevFpr = fpr;
        prevOverlap = overlap;
    }
    // Only reached with fprLimit == 1: the curve ended exactly at FPR 1.
    return area / fprLimit;
}

std::vector<Mat> matVector(InputArrayOfArrays arrays)
{
    std::vector<Mat> list;
    arrays.getMatVector(list);
    return list;
}

void appendKeys(const Mat& map, const Mat& select, bool selectNonZero, std::vector<uint32_t>& keys)
{
    for (int y = 0; y < map.rows; ++y) {
        const float* values = map.ptr<float>(y);
        const uchar* s = select.empty() ? nullptr : select.ptr<uchar>(y);
        for (int x = 0; x < map.cols; ++x)
            if (!s || (s[x] != 0) == selectNonZero)
                keys.push_back(detail::rankKey(values[x]));
    }
}

}  // namespace

double pixelAUPRO(InputArrayOfArrays maps, InputArrayOfArrays masks, double fprLimit)
{
    checkLimit(fprLimit);
    std::vector<Mat> mapList = matVector(maps), maskList = matVector(masks);
    if (mapList.empty())
        CV_Error(Error::StsBadArg, "anomaly metrics: no maps given");
    if (mapList.size() != maskList.size())
        CV_Error_(Error::StsBadArg,
                  ("anomaly metrics: %zu maps but %zu masks", mapList.size(), maskList.size()));
    OverlapProblem problem;
    size_t total = 0;
    for (size_t i = 0; i < mapList.size(); ++i) {
        maskList[i] = detail::checkedPixelPair(mapList[i], maskList[i], i, "mask");
        detail::checkNoNaN(mapList[i], i);
        total += mapList[i].total();
    }
    problem.negatives.reserve(total);
    Mat labels;
    for (size_t i = 0; i < mapList.size(); ++i) {
        const Mat& map = mapList[i];
        // Regions are 8-connected, as in MVTec's evaluation (scipy label with a 3x3 structure).
        const int count = connectedComponents(maskList[i] > 0, labels, 8, CV_32S);
        const uint32_t firstRegion = uint32_t(problem.saturation.size());
        problem.saturation.resize(problem.saturation.size() + size_t(count - 1), 0.0);
        for (int y = 0; y < map.rows; ++y) {
            const float* values = map.ptr<float>(y);
            const int* label = labels.ptr<int>(y);
            for (int x = 0; x < map.cols; ++x) {
                const uint32_t key = detail::rankKey(values[x]);
                if (label[x] == 0) {
                    problem.negatives.push_back(key);
                } else {
                    const uint32_t region = firstRegion + uint32_t(label[x] - 1);
                    problem.positiveKeys.push_back(key);
                    problem.positiveRegion.push_back(region);
                    // PRO never saturates: a region is fully covered only by all its pixels.
                    problem.saturation[region] += 1.0;
                }
            }
        }
    }
    return normalizedOverlapArea(problem, fprLimit);
}

double pixelAUSPRO(InputArrayOfArrays maps, InputArrayOfArrays defectMasks,
                   const std::vector<int>& defectImages, const std::vector<double>& saturationAreas,
                   double fprLimit)
{
    checkLimit(fprLimit);
    const std::vector<Mat> mapList = matVector(maps), defectList = matVector(defectMasks);
    if (mapList.empty())
        CV_Error(Error::StsBadArg, "anomaly metrics: no maps given");
    if (defectImages.size() != defectList.size() || saturationAreas.size() != defectList.size())
        CV_Error_(Error::StsBadArg,
                  ("anomaly metrics: %zu defect masks but %zu image indices and %zu saturation "
                   "areas",
                   defectList.size(), defectImages.size(), saturationAreas.size()));
    std::vector<bool> hasDefect(mapList.size(), false);
    for (size_t i = 0; i < mapList.size(); ++i) {
        detail::checkedPixelPair(mapList[i], Mat(), i, "mask");
        detail::checkNoNaN(mapList[i], i);
    }
    OverlapProblem problem;
    for (size_t d = 0; d < defectList.size(); ++d) {
        const int image = defectImages[d];
        if (image < 0 || size_t(image) >= mapList.size())
            CV_Error_(Error::StsOutOfRange, ("anomaly metrics: defect %zu names image %d of %zu", d,
                                             image, mapList.size()));
        if (defectList[d].empty() || countNonZero(defectList[d]) == 0)
            CV_Error_(Error::StsBadArg, ("anomaly metrics: defect mask %zu is empty", d));
        detail::checkedPixelPair(mapList[size_t(image)], defectList[d], d, "defect mask");
        if (!(saturationAreas[d] > 0))
            CV_Error_(Error::StsBadArg,
                      ("anomaly metrics: saturation area of defect %zu must be > 0, got %g", d,
                       saturationAreas[d]));
        hasDefect[size_t(image)] = true;
        appendKeys(mapList[size_t(image)], defectList[d], true, problem.positiveKeys);
        problem.positiveRegion.resize(problem.positiveKeys.size(), uint32_t(d));
        problem.saturation.push_back(saturationAreas[d]);
    }
    // MVTec LOCO counts false positives on the good images only.
    for (size_t i = 0; i < mapList.size(); ++i)
        if (!hasDefect[i])
            appendKeys(mapList[i], Mat(), true, problem.negatives);
    return normalizedOverlapArea(problem, fprLimit);
}

}  // namespace anomaly
}  // namespace cv
