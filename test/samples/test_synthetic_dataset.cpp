// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The synthetic dataset's ground truth: every pixel a defect changes lies inside its mask, and the
// mask is not inflated beyond the pixels that changed.
#include "dataset_writer.hpp"
#include "defect_painter.hpp"
#include "surface_texture.hpp"

#include <opencv2/imgcodecs.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>

namespace {

namespace fs = std::filesystem;
using namespace anomaly_synth;

// Pixels where any channel of two 8-bit BGR images differs, as a 0/255 mask.
cv::Mat changedPixels(const cv::Mat& a, const cv::Mat& b)
{
    cv::Mat diff;
    cv::absdiff(a, b, diff);
    cv::Mat channels[3];
    cv::split(diff, channels);
    cv::Mat any = (channels[0] | channels[1] | channels[2]) > 0;
    return any;
}

void expectMaskCoversChange(const cv::Mat& clean8, const cv::Mat& defective8, const cv::Mat& mask,
                            const std::string& what)
{
    ASSERT_EQ(mask.type(), CV_8U) << what;
    // Masks are binary 0/255.
    EXPECT_EQ(cv::countNonZero((mask != 0) & (mask != 255)), 0) << what;
    const int maskPixels = cv::countNonZero(mask);
    EXPECT_GT(maskPixels, 0) << what;
    const cv::Mat changed = changedPixels(clean8, defective8);
    EXPECT_EQ(cv::countNonZero(changed & ~mask), 0) << what << ": changed pixels outside the mask";
    // A mask pixel has alpha >= 0.1 and the defect's look differs from the surface by far more
    // than 10 grey levels, so nearly all of them change; allow a margin for coincidences.
    const int changedInMask = cv::countNonZero(changed & mask);
    EXPECT_GE(changedInMask, 0.9 * maskPixels) << what;
}

}  // namespace

namespace anomaly_synth {
// Readable parameter names in test output instead of gtest's byte dump.
void PrintTo(Surface surface, std::ostream* out)
{
    *out << surfaceName(surface);
}
}  // namespace anomaly_synth

namespace {

class SyntheticDefects : public ::testing::TestWithParam<Surface>
{
};

TEST_P(SyntheticDefects, MaskIsExactlyTheChangedPixels)
{
    const Surface surface = GetParam();
    for (DefectType type : allDefectTypes()) {
        for (uint64_t seed : {3ull, 1234ull, 987654321ull}) {
            const cv::Mat clean = renderSurface(surface, 160, seed);
            const DefectLayer layer = makeDefect(type, surface, clean, seed + 11);
            cv::Mat defective, mask;
            applyDefect(clean, layer, defective, mask);
            expectMaskCoversChange(
                toBgr8(clean), toBgr8(defective), mask,
                surfaceName(surface) + "/" + defectName(type) + " seed " + std::to_string(seed));
        }
    }
}

TEST_P(SyntheticDefects, SameSeedSamePixelsOtherSeedOtherPixels)
{
    const Surface surface = GetParam();
    const cv::Mat a = renderSurface(surface, 96, 42);
    const cv::Mat b = renderSurface(surface, 96, 42);
    const cv::Mat c = renderSurface(surface, 96, 43);
    EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
    EXPECT_GT(cv::norm(a, c, cv::NORM_INF), 0.0);
    double lo = 0, hi = 0;
    cv::minMaxLoc(a.reshape(1), &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LE(hi, 1.0);
}

INSTANTIATE_TEST_SUITE_P(AllSurfaces, SyntheticDefects,
                         ::testing::Values(Surface::BrushedMetal, Surface::WovenFabric,
                                           Surface::GrainyPlastic),
                         [](const ::testing::TestParamInfo<Surface>& param) {
                             return surfaceName(param.param);
                         });

// The files on disk: MVTec layout, and each written defect image differs from the clean surface
// rendered again from the same seed only inside the written mask.
TEST(SyntheticDatasetFiles, LayoutAndMasksOnDisk)
{
    const fs::path root =
        fs::temp_directory_path() / ("anomaly_synth_test_" + std::to_string(::getpid()));
    fs::remove_all(root);
    DatasetOptions options;
    options.root = root.string();
    options.surface = Surface::WovenFabric;
    options.seed = 5;
    options.trainGood = 3;
    options.testGood = 2;
    options.testPerDefect = 2;
    options.size = 128;
    long lastDone = 0, lastTotal = 0;
    writeDataset(options, [&](long done, long total) {
        lastDone = done;
        lastTotal = total;
    });
    EXPECT_EQ(lastTotal, 3 + 2 + 4 * 2);
    EXPECT_EQ(lastDone, lastTotal);

    for (const char* name : {"000.png", "001.png", "002.png"})
        EXPECT_TRUE(fs::exists(root / "train" / "good" / name)) << name;
    EXPECT_FALSE(fs::exists(root / "train" / "good" / "003.png"));
    EXPECT_TRUE(fs::exists(root / "test" / "good" / "001.png"));

    const std::vector<DefectType> types = allDefectTypes();
    for (int d = 0; d < static_cast<int>(types.size()); ++d) {
        for (int i = 0; i < 2; ++i) {
            const std::string stem = imageStem(i);
            const fs::path imagePath = root / "test" / defectName(types[d]) / (stem + ".png");
            const fs::path maskPath =
                root / "ground_truth" / defectName(types[d]) / (stem + "_mask.png");
            const cv::Mat image = cv::imread(imagePath.string(), cv::IMREAD_UNCHANGED);
            const cv::Mat mask = cv::imread(maskPath.string(), cv::IMREAD_UNCHANGED);
            ASSERT_FALSE(image.empty()) << imagePath;
            ASSERT_FALSE(mask.empty()) << maskPath;
            EXPECT_EQ(image.type(), CV_8UC3);
            EXPECT_EQ(image.size(), cv::Size(128, 128));
            EXPECT_EQ(mask.size(), image.size());
            const cv::Mat clean = toBgr8(renderSurface(
                options.surface, options.size, imageSeed(options.seed, Split::TestDefect, d, i)));
            expectMaskCoversChange(clean, image, mask, imagePath.string());
        }
    }
    // Good test images are untouched surfaces.
    const cv::Mat good = cv::imread((root / "test" / "good" / "000.png").string());
    const cv::Mat expected =
        toBgr8(renderSurface(options.surface, options.size, imageSeed(5, Split::TestGood, -1, 0)));
    EXPECT_EQ(cv::norm(good, expected, cv::NORM_INF), 0.0);
    fs::remove_all(root);
}

}  // namespace
