// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Metrics on inputs small enough to work out by hand; the arithmetic is in the comments.
#include "test_precomp.hpp"

#include <limits>

namespace opencv_test {
namespace {

// Positives 0.5, 0.8; negatives 0.5, 0.2 (one tie across the classes).
const std::vector<float> kTieScores = {0.5f, 0.5f, 0.2f, 0.8f};
const std::vector<int> kTieLabels = {1, 0, 0, 1};

TEST(Anomaly_Metrics, image_auroc_perfect_and_reversed)
{
    EXPECT_DOUBLE_EQ(imageAUROC({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}), 1.0);
    EXPECT_DOUBLE_EQ(imageAUROC({0.1f, 0.2f, 0.8f, 0.9f}, {1, 1, 0, 0}), 0.0);
}

TEST(Anomaly_Metrics, image_auroc_counts_a_tie_as_half)
{
    // Pairs (pos, neg): (0.5,0.5) = 1/2, (0.5,0.2) = 1, (0.8,0.5) = 1, (0.8,0.2) = 1 -> 3.5 / 4.
    EXPECT_DOUBLE_EQ(imageAUROC(kTieScores, kTieLabels), 0.875);
    // -0 and +0 are the same score: one positive, one negative, tied -> 0.5.
    EXPECT_DOUBLE_EQ(imageAUROC({-0.0f, 0.0f}, {1, 0}), 0.5);
    // Labels: any non-zero value is anomalous.
    EXPECT_DOUBLE_EQ(imageAUROC(kTieScores, {7, 0, 0, -1}), 0.875);
}

TEST(Anomaly_Metrics, image_roc_curve_has_one_point_per_distinct_score)
{
    // Thresholds 0.8 (tp 1, fp 0), 0.5 (tp 2, fp 1: both 0.5 enter together), 0.2 (tp 2, fp 2).
    std::vector<double> fpr, tpr, thresholds;
    imageROC(kTieScores, kTieLabels, fpr, tpr, thresholds);
    ASSERT_EQ(fpr.size(), 4u);
    EXPECT_EQ(fpr, (std::vector<double>{0, 0, 0.5, 1}));
    EXPECT_EQ(tpr, (std::vector<double>{0, 0.5, 1, 1}));
    EXPECT_EQ(thresholds[0], std::numeric_limits<double>::infinity());
    EXPECT_DOUBLE_EQ(thresholds[1], 0.8f);
    EXPECT_DOUBLE_EQ(thresholds[2], 0.5f);
    EXPECT_DOUBLE_EQ(thresholds[3], 0.2f);
}

TEST(Anomaly_Metrics, image_average_precision)
{
    // t=0.8: recall 1/2, precision 1/1; t=0.5: recall 1, precision 2/3; t=0.2: recall unchanged.
    // AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    EXPECT_NEAR(imageAP(kTieScores, kTieLabels), 5.0 / 6.0, 1e-15);
}

TEST(Anomaly_Metrics, image_f1max)
{
    // F1 = 2tp / (tp + fp + P), P = 2: t=0.8: 2/3; t=0.5: 4/5; t=0.2: 4/6. Best 0.8 at t=0.5.
    const F1Max best = imageF1Max(kTieScores, kTieLabels);
    EXPECT_DOUBLE_EQ(best.f1, 0.8);
    EXPECT_DOUBLE_EQ(best.threshold, 0.5f);
    EXPECT_DOUBLE_EQ(best.precision, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(best.recall, 1.0);
}

TEST(Anomaly_Metrics, image_f1max_tie_takes_the_lowest_threshold)
{
    // P = 2: t=0.9: 2/3; t=0.8: 2/4; t=0.7: 2/5; t=0.6: 4/6 = 2/3 again -> threshold 0.6.
    const F1Max best = imageF1Max({0.9f, 0.8f, 0.7f, 0.6f}, {1, 0, 0, 1});
    EXPECT_DOUBLE_EQ(best.f1, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(best.threshold, 0.6f);
    EXPECT_DOUBLE_EQ(best.precision, 0.5);
    EXPECT_DOUBLE_EQ(best.recall, 1.0);
}

TEST(Anomaly_Metrics, undefined_or_invalid_input_throws)
{
    EXPECT_THROW(imageAUROC({0.1f, 0.2f}, {1, 1}), cv::Exception);
    EXPECT_THROW(imageAUROC({0.1f, 0.2f}, {0, 0}), cv::Exception);
    EXPECT_THROW(imageAP({0.1f, 0.2f}, {0, 0}), cv::Exception);
    EXPECT_THROW(imageAUROC({0.1f, 0.2f}, {0}), cv::Exception);
    EXPECT_THROW(imageAUROC({0.1f, std::numeric_limits<float>::quiet_NaN()}, {0, 1}),
                 cv::Exception);
    Mat map(2, 2, CV_32F, Scalar(0.5)), mask(2, 2, CV_8U, Scalar(0));
    mask.at<uchar>(0, 0) = 1;
    EXPECT_THROW(pixelAUROC(std::vector<Mat>{map}, std::vector<Mat>{Mat(3, 2, CV_8U)}),
                 cv::Exception);
    EXPECT_THROW(pixelAUROC(std::vector<Mat>{Mat(2, 2, CV_64F)}, std::vector<Mat>{mask}),
                 cv::Exception);
    EXPECT_THROW(pixelAUPRO(std::vector<Mat>{map}, std::vector<Mat>{mask}, 0.0), cv::Exception);
    EXPECT_THROW(pixelAUPRO(std::vector<Mat>{map}, std::vector<Mat>{Mat()}), cv::Exception);
    map.at<float>(1, 1) = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(pixelAUROC(std::vector<Mat>{map}, std::vector<Mat>{mask}), cv::Exception);
}

TEST(Anomaly_Metrics, pixel_auroc_pools_all_maps_and_accepts_empty_masks)
{
    // Map 1 positives 0.9, 0.4; negatives 0.1, 0.4. Map 2 (empty mask): negative 0.2.
    // Pairs: 0.9 beats 0.1, 0.4, 0.2 (3); 0.4 beats 0.1, 0.2 and ties 0.4 (2.5) -> 5.5 / 6.
    const std::vector<Mat> maps = {(Mat_<float>(2, 2) << 0.1f, 0.9f, 0.4f, 0.4f),
                                   (Mat_<float>(1, 1) << 0.2f)};
    const std::vector<Mat> masks = {(Mat_<uchar>(2, 2) << 0, 255, 1, 0), Mat()};
    EXPECT_DOUBLE_EQ(pixelAUROC(maps, masks), 5.5 / 6.0);
    // Positives ranked 0.9 (t=0.9: P 1, R 1/2), 0.4 (t=0.4: tp 2, fp 1: P 2/3, R 1):
    // AP = 1/2 + 1/2 * 2/3 = 5/6; F1 at t=0.4 = 4 / (3 + 2) = 0.8 beats 2 / (1 + 2).
    EXPECT_NEAR(pixelAP(maps, masks), 5.0 / 6.0, 1e-15);
    const F1Max best = pixelF1Max(maps, masks);
    EXPECT_DOUBLE_EQ(best.f1, 0.8);
    EXPECT_DOUBLE_EQ(best.threshold, 0.4f);
}

TEST(Anomaly_Metrics, aupro_by_hand_with_interpolation_at_the_limit)
{
    // Image A: region R1 = {0.9, 0.6} (2 pixels); negatives 0.3, 0.5, 0.1.
    // Image B: region R2 = {0.8}; negatives 0.7, 0.2, 0.4. N = 6 good pixels in all.
    // Curve (FPR, PRO): 0.9 -> (0, 1/4); 0.8 -> (0, 3/4); 0.7 -> (1/6, 3/4); 0.6 -> (1/6, 1);
    // 0.5 -> (2/6, 1), past the limit 0.3 where PRO interpolates to 1.
    // Area = 1/6 * 3/4 + (0.3 - 1/6) * 1 = 0.125 + 0.13333.. = 0.258333..; / 0.3 = 0.861111..
    const std::vector<Mat> maps = {(Mat_<float>(1, 5) << 0.9f, 0.6f, 0.3f, 0.5f, 0.1f),
                                   (Mat_<float>(1, 4) << 0.7f, 0.2f, 0.4f, 0.8f)};
    const std::vector<Mat> masks = {(Mat_<uchar>(1, 5) << 1, 1, 0, 0, 0),
                                    (Mat_<uchar>(1, 4) << 0, 0, 0, 1)};
    EXPECT_NEAR(pixelAUPRO(maps, masks, 0.3), (0.125 + (0.3 - 1.0 / 6.0)) / 0.3, 1e-12);
    // Whole curve: 1/6 * 3/4 + 5/6 * 1 = 0.958333..
    EXPECT_NEAR(pixelAUPRO(maps, masks, 1.0), 0.125 + 5.0 / 6.0, 1e-12);
}

TEST(Anomaly_Metrics, aupro_regions_are_8_connected)
{
    // Defect pixels a=(0,0), b=(1,1), c=(2,1): a touches b only diagonally. 8-connected: one
    // region of 3; at t=0.9 only a is found: PRO 1/3 until every negative (0.5) is in: area 1/3.
    // (With 4-connectivity it would be {a}, {b,c}: PRO (1 + 0) / 2 = 1/2.)
    Mat map(3, 3, CV_32F, Scalar(0.5)), mask(3, 3, CV_8U, Scalar(0));
    map.at<float>(0, 0) = 0.9f;
    map.at<float>(1, 1) = 0.1f;
    map.at<float>(1, 2) = 0.1f;
    mask.at<uchar>(0, 0) = mask.at<uchar>(1, 1) = mask.at<uchar>(1, 2) = 255;
    EXPECT_NEAR(pixelAUPRO(std::vector<Mat>{map}, std::vector<Mat>{mask}, 1.0), 1.0 / 3.0, 1e-12);
}

TEST(Anomaly_Metrics, auspro_by_hand_with_saturation_and_overlapping_defects)
{
    // Image 0 (anomalous) 1x4: 0.9 0.8 0.7 0.6. Image 1 (good): negatives 0.85, 0.1 (N = 2).
    const std::vector<Mat> maps = {(Mat_<float>(1, 4) << 0.9f, 0.8f, 0.7f, 0.6f),
                                   (Mat_<float>(1, 2) << 0.85f, 0.1f)};
    // D1 covers all four pixels and saturates at 2 of them.
    const Mat d1 = (Mat_<uchar>(1, 4) << 1, 1, 1, 1);
    // Curve: 0.9 -> (0, 1/2); 0.85 -> (1/2, 1/2); 0.8 -> (1/2, 1); 0.1 -> (1, 1).
    // Limit 1: 1/2 * 1/2 + 1/2 * 1 = 0.75. Limit 0.25: 0.25 * 1/2 / 0.25 = 0.5.
    EXPECT_NEAR(pixelAUSPRO(maps, std::vector<Mat>{d1}, {0}, {2.0}, 1.0), 0.75, 1e-12);
    EXPECT_NEAR(pixelAUSPRO(maps, std::vector<Mat>{d1}, {0}, {2.0}, 0.25), 0.5, 1e-12);
    // D2 = the last pixel (0.6) only, overlapping D1, saturating at 1. Mean of the two overlaps:
    // 0.9 -> (0, 1/4); 0.85 -> (1/2, 1/4); 0.8 -> (1/2, 1/2); 0.6 -> (1/2, 1); 0.1 -> (1, 1).
    // Limit 1: 1/2 * 1/4 + 1/2 * 1 = 0.625.
    const Mat d2 = (Mat_<uchar>(1, 4) << 0, 0, 0, 1);
    EXPECT_NEAR(pixelAUSPRO(maps, std::vector<Mat>{d1, d2}, {0, 0}, {2.0, 1.0}, 1.0), 0.625, 1e-12);
    // No good image: the FPR is undefined.
    EXPECT_THROW(pixelAUSPRO(std::vector<Mat>{maps[0]}, std::vector<Mat>{d1}, {0}, {2.0}),
                 cv::Exception);
    EXPECT_THROW(pixelAUSPRO(maps, std::vector<Mat>{d1}, {1}, {2.0}), cv::Exception);
    EXPECT_THROW(pixelAUSPRO(maps, std::vector<Mat>{d1}, {0}, {0.0}), cv::Exception);
}

}  // namespace
}  // namespace opencv_test
