// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Data set readers on tiny directory trees written by the tests into a temporary folder.
#include "test_precomp.hpp"

#include <opencv2/imgcodecs.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>

namespace opencv_test {
namespace {

namespace fs = std::filesystem;

class Anomaly_Dataset : public ::testing::Test
{
protected:
    void SetUp() override
    {
        root_ = fs::temp_directory_path() /
                ("anomaly_dataset_test_" + std::to_string(::getpid()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    void TearDown() override { fs::remove_all(root_); }

    // A 4x4 PNG of one value (imagePath relative to the root).
    void png(const std::string& relative, int value = 0)
    {
        const fs::path p = root_ / relative;
        fs::create_directories(p.parent_path());
        ASSERT_TRUE(imwrite(p.string(), Mat(4, 4, CV_8UC1, Scalar(value))));
    }
    void text(const std::string& relative, const std::string& content)
    {
        const fs::path p = root_ / relative;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << content;
    }
    std::string path(const std::string& relative) const { return (root_ / relative).string(); }

    fs::path root_;
};

TEST_F(Anomaly_Dataset, mvtec_ad_lists_images_labels_and_masks)
{
    png("train/good/001.png");
    png("train/good/000.png");
    png("test/good/000.png");
    png("test/crack/000.png");
    png("test/crack/001.png");
    png("ground_truth/crack/000_mask.png", 255);
    png("ground_truth/crack/001_mask.png", 255);
    text("test/crack/notes.txt", "not an image");

    EXPECT_EQ(detectDatasetLayout(root_.string()), DATASET_MVTEC_AD);
    const TestSet set = readTestSet(root_.string());
    EXPECT_EQ(set.layout, DATASET_MVTEC_AD);
    ASSERT_EQ(set.samples.size(), 3u);
    EXPECT_EQ(set.samples[0].imagePath, path("test/crack/000.png"));
    EXPECT_EQ(set.samples[0].defectType, "crack");
    EXPECT_TRUE(set.samples[0].isAnomalous);
    ASSERT_EQ(set.samples[0].maskPaths.size(), 1u);
    EXPECT_EQ(set.samples[0].maskPaths[0], path("ground_truth/crack/000_mask.png"));
    EXPECT_EQ(set.samples[2].defectType, "good");
    EXPECT_FALSE(set.samples[2].isAnomalous);
    EXPECT_TRUE(set.samples[2].maskPaths.empty());
    EXPECT_TRUE(set.hasMasks);

    const std::vector<String> train = listTrainingImages(root_.string());
    ASSERT_EQ(train.size(), 2u);
    EXPECT_EQ(train[0], path("train/good/000.png"));
}

TEST_F(Anomaly_Dataset, missing_masks_are_named_not_skipped)
{
    png("test/good/000.png");
    png("test/crack/000.png");
    png("test/crack/007.png");
    png("ground_truth/crack/000_mask.png", 255);
    try {
        readTestSet(root_.string(), DATASET_MVTEC_AD);
        FAIL() << "a missing mask must raise";
    } catch (const cv::Exception& e) {
        EXPECT_NE(e.err.find("1 anomalous image"), std::string::npos) << e.err;
        EXPECT_NE(e.err.find("007.png"), std::string::npos) << e.err;
        EXPECT_NE(e.err.find("007_mask.png"), std::string::npos) << e.err;
    }
}

TEST_F(Anomaly_Dataset, missing_directories_raise)
{
    EXPECT_THROW(readTestSet(path("nowhere")), cv::Exception);
    EXPECT_THROW(detectDatasetLayout(root_.string()), cv::Exception);  // empty folder
    EXPECT_THROW(readTestSet(root_.string(), DATASET_MVTEC_AD), cv::Exception);
    EXPECT_THROW(listTrainingImages(root_.string()), cv::Exception);
}

TEST_F(Anomaly_Dataset, mvtec_loco_collects_every_defect_mask_and_the_configs)
{
    png("train/good/000.png");
    png("test/good/000.png");
    png("test/logical_anomalies/000.png");
    png("test/structural_anomalies/000.png");
    png("ground_truth/logical_anomalies/000/000.png", 241);
    png("ground_truth/logical_anomalies/000/001.png", 242);
    png("ground_truth/structural_anomalies/000/000.png", 243);
    text("defects_config.json",
         "[{\"defect_name\": \"missing\", \"pixel_value\": 241, \"saturation_threshold\": 1.0,"
         " \"relative_saturation\": true},\n"
         " {\"defect_name\": \"extra\", \"pixel_value\": 242, \"saturation_threshold\": 5,"
         " \"relative_saturation\": false},\n"
         " {\"defect_name\": \"scratch\", \"pixel_value\": 243, \"saturation_threshold\": 0.5,"
         " \"relative_saturation\": true}]");

    EXPECT_EQ(detectDatasetLayout(root_.string()), DATASET_MVTEC_LOCO);
    const TestSet set = readTestSet(root_.string());
    ASSERT_EQ(set.samples.size(), 3u);
    EXPECT_EQ(set.samples[1].defectType, "logical_anomalies");
    ASSERT_EQ(set.samples[1].maskPaths.size(), 2u);
    EXPECT_EQ(set.samples[1].maskPaths[1], path("ground_truth/logical_anomalies/000/001.png"));
    ASSERT_EQ(set.defectConfigs.size(), 3u);
    EXPECT_EQ(set.defectConfigs[1].defectName, "extra");
    EXPECT_EQ(set.defectConfigs[1].pixelValue, 242);
    EXPECT_EQ(set.defectConfigs[1].saturationThreshold, 5.0);
    EXPECT_FALSE(set.defectConfigs[1].relativeSaturation);
    EXPECT_TRUE(set.defectConfigs[0].relativeSaturation);

    // 16-pixel defects: relative 1.0 -> 16; absolute 5 -> min(5, 16) = 5; relative 0.5 -> 8.
    const Mat raw = imread(set.samples[1].maskPaths[0], IMREAD_UNCHANGED);
    EXPECT_EQ(saturationArea(raw, set.defectConfigs), 16.0);
    EXPECT_EQ(saturationArea(Mat(4, 4, CV_8U, Scalar(242)), set.defectConfigs), 5.0);
    EXPECT_EQ(saturationArea(Mat(4, 4, CV_8U, Scalar(243)), set.defectConfigs), 8.0);
    EXPECT_THROW(saturationArea(Mat(4, 4, CV_8U, Scalar(7)), set.defectConfigs), cv::Exception);
    EXPECT_THROW(saturationArea(Mat(4, 4, CV_8U, Scalar(0)), set.defectConfigs), cv::Exception);
}

TEST_F(Anomaly_Dataset, loco_without_masks_or_with_bad_config_raises)
{
    png("test/good/000.png");
    png("test/logical_anomalies/003.png");
    text("defects_config.json", "[{\"defect_name\": \"a\", \"pixel_value\": 1}]");
    EXPECT_THROW(readDefectConfigs(path("defects_config.json")), cv::Exception);
    text("defects_config.json",
         "[{\"defect_name\": \"a\", \"pixel_value\": 1, \"saturation_threshold\": 1,"
         " \"relative_saturation\": true}]");
    try {
        readTestSet(root_.string());
        FAIL() << "a LOCO image without masks must raise";
    } catch (const cv::Exception& e) {
        EXPECT_NE(e.err.find("003.png"), std::string::npos) << e.err;
    }
}

TEST_F(Anomaly_Dataset, mvtec_3d_rgb_with_gt)
{
    png("train/good/rgb/000.png");
    png("test/good/rgb/000.png");
    png("test/good/gt/000.png", 0);
    png("test/hole/rgb/000.png");
    png("test/hole/gt/000.png", 255);
    EXPECT_EQ(detectDatasetLayout(root_.string()), DATASET_MVTEC_3D);
    const TestSet set = readTestSet(root_.string());
    ASSERT_EQ(set.samples.size(), 2u);
    EXPECT_EQ(set.samples[1].defectType, "hole");
    ASSERT_EQ(set.samples[1].maskPaths.size(), 1u);
    EXPECT_EQ(set.samples[1].maskPaths[0], path("test/hole/gt/000.png"));
    EXPECT_EQ(set.samples[0].maskPaths.size(), 1u);  // the all-zero gt of a good image
    EXPECT_TRUE(set.hasMasks);
    EXPECT_EQ(listTrainingImages(root_.string())[0], path("train/good/rgb/000.png"));
}

TEST_F(Anomaly_Dataset, folder_layout_matches_masks_by_stem)
{
    png("good/a.png");
    png("scratch/b.jpg");
    png("dent/c.png");
    png("masks/scratch/b.png", 255);
    png("masks/c_mask.png", 255);
    EXPECT_EQ(detectDatasetLayout(root_.string()), DATASET_FOLDER);
    const TestSet set = readTestSet(root_.string());
    ASSERT_EQ(set.samples.size(), 3u);  // the masks folder is not a defect type
    EXPECT_EQ(set.samples[0].defectType, "dent");
    EXPECT_EQ(set.samples[0].maskPaths[0], path("masks/c_mask.png"));
    EXPECT_EQ(set.samples[2].defectType, "scratch");
    EXPECT_EQ(set.samples[2].maskPaths[0], path("masks/scratch/b.png"));
    EXPECT_TRUE(set.hasMasks);
}

TEST_F(Anomaly_Dataset, folder_layout_without_masks_is_image_level_only)
{
    png("good/a.png");
    png("scratch/b.png");
    const TestSet set = readTestSet(root_.string(), DATASET_FOLDER);
    EXPECT_FALSE(set.hasMasks);
    EXPECT_TRUE(set.samples[1].isAnomalous);
    // A plain folder of images is a training set.
    png("plain/x.png");
    png("plain/y.bmp");
    EXPECT_EQ(listTrainingImages(path("plain")).size(), 2u);
}

TEST(Anomaly_DatasetMasks, binarize_is_greater_than_zero_over_any_channel)
{
    const Mat grey = (Mat_<uchar>(1, 3) << 0, 1, 255);
    Mat binary;
    binarizeMask(grey, binary);
    EXPECT_EQ(binary.type(), CV_8UC1);
    EXPECT_EQ(countNonZero(binary != (Mat_<uchar>(1, 3) << 0, 255, 255)), 0);
    const Mat colour(1, 2, CV_8UC3, Scalar(0, 0, 0));
    Mat c = colour.clone();
    c.at<Vec3b>(0, 1) = Vec3b(0, 9, 0);
    binarizeMask(c, binary);
    EXPECT_EQ(binary.at<uchar>(0, 0), 0);
    EXPECT_EQ(binary.at<uchar>(0, 1), 255);
    // Negative float values are not defects.
    const Mat signedMask = (Mat_<float>(1, 2) << -1.f, 0.5f);
    binarizeMask(signedMask, binary);
    EXPECT_EQ(binary.at<uchar>(0, 0), 0);
    EXPECT_EQ(binary.at<uchar>(0, 1), 255);
    EXPECT_THROW(binarizeMask(Mat(), binary), cv::Exception);
}

}  // namespace
}  // namespace opencv_test
