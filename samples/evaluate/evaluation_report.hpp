// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The numbers of an evaluation: metrics per defect type and overall, latency, and their text forms
// (console table, JSON, CSV).
#ifndef ANOMALY_EVALUATE_EVALUATION_REPORT_HPP
#define ANOMALY_EVALUATE_EVALUATION_REPORT_HPP

#include "evaluation_run.hpp"

#include <string>
#include <vector>

namespace anomaly_evaluate {

/** @brief Metrics of one group of test images; NaN where a metric does not apply. */
struct GroupMetrics
{
    std::string name;  //!< a defect type (with the good images) or "overall"
    int goodImages = 0;
    int anomalousImages = 0;
    double imageAUROC = 0, imageAP = 0;
    cv::anomaly::F1Max imageF1;
    double pixelAUROC = 0, pixelAP = 0, aupro = 0;
    /** Mean over the group's defective images of the pixel AUROC inside each image alone (images
    whose mask holds both defect and good pixels): whether the map outlines a defect within its own
    image, whatever its level against other images. */
    double inImagePixelAUROC = 0;
    /** Pixel AUROC of the group's defect pixels against the pixels of its good images alone: the
    other question pooled pixel AUROC mixes in, whether a defect's map rises above the maps of
    defect-free images. Pooled pixel AUROC is the average of this and of the same figure against
    the good pixels of the defective images, weighted by the two pixel counts. */
    double pixelAUROCAgainstGoodImages = 0;
    cv::anomaly::F1Max pixelF1;
    double auspro = 0;  //!< MVTec LOCO only, integrated to FPR 0.05
};

/** @brief Latency of detect() per image, in milliseconds. */
struct LatencySummary
{
    double median = 0, p95 = 0, mean = 0;
};

/** @brief Metrics per defect type (each with all good images) followed by "overall". Pixel
metrics need masks for every anomalous image; AUC-sPRO needs the MVTec LOCO layout. */
std::vector<GroupMetrics> computeGroupMetrics(const std::vector<ScoredSample>& results,
                                              const cv::anomaly::TestSet& testSet);

LatencySummary summarizeLatency(const std::vector<ScoredSample>& results);

/** @brief The fixed-width table printed on stdout. */
std::string formatTable(const std::vector<GroupMetrics>& groups, const LatencySummary& latency);

/** @brief One CSV row per group, one column per metric (empty where not applicable). */
std::string formatCsv(const std::vector<GroupMetrics>& groups);

/** @brief Indices into the results of the cases a report shows, worst first. */
struct WorstCases
{
    std::vector<size_t> misses;       //!< anomalous images with the lowest scores
    std::vector<size_t> falseAlarms;  //!< good images with the highest scores
    std::vector<size_t> outlines;     //!< anomalous images with the lowest in-image pixel AUROC
};

/** @brief At most `count` of each kind of worst case; ties keep the test set's order. */
WorstCases findWorstCases(const std::vector<ScoredSample>& results, size_t count);

/** @brief Everything about the run as one JSON document. */
struct RunDescription
{
    std::string model, data, layout, method, backbone;
    float imageThreshold = 0, pixelThreshold = 0;
    int threads = 1;
};

std::string formatJson(const RunDescription& run, const std::vector<GroupMetrics>& groups,
                       const LatencySummary& latency, const std::vector<ScoredSample>& results,
                       const WorstCases& worst);

}  // namespace anomaly_evaluate

#endif  // ANOMALY_EVALUATE_EVALUATION_REPORT_HPP
