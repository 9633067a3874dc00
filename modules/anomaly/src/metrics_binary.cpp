// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Threshold-free binary metrics (AUROC, AP, F1-max, ROC curve) of image scores and of pooled
// pixels.
#include "opencv2/anomaly/metrics.hpp"

#include "metrics_ranking.hpp"

#include <limits>

namespace cv {
namespace anomaly {

using detail::walkThresholds;

namespace {

struct SortedSamples
{
    std::vector<uint32_t> positives, negatives;
};

SortedSamples sortedImageSamples(const std::vector<float>& scores, const std::vector<int>& labels)
{
    SortedSamples s;
    detail::collectImageKeys(scores, labels, s.positives, s.negatives);
    detail::sortRankKeys(s.positives);
    detail::sortRankKeys(s.negatives);
    return s;
}

SortedSamples sortedPixelSamples(InputArrayOfArrays maps, InputArrayOfArrays masks)
{
    SortedSamples s;
    detail::collectPixelKeys(maps, masks, s.positives, s.negatives);
    detail::sortRankKeys(s.positives);
    detail::sortRankKeys(s.negatives);
    return s;
}

void requireBothClasses(const SortedSamples& s, const char* metric)
{
    if (s.positives.empty() || s.negatives.empty())
        CV_Error_(Error::StsBadArg,
                  ("%s is undefined: %zu anomalous and %zu good samples (both must be present)",
                   metric, s.positives.size(), s.negatives.size()));
}

void requirePositives(const SortedSamples& s, const char* metric)
{
    if (s.positives.empty())
        CV_Error_(Error::StsBadArg, ("%s is undefined without anomalous samples", metric));
}

// Trapezoidal area under (fp/N, tp/P) from the origin; straight segments between distinct
// thresholds are exactly what roc_curve + auc give.
double auroc(const SortedSamples& s)
{
    requireBothClasses(s, "AUROC");
    const double P = double(s.positives.size()), N = double(s.negatives.size());
    double area = 0, prevTp = 0, prevFp = 0;
    walkThresholds(s.positives, s.negatives, [&](size_t tp, size_t fp, uint32_t) {
        // Sum of (fp - prevFp) * (tp + prevTp) / 2 in counts, scaled once at the end.
        area += (double(fp) - prevFp) * (double(tp) + prevTp);
        prevTp = double(tp);
        prevFp = double(fp);
        return true;
    });
    return area / (2.0 * P * N);
}

double averagePrecision(const SortedSamples& s)
{
    requirePositives(s, "average precision");
    const double P = double(s.positives.size());
    double ap = 0, prevTp = 0;
    walkThresholds(s.positives, s.negatives, [&](size_t tp, size_t fp, uint32_t) {
        const double precision = double(tp) / double(tp + fp);
        ap += (double(tp) - prevTp) / P * precision;
        prevTp = double(tp);
        return true;
    });
    return ap;
}

F1Max f1Max(const SortedSamples& s)
{
    requirePositives(s, "F1-max");
    const double P = double(s.positives.size());
    F1Max best;
    best.f1 = -1;
    walkThresholds(s.positives, s.negatives, [&](size_t tp, size_t fp, uint32_t key) {
        // F1 = 2PR/(P+R) = 2tp / (2tp + fp + fn) = 2tp / (tp + fp + P).
        const double f1 = 2.0 * double(tp) / (double(tp + fp) + P);
        // ">=" so that among equal F1 values the lowest threshold wins, as anomalib's argmax over
        // an ascending threshold list does.
        if (f1 >= best.f1) {
            best.f1 = f1;
            best.threshold = detail::scoreOfRankKey(key);
            best.precision = double(tp) / double(tp + fp);
            best.recall = double(tp) / P;
        }
        return true;
    });
    return best;
}

}  // namespace

double imageAUROC(const std::vector<float>& scores, const std::vector<int>& labels)
{
    return auroc(sortedImageSamples(scores, labels));
}

double imageAP(const std::vector<float>& scores, const std::vector<int>& labels)
{
    return averagePrecision(sortedImageSamples(scores, labels));
}

F1Max imageF1Max(const std::vector<float>& scores, const std::vector<int>& labels)
{
    return f1Max(sortedImageSamples(scores, labels));
}

void imageROC(const std::vector<float>& scores, const std::vector<int>& labels,
              std::vector<double>& fpr, std::vector<double>& tpr, std::vector<double>& thresholds)
{
    const SortedSamples s = sortedImageSamples(scores, labels);
    requireBothClasses(s, "the ROC curve");
    const double P = double(s.positives.size()), N = double(s.negatives.size());
    fpr.assign(1, 0.0);
    tpr.assign(1, 0.0);
    thresholds.assign(1, std::numeric_limits<double>::infinity());
    walkThresholds(s.positives, s.negatives, [&](size_t tp, size_t fp, uint32_t key) {
        fpr.push_back(double(fp) / N);
        tpr.push_back(double(tp) / P);
        thresholds.push_back(detail::scoreOfRankKey(key));
        return true;
    });
}

double pixelAUROC(InputArrayOfArrays maps, InputArrayOfArrays masks)
{
    return auroc(sortedPixelSamples(maps, masks));
}

double pixelAP(InputArrayOfArrays maps, InputArrayOfArrays masks)
{
    return averagePrecision(sortedPixelSamples(maps, masks));
}

F1Max pixelF1Max(InputArrayOfArrays maps, InputArrayOfArrays masks)
{
    return f1Max(sortedPixelSamples(maps, masks));
}

PixelMetrics pixelMetrics(InputArrayOfArrays maps, InputArrayOfArrays masks)
{
    const SortedSamples s = sortedPixelSamples(maps, masks);
    PixelMetrics m;
    m.auroc = auroc(s);
    m.ap = averagePrecision(s);
    m.f1Max = f1Max(s);
    return m;
}

}  // namespace anomaly
}  // namespace cv
