// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// grainEnergy against hand-computed Sobel sums, bandEdgesAcrossGrain's decision rule, and
// measureGrain on streaked images written to disk.
#include "synthetic_defect_set.hpp"
#include "texture_grain.hpp"

#include <gtest/gtest.h>
#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>

#include <unistd.h>
#include <stdexcept>

using namespace anomaly_train;

namespace {

/** I(x, y) = x: a ramp across x, constant down every column (the purest vertical grain). */
cv::Mat rampAcrossX(int size)
{
    cv::Mat m(size, size, CV_8UC1);
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
            m.at<uchar>(y, x) = uchar(x);
    return m;
}

}  // namespace

TEST(TextureGrain, RampEnergyIsTheHandComputedSobelSum)
{
    const cv::Mat ramp = rampAcrossX(64);
    // Sobel d/dx = 4 (I(x+1) - I(x-1)) on every row: 8 inside, 4 at the two reflected borders,
    // in units of 1/255; nothing changes down a column.
    const double expected = 64 * (62 * 8.0 * 8.0 + 2 * 4.0 * 4.0) / (255.0 * 255.0);
    const GrainEnergy e = grainEnergy(ramp);
    EXPECT_NEAR(e.horizontal, expected, 1e-6 * expected);
    EXPECT_EQ(e.vertical, 0.0);
    const GrainEnergy t = grainEnergy(ramp.t());
    EXPECT_NEAR(t.vertical, expected, 1e-6 * expected);
    EXPECT_EQ(t.horizontal, 0.0);
}

TEST(TextureGrain, ColourAndDepthDoNotChangeTheEnergy)
{
    const cv::Mat grey = rampAcrossX(32);
    const GrainEnergy reference = grainEnergy(grey);
    cv::Mat colour, colour16, colourF, rgba;
    cv::merge(std::vector<cv::Mat>(3, grey), colour);
    colour.convertTo(colour16, CV_16U,
                     257.0);  // 255 * 257 = 65535: the same fraction of full scale
    colour.convertTo(colourF, CV_32F, 1.0 / 255);
    cv::Mat alpha = cv::Mat::zeros(grey.size(), CV_8U);
    cv::randu(alpha, 0, 256);  // the alpha channel is not texture and must be left out
    cv::merge(std::vector<cv::Mat>{grey, grey, grey, alpha}, rgba);
    for (const cv::Mat& image : {colour, colour16, colourF, rgba}) {
        const GrainEnergy e = grainEnergy(image);
        EXPECT_NEAR(e.horizontal, reference.horizontal, 1e-5 * reference.horizontal)
            << "type " << image.type();
        EXPECT_NEAR(e.vertical, 0.0, 1e-9) << "type " << image.type();
    }
}

TEST(TextureGrain, BandsRunAcrossAClearGrainOnly)
{
    EXPECT_EQ(bandEdgesAcrossGrain({2.0, 1.0}), BandEdges::TopBottom);  // the ratio exactly met
    EXPECT_EQ(bandEdgesAcrossGrain({1.9, 1.0}), BandEdges::All);
    EXPECT_EQ(bandEdgesAcrossGrain({1.0, 2.0}), BandEdges::LeftRight);
    EXPECT_EQ(bandEdgesAcrossGrain({1.0, 1.0}), BandEdges::All);
    EXPECT_EQ(bandEdgesAcrossGrain({5.0, 0.0}), BandEdges::TopBottom);
    EXPECT_EQ(bandEdgesAcrossGrain({0.0, 0.0}), BandEdges::All);  // a flat image: no grain
    EXPECT_EQ(bandEdgesAcrossGrain({3.0, 1.0}, 4.0), BandEdges::All);
    EXPECT_EQ(bandEdgesAcrossGrain({3.0, 1.0}, 1.0), BandEdges::TopBottom);
    EXPECT_THROW(bandEdgesAcrossGrain({1.0, 1.0}, 0.5), std::invalid_argument);
}

TEST(TextureGrain, RejectsBadImages)
{
    EXPECT_THROW(grainEnergy(cv::Mat()), std::invalid_argument);
    EXPECT_THROW(grainEnergy(cv::Mat::zeros(8, 8, CV_8UC2)), std::invalid_argument);
    EXPECT_THROW(grainEnergy(cv::Mat::zeros(8, 8, CV_64FC1)), std::invalid_argument);
}

TEST(TextureGrain, MeasuredOnStreakedImagesOnDisk)
{
    const std::string dir = ::testing::TempDir() + "/grain_" + std::to_string(::getpid());
    cv::utils::fs::createDirectories(dir);
    // Vertical streaks: every column one random grey level, every row the same.
    std::vector<std::string> streaked, crossStreaked;
    cv::RNG rng(3);
    for (int i = 0; i < 5; ++i) {
        cv::Mat row(1, 48, CV_8UC1);
        rng.fill(row, cv::RNG::UNIFORM, 0, 256);
        const cv::Mat image = cv::repeat(row, 48, 1);
        streaked.push_back(dir + cv::format("/v%d.png", i));
        crossStreaked.push_back(dir + cv::format("/h%d.png", i));
        ASSERT_TRUE(cv::imwrite(streaked.back(), image));
        ASSERT_TRUE(cv::imwrite(crossStreaked.back(), image.t()));
    }
    // At the network's size the streaks stay columns (resizing acts on x and y apart).
    const GrainEnergy v = measureGrain(streaked, cv::Size(32, 32));
    EXPECT_GT(v.horizontal, 0.0);
    EXPECT_NEAR(v.vertical, 0.0, 1e-9 * v.horizontal);
    EXPECT_EQ(bandEdgesAcrossGrain(v), BandEdges::TopBottom);
    EXPECT_EQ(bandEdgesAcrossGrain(measureGrain(crossStreaked, cv::Size(32, 32))),
              BandEdges::LeftRight);
    // maxImages 2 of 5: images 0 and 2 (k * n / count), whose energies add up.
    const GrainEnergy two = measureGrain(streaked, cv::Size(32, 32), 2);
    const double expected = measureGrain({streaked[0]}, cv::Size(32, 32)).horizontal +
                            measureGrain({streaked[2]}, cv::Size(32, 32)).horizontal;
    EXPECT_NEAR(two.horizontal, expected, 1e-9 * expected);
    EXPECT_THROW(measureGrain({}, cv::Size(32, 32)), std::invalid_argument);
    EXPECT_THROW(measureGrain(streaked, cv::Size(32, 32), 0), std::invalid_argument);
    EXPECT_THROW(measureGrain({dir + "/missing.png"}, cv::Size(32, 32)), std::runtime_error);
    cv::utils::fs::remove_all(dir);
}
