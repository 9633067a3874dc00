// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "defect_painter.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace anomaly_synth {
namespace {

// Alpha below this is cut to zero: the faint tail of a soft edge would otherwise change a few
// pixels by one grey level outside any sensible mask.
constexpr float kMaskAlpha = 0.1f;

// Shapes are drawn on a 4x canvas and area-averaged down: anti-aliased edges and sub-pixel widths.
constexpr int kSupersample = 4;
constexpr int kShift = 4;  // fractional bits for cv::line/fillPoly on the supersampled canvas

class Canvas
{
public:
    explicit Canvas(cv::Size size) : size_(size), big_(size * kSupersample, CV_8U, cv::Scalar(0)) {}

    // Points are in image pixels; thickness too.
    void line(cv::Point2d a, cv::Point2d b, double thickness)
    {
        const int width = std::max(1, static_cast<int>(std::lround(thickness * kSupersample)));
        cv::line(big_, fixedPoint(a), fixedPoint(b), cv::Scalar(255), width, cv::LINE_8, kShift);
    }
    void fill(const std::vector<cv::Point2d>& polygon)
    {
        std::vector<cv::Point> points;
        for (const cv::Point2d& p : polygon)
            points.push_back(fixedPoint(p));
        cv::fillPoly(big_, std::vector<std::vector<cv::Point>>{points}, cv::Scalar(255), cv::LINE_8,
                     kShift);
    }
    // Coverage of each image pixel, CV_32F in [0,1].
    cv::Mat coverage() const
    {
        cv::Mat small;
        cv::resize(big_, small, size_, 0, 0, cv::INTER_AREA);
        small.convertTo(small, CV_32F, 1.0 / 255.0);
        return small;
    }

private:
    static cv::Point fixedPoint(cv::Point2d p)
    {
        const double k = kSupersample * (1 << kShift);
        // +0.5: image pixel centres are at integer coordinates, supersampled ones at half-integers.
        return cv::Point(static_cast<int>(std::lround((p.x + 0.5) * k - 0.5 * (1 << kShift))),
                         static_cast<int>(std::lround((p.y + 0.5) * k - 0.5 * (1 << kShift))));
    }
    cv::Size size_;
    cv::Mat big_;
};

cv::Mat blurred(const cv::Mat& image, double sigma)
{
    cv::Mat out;
    cv::GaussianBlur(image, out, cv::Size(), sigma, sigma, cv::BORDER_REFLECT);
    return out;
}

// A smooth closed outline around a centre: radius modulated by a few random harmonics.
std::vector<cv::Point2d> blobOutline(cv::RNG& rng, cv::Point2d centre, double radiusX,
                                     double radiusY, double roughness)
{
    const double rotation = rng.uniform(0.0, CV_PI);
    double amplitude[4], phase[4];
    for (int k = 0; k < 4; ++k) {
        amplitude[k] = rng.uniform(0.0, 0.16) / (k + 1);
        phase[k] = rng.uniform(0.0, 2.0 * CV_PI);
    }
    std::vector<cv::Point2d> outline;
    const int vertices = 64;
    for (int i = 0; i < vertices; ++i) {
        const double t = 2.0 * CV_PI * i / vertices;
        double r = 1.0;
        for (int k = 0; k < 4; ++k)
            r += amplitude[k] * std::sin((k + 2) * t + phase[k]);
        r *= 1.0 + roughness * rng.gaussian(1.0);
        const double x = r * radiusX * std::cos(t), y = r * radiusY * std::sin(t);
        outline.emplace_back(centre.x + x * std::cos(rotation) - y * std::sin(rotation),
                             centre.y + x * std::sin(rotation) + y * std::cos(rotation));
    }
    return outline;
}

cv::Point2d randomPoint(cv::RNG& rng, cv::Size size, double margin)
{
    return {rng.uniform(margin, size.width - margin), rng.uniform(margin, size.height - margin)};
}

// A thin, gently curving polyline, drawn wider in the middle than at its ends.
DefectLayer scratch(cv::RNG& rng, Surface surface, const cv::Mat& clean, double scale)
{
    const cv::Size size = clean.size();
    Canvas canvas(size);
    cv::Point2d p = randomPoint(rng, size, 0.2 * size.width);
    double angle = rng.uniform(0.0, 2.0 * CV_PI);
    const double bend = rng.uniform(-0.012, 0.012);
    const double length = rng.uniform(0.25, 0.55) * size.width;
    const double width = rng.uniform(1.0, 2.2) * scale;
    const int steps = 48;
    for (int i = 0; i < steps; ++i) {
        const cv::Point2d next =
            p + (length / steps) * cv::Point2d(std::cos(angle), std::sin(angle));
        const double taper = std::sqrt(std::sin(CV_PI * (i + 0.5) / steps));
        canvas.line(p, next, std::max(0.5, width * taper));
        p = next;
        angle += bend + rng.gaussian(0.015);
    }
    DefectLayer layer;
    layer.alpha = canvas.coverage();
    // A scratch catches the light: brighter than the surface, most on metal.
    const double lift = surface == Surface::BrushedMetal ? 0.26 : 0.2;
    layer.appearance = clean + cv::Scalar::all(lift);
    return layer;
}

// A stain: an irregular soft blob, darker and tinted towards brown.
DefectLayer spot(cv::RNG& rng, Surface, const cv::Mat& clean, double scale)
{
    const cv::Size size = clean.size();
    Canvas canvas(size);
    const double radius = rng.uniform(5.0, 15.0) * scale;
    canvas.fill(blobOutline(rng, randomPoint(rng, size, 0.15 * size.width), radius,
                            radius * rng.uniform(0.6, 1.0), 0.01));
    DefectLayer layer;
    const cv::Mat core = canvas.coverage();
    // Soft edge, with a slightly darker rim where the liquid dried last.
    const cv::Mat soft = blurred(core, 1.2 * scale);
    const cv::Mat rim = cv::max(soft - blurred(core, 3.0 * scale), 0.0);
    layer.alpha = cv::min(soft * rng.uniform(0.75, 0.9) + rim * 1.5, 1.0);
    cv::multiply(clean, cv::Scalar(0.38, 0.52, 0.66), layer.appearance);
    return layer;
}

// A jagged dark line with a side branch and a soft shadow.
DefectLayer crack(cv::RNG& rng, Surface, const cv::Mat& clean, double scale)
{
    const cv::Size size = clean.size();
    Canvas canvas(size);
    const double direction = rng.uniform(0.0, 2.0 * CV_PI);
    const double step = 2.0 * scale;

    auto walk = [&](cv::Point2d start, double heading, double length, double width) {
        std::vector<cv::Point2d> path{start};
        const int steps = std::max(2, static_cast<int>(length / step));
        double drift = heading;
        for (int i = 0; i < steps; ++i) {
            drift += rng.gaussian(0.08);
            const double jag = drift + rng.gaussian(0.45);
            path.push_back(path.back() + step * cv::Point2d(std::cos(jag), std::sin(jag)));
            const double taper = 1.0 - 0.7 * i / steps;
            canvas.line(path[path.size() - 2], path.back(), std::max(0.5, width * taper));
        }
        return path;
    };
    const double length = rng.uniform(0.2, 0.4) * size.width;
    const std::vector<cv::Point2d> main = walk(randomPoint(rng, size, 0.25 * size.width), direction,
                                               length, rng.uniform(1.2, 2.0) * scale);
    const int branches = rng.uniform(1, 3);
    for (int b = 0; b < branches; ++b) {
        const cv::Point2d from = main[rng.uniform(static_cast<int>(main.size() / 4),
                                                  static_cast<int>(main.size() * 3 / 4))];
        const double side = rng.uniform(0, 2) == 0 ? -1.0 : 1.0;
        walk(from, direction + side * rng.uniform(0.4, 0.9), length * rng.uniform(0.25, 0.5),
             0.9 * scale);
    }
    DefectLayer layer;
    const cv::Mat core = canvas.coverage();
    layer.alpha = cv::max(core, blurred(core, 1.0 * scale) * 0.45);
    layer.appearance = clean * 0.18;
    return layer;
}

// A chipped-out hole: a dark cavity whose up-left wall is in shadow and down-right wall is lit.
DefectLayer missingMaterial(cv::RNG& rng, Surface surface, const cv::Mat& clean, double scale)
{
    const cv::Size size = clean.size();
    Canvas canvas(size);
    const double radius = rng.uniform(8.0, 18.0) * scale;
    canvas.fill(blobOutline(rng, randomPoint(rng, size, 0.18 * size.width), radius,
                            radius * rng.uniform(0.55, 1.0), 0.035));
    const cv::Mat hole = canvas.coverage();

    // Wall terms, on a softened hole so the walls have some width. The light comes from the upper
    // left: the up-left wall (hole pixels whose up-left neighbour is outside) lies in the rim's
    // shadow, the down-right wall faces the light.
    const cv::Mat soft = blurred(hole, 1.0 * scale);
    const double wall = 2.5 * scale;
    // warpAffine with a (+d, +d) translation gives dst(p) = src(p - d): each pixel's up-left
    // neighbour.
    const cv::Mat towardsUpLeft = (cv::Mat_<double>(2, 3) << 1, 0, wall, 0, 1, wall);
    const cv::Mat towardsDownRight = (cv::Mat_<double>(2, 3) << 1, 0, -wall, 0, 1, -wall);
    cv::Mat upLeftNeighbour, downRightNeighbour;
    cv::warpAffine(soft, upLeftNeighbour, towardsUpLeft, size, cv::INTER_LINEAR,
                   cv::BORDER_CONSTANT);
    cv::warpAffine(soft, downRightNeighbour, towardsDownRight, size, cv::INTER_LINEAR,
                   cv::BORDER_CONSTANT);
    const cv::Mat shadowWall = cv::max(hole - upLeftNeighbour, 0.0);
    const cv::Mat litWall = cv::max(hole - downRightNeighbour, 0.0);

    // Cavity floor: the material's rough interior, much darker than the surface.
    cv::Mat roughness(size, CV_32F);
    rng.fill(roughness, cv::RNG::NORMAL, 0.0, 1.0);
    roughness = blurred(roughness, 0.8 * scale) * 0.25 + 1.0;
    const double floorLevel = surface == Surface::WovenFabric ? 0.10 : 0.14;
    cv::Mat floorGrey = roughness * floorLevel;
    floorGrey = floorGrey + litWall * 0.45 - shadowWall * 0.08;
    floorGrey = cv::max(floorGrey, 0.02);
    cv::Mat floorChannels[3] = {floorGrey, floorGrey, floorGrey};
    cv::Mat floor;
    cv::merge(floorChannels, 3, floor);
    DefectLayer layer;
    layer.alpha = hole;
    // Keep a trace of the surface's colour in the cavity.
    layer.appearance = floor * 0.8 + clean * 0.2 * floorLevel / 0.5;
    return layer;
}

}  // namespace

std::string defectName(DefectType type)
{
    switch (type) {
        case DefectType::Scratch:
            return "scratch";
        case DefectType::Spot:
            return "spot";
        case DefectType::Crack:
            return "crack";
        case DefectType::MissingMaterial:
            return "missing_material";
    }
    throw std::invalid_argument("unknown defect type");
}

std::vector<DefectType> allDefectTypes()
{
    return {DefectType::Scratch, DefectType::Spot, DefectType::Crack, DefectType::MissingMaterial};
}

DefectLayer makeDefect(DefectType type, Surface surface, const cv::Mat& clean, uint64_t seed)
{
    CV_Assert(clean.type() == CV_32FC3 && !clean.empty());
    cv::RNG rng(seed);
    const double scale = clean.cols / 256.0;
    DefectLayer layer;
    switch (type) {
        case DefectType::Scratch:
            layer = scratch(rng, surface, clean, scale);
            break;
        case DefectType::Spot:
            layer = spot(rng, surface, clean, scale);
            break;
        case DefectType::Crack:
            layer = crack(rng, surface, clean, scale);
            break;
        case DefectType::MissingMaterial:
            layer = missingMaterial(rng, surface, clean, scale);
            break;
    }
    cv::min(cv::max(layer.alpha, 0.0), 1.0, layer.alpha);
    layer.alpha.setTo(0.0f, layer.alpha < kMaskAlpha);
    cv::min(cv::max(layer.appearance, 0.0), 1.0, layer.appearance);
    return layer;
}

void applyDefect(const cv::Mat& clean, const DefectLayer& layer, cv::Mat& defective, cv::Mat& mask)
{
    CV_Assert(clean.type() == CV_32FC3 && layer.alpha.type() == CV_32F &&
              layer.appearance.type() == CV_32FC3 && layer.alpha.size() == clean.size() &&
              layer.appearance.size() == clean.size());
    mask = layer.alpha > 0.0f;
    defective = clean.clone();
    for (int y = 0; y < clean.rows; ++y) {
        const float* a = layer.alpha.ptr<float>(y);
        const cv::Vec3f* c = clean.ptr<cv::Vec3f>(y);
        const cv::Vec3f* t = layer.appearance.ptr<cv::Vec3f>(y);
        cv::Vec3f* out = defective.ptr<cv::Vec3f>(y);
        for (int x = 0; x < clean.cols; ++x)
            if (a[x] > 0.0f)
                out[x] = c[x] * (1.0f - a[x]) + t[x] * a[x];
    }
}

cv::Mat toBgr8(const cv::Mat& image)
{
    cv::Mat out;
    image.convertTo(out, CV_8U, 255.0);
    return out;
}

}  // namespace anomaly_synth
