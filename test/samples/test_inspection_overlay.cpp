// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The overlay banner's verdict line: region count, and when the statistics score decided an NG.
#include "inspection_overlay.hpp"

#include <gtest/gtest.h>

namespace {

cv::anomaly::AnomalyResult resultWith(bool ng, float score, float statisticsScore, size_t regions)
{
    cv::anomaly::AnomalyResult r;
    r.isAnomalous = ng;
    r.score = score;
    r.statisticsScore = statisticsScore;
    r.regions.resize(regions);
    return r;
}

TEST(InspectionOverlay, VerdictCountsTheRegions)
{
    using anomaly_samples::verdictDetail;
    EXPECT_EQ(verdictDetail(resultWith(false, 1.f, 0.f, 0), false), "no defect region");
    EXPECT_EQ(verdictDetail(resultWith(true, 9.f, 0.f, 1), false), "1 defect region");
    EXPECT_EQ(verdictDetail(resultWith(true, 9.f, 0.f, 3), false), "3 defect regions");
}

TEST(InspectionOverlay, VerdictNamesTheStatisticsScoreOnlyWhenItDecidedAnNg)
{
    using anomaly_samples::verdictDetail;
    // NG because of the statistics score (it is the image score): said, regions or not.
    EXPECT_EQ(verdictDetail(resultWith(true, 17.f, 17.f, 0), true),
              "unusual overall (statistics score)");
    EXPECT_EQ(verdictDetail(resultWith(true, 17.f, 17.f, 2), true),
              "unusual overall, 2 defect regions");
    // The map score is larger: the regions explain the NG.
    EXPECT_EQ(verdictDetail(resultWith(true, 20.f, 17.f, 2), true), "2 defect regions");
    // OK images need no explanation.
    EXPECT_EQ(verdictDetail(resultWith(false, 3.f, 3.f, 0), true), "no defect region");
    // A model without the output reports 0 for it, which must not count as deciding.
    EXPECT_EQ(verdictDetail(resultWith(true, 0.f, 0.f, 0), false), "no defect region");
}

}  // namespace
