// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// synthesizeDefect's blend, shapes, randomness and input checks on random and constant images,
// and cellTargets against hand-computed cell fractions.
#include "defect_synthesis.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <set>
#include <stdexcept>

using namespace anomaly_train;

namespace {

cv::Mat randomImage(int type, uint64_t seed, int size = 64)
{
    cv::RNG rng(seed);
    cv::Mat m(size, size, type);
    rng.fill(m, cv::RNG::UNIFORM, 0, 256);
    return m;
}

/** Pasted = source exactly: no gain, offset, roll or tone matching. */
DefectSynthesisOptions exactPaste(int softenKernel)
{
    DefectSynthesisOptions o;
    o.minGain = o.maxGain = 1.0;
    o.maxOffset = 0.0;
    o.rollProbability = 0.0;
    o.toneMatchProbability = 0.0;
    o.softenKernel = softenKernel;
    return o;
}

/** 0/255 mask of alpha == 1. */
cv::Mat fullPixels(const cv::Mat& alpha)
{
    return alpha == 1.0f;
}

}  // namespace

TEST(DefectSynthesis, HardMaskCopiesSourceInsideAndKeepsTargetOutside)
{
    const cv::Mat target = randomImage(CV_8UC3, 1), source = randomImage(CV_8UC3, 2);
    for (uint64_t seed = 0; seed < 12; ++seed) {  // bands and ellipses
        std::mt19937_64 rng(seed);
        const auto d = synthesizeDefect(target, source, rng, exactPaste(1));
        ASSERT_EQ(d.image.type(), CV_8UC3);
        ASSERT_EQ(d.alpha.type(), CV_32FC1);
        ASSERT_EQ(d.image.size(), target.size());
        int inside = 0, outside = 0;
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x) {
                const float a = d.alpha.at<float>(y, x);
                ASSERT_TRUE(a == 0.0f || a == 1.0f) << "seed " << seed << " alpha " << a;
                const auto expected =
                    a == 1.0f ? source.at<cv::Vec3b>(y, x) : target.at<cv::Vec3b>(y, x);
                ASSERT_EQ(d.image.at<cv::Vec3b>(y, x), expected) << "seed " << seed;
                ++(a == 1.0f ? inside : outside);
            }
        EXPECT_GT(inside, 0) << "seed " << seed;
        EXPECT_GT(outside, 0) << "seed " << seed;
    }
}

TEST(DefectSynthesis, SoftEdgeBlendsBetweenTargetAndSource)
{
    const cv::Mat target = randomImage(CV_8UC3, 3), source = randomImage(CV_8UC3, 4);
    int fractional = 0;
    for (uint64_t seed = 0; seed < 6; ++seed) {
        std::mt19937_64 rng(seed);
        const auto d = synthesizeDefect(target, source, rng, exactPaste(5));
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x) {
                const float a = d.alpha.at<float>(y, x);
                ASSERT_GE(a, 0.0f);
                ASSERT_LE(a, 1.0f);
                if (a == 0.0f || a == 1.0f)
                    continue;
                ++fractional;
                for (int c = 0; c < 3; ++c) {
                    const int t = target.at<cv::Vec3b>(y, x)[c], s = source.at<cv::Vec3b>(y, x)[c];
                    const int v = d.image.at<cv::Vec3b>(y, x)[c];
                    EXPECT_GE(v, std::min(t, s) - 1);
                    EXPECT_LE(v, std::max(t, s) + 1);
                }
            }
    }
    EXPECT_GT(fractional, 0);
}

TEST(DefectSynthesis, SameSeedSameDefectOtherSeedOtherDefect)
{
    const cv::Mat target = randomImage(CV_8UC3, 5), source = randomImage(CV_8UC3, 6);
    std::mt19937_64 a(42), b(42), c(43);
    const auto da = synthesizeDefect(target, source, a);
    const auto db = synthesizeDefect(target, source, b);
    const auto dc = synthesizeDefect(target, source, c);
    EXPECT_EQ(cv::norm(da.image, db.image, cv::NORM_INF), 0.0);
    EXPECT_EQ(cv::norm(da.alpha, db.alpha, cv::NORM_INF), 0.0);
    EXPECT_GT(cv::norm(da.alpha, dc.alpha, cv::NORM_INF), 0.0);
}

namespace {

/** The edges (0 top, 1 bottom, 2 left, 3 right) straight bands of depth 16 in 64x64 images came
from over 40 seeds, each band checked to be exactly one such strip. */
std::set<int> straightBandEdges(BandEdges allowed)
{
    DefectSynthesisOptions o = exactPaste(1);
    o.bandProbability = 1.0;
    o.bandEdges = allowed;
    o.borderAmplitude = 0.0;
    o.maxTilt = 0.0;
    o.minBandDepth = o.maxBandDepth = 0.25;
    const cv::Mat image = randomImage(CV_8UC1, 7);
    std::set<int> edges;
    for (uint64_t seed = 0; seed < 40; ++seed) {
        std::mt19937_64 rng(seed);
        const cv::Mat full = fullPixels(synthesizeDefect(image, image, rng, o).alpha);
        const int count = cv::countNonZero(full);
        EXPECT_EQ(count % 64, 0) << "seed " << seed;
        const int depth = count / 64;
        // Cells k < 0.25 * 64 from the edge: exactly 16 (the arithmetic is exact).
        EXPECT_EQ(depth, 16) << "seed " << seed;
        const cv::Rect strips[] = {{0, 0, 64, depth},
                                   {0, 64 - depth, 64, depth},
                                   {0, 0, depth, 64},
                                   {64 - depth, 0, depth, 64}};
        int matched = 0;
        for (int e = 0; e < 4; ++e)
            if (cv::countNonZero(full(strips[e])) == count) {
                edges.insert(e);
                ++matched;
            }
        EXPECT_EQ(matched, 1) << "seed " << seed;
    }
    return edges;
}

}  // namespace

TEST(DefectSynthesis, StraightBandIsAStripAlongOneEdge)
{
    EXPECT_EQ(straightBandEdges(BandEdges::All), (std::set<int>{0, 1, 2, 3}));
}

TEST(DefectSynthesis, BandEdgesRestrictWhereBandsEnter)
{
    EXPECT_EQ(straightBandEdges(BandEdges::TopBottom), (std::set<int>{0, 1}));
    EXPECT_EQ(straightBandEdges(BandEdges::LeftRight), (std::set<int>{2, 3}));
}

TEST(DefectSynthesis, BandEdgesNames)
{
    for (BandEdges e : {BandEdges::All, BandEdges::TopBottom, BandEdges::LeftRight})
        EXPECT_EQ(parseBandEdges(bandEdgesName(e)), e);
    EXPECT_EQ(bandEdgesName(BandEdges::TopBottom), "top-bottom");
    for (const char* bad : {"", "auto", "top", "Top-Bottom"})
        EXPECT_THROW(parseBandEdges(bad), std::invalid_argument) << bad;
}

TEST(DefectSynthesis, EllipseIsOneBlobCentredInTheInnerThreeQuarters)
{
    DefectSynthesisOptions o = exactPaste(1);
    o.bandProbability = 0.0;
    o.minEllipseAxis = o.maxEllipseAxis = 0.1;  // 6.4 px: never clipped on 64x64
    const cv::Mat image = randomImage(CV_8UC1, 8);
    for (uint64_t seed = 0; seed < 20; ++seed) {
        std::mt19937_64 rng(seed);
        const cv::Mat full = fullPixels(synthesizeDefect(image, image, rng, o).alpha);
        cv::Mat labels, stats, centroids;
        ASSERT_EQ(cv::connectedComponentsWithStats(full, labels, stats, centroids), 2)
            << "seed " << seed;  // background + one blob
        // A circle of radius 6.4 covers about 129 pixels.
        EXPECT_NEAR(stats.at<int>(1, cv::CC_STAT_AREA), 129, 25) << "seed " << seed;
        for (int i = 0; i < 2; ++i) {
            EXPECT_GE(centroids.at<double>(1, i), 8.0) << "seed " << seed;
            EXPECT_LE(centroids.at<double>(1, i), 56.0) << "seed " << seed;
        }
    }
}

TEST(DefectSynthesis, RollPastesTheSourceShiftedAlongOneAxis)
{
    DefectSynthesisOptions o = exactPaste(1);
    o.rollProbability = 1.0;
    const cv::Mat target = randomImage(CV_8UC1, 9), source = randomImage(CV_8UC1, 10);
    int shifted = 0;
    for (uint64_t seed = 0; seed < 10; ++seed) {
        std::mt19937_64 rng(seed);
        const auto d = synthesizeDefect(target, source, rng, o);
        // Exactly one shift (dx, 0) or (0, dy), |shift| <= 16, explains every pasted pixel.
        int matches = 0, found = 0;
        for (int axis = 0; axis < 2; ++axis)
            for (int r = -16; r <= 16; ++r) {
                if (axis == 1 && r == 0)
                    continue;  // the zero shift counted once
                bool all = true;
                for (int y = 0; y < 64 && all; ++y)
                    for (int x = 0; x < 64 && all; ++x)
                        if (d.alpha.at<float>(y, x) == 1.0f) {
                            const int sx = axis == 0 ? (x - r + 64) % 64 : x;
                            const int sy = axis == 1 ? (y - r + 64) % 64 : y;
                            all = d.image.at<uchar>(y, x) == source.at<uchar>(sy, sx);
                        }
                if (all) {
                    ++matches;
                    found = r;
                }
            }
        EXPECT_EQ(matches, 1) << "seed " << seed;
        shifted += found != 0;
    }
    EXPECT_GT(shifted, 5);
}

TEST(DefectSynthesis, GainAndSaturation)
{
    DefectSynthesisOptions o = exactPaste(1);
    o.minGain = o.maxGain = 1.1;
    {
        const cv::Mat target(64, 64, CV_32FC1, cv::Scalar(0.0)),
            source(64, 64, CV_32FC1, cv::Scalar(0.5));
        std::mt19937_64 rng(11);
        const auto d = synthesizeDefect(target, source, rng, o);
        ASSERT_GT(cv::countNonZero(fullPixels(d.alpha)), 0);
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x)
                EXPECT_NEAR(d.image.at<float>(y, x), d.alpha.at<float>(y, x) * 0.55f, 1e-6);
        EXPECT_EQ(source.at<float>(0, 0), 0.5f);  // the source is left alone
    }
    {
        const cv::Mat target(64, 64, CV_16UC1, cv::Scalar(0)),
            source(64, 64, CV_16UC1, cv::Scalar(60000));
        std::mt19937_64 rng(12);
        const auto d = synthesizeDefect(target, source, rng, o);
        ASSERT_GT(cv::countNonZero(fullPixels(d.alpha)), 0);
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x)
                EXPECT_EQ(d.image.at<uint16_t>(y, x), d.alpha.at<float>(y, x) == 1.0f ? 65535 : 0);
    }
}

TEST(DefectSynthesis, CellTargetsAreCellFractions)
{
    // Left half full; the cell at row 0, column 2 a quarter full (its top 4 rows: interpolation at
    // the cell's centre, as INTER_LINEAR would, sees none of it); the rest empty.
    cv::Mat alpha(64, 64, CV_32FC1, cv::Scalar(0.0));
    alpha.colRange(0, 32).setTo(1.0);
    alpha(cv::Rect(32, 0, 16, 4)).setTo(1.0);
    const cv::Mat cells = cellTargets(alpha, 4, 4);
    ASSERT_EQ(cells.type(), CV_32FC1);
    ASSERT_EQ(cells.size(), cv::Size(4, 4));
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
            const float expected = j < 2 ? 1.0f : (i == 0 && j == 2 ? 0.25f : 0.0f);
            EXPECT_NEAR(cells.at<float>(i, j), expected, 1e-6) << i << ", " << j;
        }
}

TEST(DefectSynthesis, RejectsBadInput)
{
    std::mt19937_64 rng(13);
    const cv::Mat ok(64, 64, CV_8UC3, cv::Scalar::all(0));
    const auto bad = [&](const cv::Mat& t, const cv::Mat& s) {
        EXPECT_THROW(synthesizeDefect(t, s, rng), std::invalid_argument);
    };
    bad(ok, cv::Mat(32, 64, CV_8UC3, cv::Scalar::all(0)));
    bad(ok, cv::Mat(64, 64, CV_8UC1, cv::Scalar::all(0)));
    bad(cv::Mat(64, 64, CV_8UC2, cv::Scalar::all(0)), cv::Mat(64, 64, CV_8UC2, cv::Scalar::all(0)));
    bad(cv::Mat(64, 64, CV_64FC1, cv::Scalar(0)), cv::Mat(64, 64, CV_64FC1, cv::Scalar(0)));
    bad(cv::Mat(15, 64, CV_8UC3, cv::Scalar::all(0)), cv::Mat(15, 64, CV_8UC3, cv::Scalar::all(0)));
    DefectSynthesisOptions even;
    even.softenKernel = 4;
    EXPECT_THROW(synthesizeDefect(ok, ok, rng, even), std::invalid_argument);
    DefectSynthesisOptions flatTone;
    flatTone.toneMatchProbability = 0.5;
    flatTone.toneMatchSigma = 0;
    EXPECT_THROW(synthesizeDefect(ok, ok, rng, flatTone), std::invalid_argument);
    EXPECT_NO_THROW(synthesizeDefect(ok, ok, rng));
    const cv::Mat smallest(16, 16, CV_16UC4, cv::Scalar::all(1000));
    EXPECT_EQ(synthesizeDefect(smallest, smallest, rng).image.type(), CV_16UC4);
    EXPECT_THROW(cellTargets(cv::Mat(64, 64, CV_8UC1), 4, 4), std::invalid_argument);
}

TEST(DefectSynthesis, ToneMatchPastesTheSourceDetailOnTheTargetTone)
{
    // Source: tone 0.7 plus a checkerboard of +-0.1 (period 2 pixels, which a Gaussian of sigma
    // 6.4 pixels removes to below 1e-6); target: tone 0.2. Tone-matched, the pasted pixels are
    // the target's tone plus the source's checkerboard.
    DefectSynthesisOptions o = exactPaste(1);
    o.toneMatchProbability = 1.0;
    o.toneMatchSigma = 0.1;
    const cv::Mat target(64, 64, CV_32FC1, cv::Scalar(0.2));
    cv::Mat source(64, 64, CV_32FC1);
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x)
            source.at<float>(y, x) = (x + y) % 2 ? 0.8f : 0.6f;
    int checked = 0;
    for (uint64_t seed = 0; seed < 8; ++seed) {
        std::mt19937_64 rng(seed);
        const auto d = synthesizeDefect(target, source, rng, o);
        // 20 pixels (about 3 sigma) from the border: the reflected border breaks the checkerboard,
        // but that changes the blur this far in by less than the tolerance.
        for (int y = 20; y < 44; ++y)
            for (int x = 20; x < 44; ++x) {
                const float a = d.alpha.at<float>(y, x);
                const float expected = a == 1.0f ? ((x + y) % 2 ? 0.3f : 0.1f) : 0.2f;
                ASSERT_NEAR(d.image.at<float>(y, x), expected, 1e-4)
                    << "seed " << seed << " at " << x << ", " << y;
                checked += a == 1.0f;
            }
    }
    EXPECT_GT(checked, 100);
    EXPECT_EQ(source.at<float>(0, 1), 0.8f);  // the source is left alone
    EXPECT_EQ(target.at<float>(0, 0), 0.2f);
}
