// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// DRAEM-style synthetic defects pasted on good images, the training data of a segmentation head.
#ifndef ANOMALY_TRAIN_DEFECT_SYNTHESIS_HPP
#define ANOMALY_TRAIN_DEFECT_SYNTHESIS_HPP

#include <opencv2/core.hpp>

#include <random>
#include <string>

namespace anomaly_train {

/** The edges bands may enter from. Why not always all four: a band's inner border runs along its
edge, and where the texture has a grain (magnetic_tile's vertical grinding streaks) a border along
the grain looks like the grain itself, a streak or a lit column that good images have too, while
real regions ground or finished differently (`uneven`) end in a seam across the grain. */
enum class BandEdges
{
    All,        // top, bottom, left and right
    TopBottom,  // inner borders run across a vertical grain
    LeftRight,  // inner borders run across a horizontal grain
};

/** "all", "top-bottom" or "left-right"; parse throws std::invalid_argument for anything else. */
BandEdges parseBandEdges(const std::string& name);
std::string bandEdgesName(BandEdges edges);

/** The shapes and the look of the synthetic defects. Bands entering from an edge imitate
magnetic_tile's `uneven` (a region whose inside looks like good texture and whose only cue is its
border and a slightly different tone); ellipses stand for compact blobs. Fractions of a side keep
the shapes the same at every image size. */
struct DefectSynthesisOptions
{
    double bandProbability = 0.85;  // else an ellipse
    BandEdges bandEdges = BandEdges::All;
    double minBandDepth = 0.10;  // band depth from its edge, fraction of the side across it
    double maxBandDepth = 0.45;
    double borderAmplitude = 0.05;    // sine wave on the band's inner border, fraction of that side
    double minBorderPhaseSpan = 1.0;  // radians the sine runs over the band's length: U(min, max)
    double maxBorderPhaseSpan = 6.0;
    double maxTilt = 0.06;  // inner border tilted by U(-maxTilt, maxTilt) of the side, end to end
    double minEllipseAxis = 1.0 / 10;  // semi-axes, fraction of the side: U(min, max) each
    double maxEllipseAxis = 1.0 / 3;
    double rollProbability = 0.3;  // the pasted pixels come from the source rolled (cyclic shift)
    double maxRoll = 0.25;         //   by U(-maxRoll, maxRoll) of the side along one random axis
    double toneMatchProbability = 0.5;    // the pasted pixels keep their detail but take the
    double toneMatchSigma = 0.1;          //   target's tone: its Gaussian blur, sigma this fraction
                                          //   of the shorter side, replaces the source's
    double minGain = 0.9, maxGain = 1.1;  // pasted = source * gain + offset
    double maxOffset = 8.0 / 255;  // offset U(-maxOffset, maxOffset) of the depth's full scale
                                   // (255 for CV_8U, 65535 for CV_16U, 1 for CV_32F)
    int softenKernel = 5;  // odd; Gaussian kernel size that softens the mask's edge (1: hard edge)
};

/** A good image with one synthetic defect, and where it lies. */
struct SyntheticDefect
{
    cv::Mat image;  // same size and type as the target
    cv::Mat alpha;  // CV_32FC1 in [0, 1]: how much of the pasted region each pixel holds
};

/** Pastes a region of source (another good image, or target itself) onto target: a band from one
of the edges options.bandEdges allows, whose inner border is a tilted sine wave, or a rotated filled
ellipse.

Why pasted good texture: the defect's inside then looks locally normal, so the head can only find
it from its border and from the region's slightly changed tone (gain, offset) or displaced
texture (roll), as with real `uneven` tiles. The softened mask keeps the border from being a
sharp step that real defects do not have. Tone matching (half of the defects by default): good
tiles differ in their illumination, so a region pasted from another tile often differs from its
surroundings in its smooth tone alone, which teaches the head to mark the natural brightness
changes of good tiles; on half of the defects the pasted pixels are therefore
source - blur(source) + blur(target), the other tile's detail on this tile's tone, and only a
change of texture gives them away.

target and source: same size and type (CV_8U, CV_16U or CV_32F; 1, 3 or 4 channels), at least
16x16; throws std::invalid_argument otherwise (and for an even or non-positive softenKernel, or
tone matching on with a non-positive toneMatchSigma).
image = target * (1 - alpha) + pasted * alpha, per channel, saturated to the depth (convertTo
semantics). All randomness comes from rng through a helper of its own (not the standard
distributions), in a fixed order, so one rng state gives the same defect on every platform. */
SyntheticDefect synthesizeDefect(const cv::Mat& target, const cv::Mat& source, std::mt19937_64& rng,
                                 const DefectSynthesisOptions& options = {});

/** Per cell of a cellsHigh x cellsWide grid over the image: the mean of alpha over the cell
(cv::resize INTER_AREA), CV_32FC1. Why a fraction rather than a 0/1 label: it is the training
target of the segmentation head on the stride-16 grid, where a cell the defect only grazes should
count for as much of it as the defect covers. alpha: CV_32FC1, not empty; cells > 0, else
std::invalid_argument. */
cv::Mat cellTargets(const cv::Mat& alpha, int cellsHigh, int cellsWide);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_DEFECT_SYNTHESIS_HPP
