// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "defect_synthesis.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace anomaly_train {

namespace {

constexpr double kTwoPi = 6.283185307179586;

/** U(lo, hi) from the top 53 bits of one draw: the same on every platform, unlike
std::uniform_real_distribution whose algorithm the standard leaves open. */
double uniform(std::mt19937_64& rng, double lo, double hi)
{
    return lo + (hi - lo) * double(rng() >> 11) * 0x1.0p-53;
}

/** 0 .. n - 1 (n small: the modulo bias is negligible). */
int uniformIndex(std::mt19937_64& rng, int n)
{
    return int(rng() % uint64_t(n));
}

double fullScale(int depth)
{
    return depth == CV_8U ? 255.0 : depth == CV_16U ? 65535.0 : 1.0;
}

/** 0 top, 1 bottom, 2 left, 3 right: one of those `allowed` holds, from one draw. */
int drawEdge(std::mt19937_64& rng, BandEdges allowed)
{
    switch (allowed) {
        case BandEdges::TopBottom:
            return uniformIndex(rng, 2);
        case BandEdges::LeftRight:
            return 2 + uniformIndex(rng, 2);
        case BandEdges::All:
            break;
    }
    return uniformIndex(rng, 4);
}

/** 0/255 mask of a band from one of the edges o.bandEdges allows (0 top, 1 bottom, 2 left,
3 right). */
cv::Mat bandMask(cv::Size size, std::mt19937_64& rng, const DefectSynthesisOptions& o)
{
    const int edge = drawEdge(rng, o.bandEdges);
    const bool horizontal = edge < 2;  // the band runs along the image's width
    const int length = horizontal ? size.width : size.height;
    const int across = horizontal ? size.height : size.width;
    const double depth = uniform(rng, o.minBandDepth, o.maxBandDepth) * across;
    const double phase0 = uniform(rng, 0.0, kTwoPi);
    const double span = uniform(rng, o.minBorderPhaseSpan, o.maxBorderPhaseSpan);
    const double tilt = uniform(rng, -o.maxTilt, o.maxTilt);
    cv::Mat mask = cv::Mat::zeros(size, CV_8U);
    for (int t = 0; t < length; ++t) {
        const double u = double(t) / length;
        const double limit = depth + o.borderAmplitude * across * std::sin(phase0 + span * u) +
                             tilt * across * (u - 0.5);
        // Cells k = 0, 1, ... from the edge with k < limit.
        const int n = std::clamp(int(std::ceil(limit)), 0, across);
        if (n == 0)
            continue;
        const cv::Rect cells = edge == 0   ? cv::Rect(t, 0, 1, n)
                               : edge == 1 ? cv::Rect(t, across - n, 1, n)
                               : edge == 2 ? cv::Rect(0, t, n, 1)
                                           : cv::Rect(across - n, t, n, 1);
        mask(cells).setTo(255);
    }
    return mask;
}

/** 0/255 mask of a filled rotated ellipse centred in the inner 3/4 of the image. */
cv::Mat ellipseMask(cv::Size size, std::mt19937_64& rng, const DefectSynthesisOptions& o)
{
    const double w = size.width, h = size.height;
    const double cx = uniform(rng, w / 8, 7 * w / 8), cy = uniform(rng, h / 8, 7 * h / 8);
    const double a = uniform(rng, o.minEllipseAxis, o.maxEllipseAxis) * w;
    const double b = uniform(rng, o.minEllipseAxis, o.maxEllipseAxis) * h;
    const double angle = uniform(rng, 0.0, 180.0);
    cv::Mat mask = cv::Mat::zeros(size, CV_8U);
    cv::ellipse(mask,
                cv::RotatedRect(cv::Point2f(float(cx), float(cy)),
                                cv::Size2f(float(2 * a), float(2 * b)), float(angle)),
                cv::Scalar(255), cv::FILLED, cv::LINE_8);
    return mask;
}

/** m shifted cyclically by shift pixels along x (alongX) or y. */
cv::Mat roll(const cv::Mat& m, int shift, bool alongX)
{
    const int side = alongX ? m.cols : m.rows;
    const int s = ((shift % side) + side) % side;
    if (s == 0)
        return m;
    cv::Mat out;
    if (alongX)
        cv::hconcat(m.colRange(side - s, side), m.colRange(0, side - s), out);
    else
        cv::vconcat(m.rowRange(side - s, side), m.rowRange(0, side - s), out);
    return out;
}

}  // namespace

BandEdges parseBandEdges(const std::string& name)
{
    if (name == "all")
        return BandEdges::All;
    if (name == "top-bottom")
        return BandEdges::TopBottom;
    if (name == "left-right")
        return BandEdges::LeftRight;
    throw std::invalid_argument("band edges must be all, top-bottom or left-right, not '" + name +
                                "'");
}

std::string bandEdgesName(BandEdges edges)
{
    switch (edges) {
        case BandEdges::TopBottom:
            return "top-bottom";
        case BandEdges::LeftRight:
            return "left-right";
        case BandEdges::All:
            break;
    }
    return "all";
}

SyntheticDefect synthesizeDefect(const cv::Mat& target, const cv::Mat& source, std::mt19937_64& rng,
                                 const DefectSynthesisOptions& options)
{
    const int depth = target.depth(), channels = target.channels();
    if (target.size() != source.size() || target.type() != source.type())
        throw std::invalid_argument("target and source must have the same size and type");
    if (depth != CV_8U && depth != CV_16U && depth != CV_32F)
        throw std::invalid_argument("defect synthesis needs CV_8U, CV_16U or CV_32F images");
    if (channels != 1 && channels != 3 && channels != 4)
        throw std::invalid_argument("defect synthesis needs 1, 3 or 4 channels");
    if (target.rows < 16 || target.cols < 16)
        throw std::invalid_argument("defect synthesis needs images of at least 16x16");
    if (options.softenKernel < 1 || options.softenKernel % 2 == 0)
        throw std::invalid_argument("softenKernel must be odd and positive");
    if (options.toneMatchProbability > 0 && options.toneMatchSigma <= 0)
        throw std::invalid_argument("toneMatchSigma must be positive when tone matching is on");

    const bool band = uniform(rng, 0.0, 1.0) < options.bandProbability;
    const cv::Mat hard =
        band ? bandMask(target.size(), rng, options) : ellipseMask(target.size(), rng, options);
    SyntheticDefect out;
    hard.convertTo(out.alpha, CV_32F, 1.0 / 255);
    if (options.softenKernel > 1)
        cv::GaussianBlur(out.alpha, out.alpha, cv::Size(options.softenKernel, options.softenKernel),
                         0);

    cv::Mat rolled = source, pasted;
    if (uniform(rng, 0.0, 1.0) < options.rollProbability) {
        const bool alongX = uniformIndex(rng, 2) == 0;
        const int side = alongX ? source.cols : source.rows;
        const double r = uniform(rng, -options.maxRoll, options.maxRoll) * side;
        rolled = roll(source, int(std::lround(r)), alongX);
    }
    cv::Mat background, detail;  // detail: a buffer of its own, never the caller's source
    target.convertTo(background, CV_32F);
    rolled.convertTo(detail, CV_32F);
    if (options.toneMatchProbability > 0 && uniform(rng, 0.0, 1.0) < options.toneMatchProbability) {
        const double sigma = options.toneMatchSigma * std::min(target.rows, target.cols);
        cv::Mat sourceTone, targetTone;
        cv::GaussianBlur(detail, sourceTone, cv::Size(), sigma, sigma, cv::BORDER_REFLECT);
        cv::GaussianBlur(background, targetTone, cv::Size(), sigma, sigma, cv::BORDER_REFLECT);
        detail = detail - sourceTone + targetTone;
    }
    const double gain = uniform(rng, options.minGain, options.maxGain);
    const double offset = uniform(rng, -options.maxOffset, options.maxOffset) * fullScale(depth);
    detail.convertTo(pasted, CV_32F, gain, offset);

    cv::Mat alphaN;
    cv::merge(std::vector<cv::Mat>(size_t(channels), out.alpha), alphaN);
    const cv::Mat blended = background.mul(cv::Scalar::all(1.0) - alphaN) + pasted.mul(alphaN);
    blended.convertTo(out.image, target.type());
    return out;
}

cv::Mat cellTargets(const cv::Mat& alpha, int cellsHigh, int cellsWide)
{
    if (alpha.empty() || alpha.type() != CV_32FC1)
        throw std::invalid_argument("cellTargets needs a CV_32FC1 alpha");
    if (cellsHigh < 1 || cellsWide < 1)
        throw std::invalid_argument("cellTargets needs at least one cell each way");
    cv::Mat cells;
    cv::resize(alpha, cells, cv::Size(cellsWide, cellsHigh), 0, 0, cv::INTER_AREA);
    return cells;
}

}  // namespace anomaly_train
