// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The two pictures of an evaluation report: the image-level ROC curves and the grid of worst cases.
#ifndef ANOMALY_EVALUATE_REPORT_FIGURES_HPP
#define ANOMALY_EVALUATE_REPORT_FIGURES_HPP

#include "evaluation_report.hpp"
#include "evaluation_run.hpp"
#include "inspection_overlay.hpp"

#include <string>
#include <vector>

namespace anomaly_evaluate {

/** @brief One curve of the ROC figure. */
struct RocSeries
{
    std::string name;
    std::vector<double> fpr, tpr;
    double auroc = 0;
};

/** @brief Image-level ROC series per defect type (each against all good images), then overall;
groups without both classes are left out. */
std::vector<RocSeries> imageRocSeries(const std::vector<ScoredSample>& results);

/** @brief Draws the ROC curves with axes, grid, chance diagonal and a legend holding each AUROC;
the last series (overall) is drawn thickest, in black. */
cv::Mat drawRocFigure(const std::vector<RocSeries>& series, const std::string& title);

/** @brief Rows of (image | anomaly map over the image | predicted mask | ground truth) for the
worst misses, the worst false alarms and the worst outlines, each row captioned with file, defect
type and score (and the in-image pixel AUROC for outlines). The images are read again from disk
(the run keeps maps, not pixels).
@throws std::runtime_error naming a file that cannot be read. */
cv::Mat drawWorstCasesGrid(const std::vector<ScoredSample>& results, const WorstCases& worst,
                           const anomaly_samples::MapScale& scale, float imageThreshold);

}  // namespace anomaly_evaluate

#endif  // ANOMALY_EVALUATE_REPORT_FIGURES_HPP
