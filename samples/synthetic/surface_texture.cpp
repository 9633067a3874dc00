// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "surface_texture.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <stdexcept>

namespace anomaly_synth {
namespace {

// Textures are rendered on a canvas larger than the image and cropped, so that blurs never see the
// border and the edges of the image look like its middle. Three times the widest blur sigma.
int paddingFor(double scale)
{
    return static_cast<int>(std::ceil(3.0 * 18.0 * scale)) + 4;
}

// Zero-mean, unit-variance noise smoothed with an anisotropic Gaussian (sigmaX along rows).
cv::Mat smoothNoise(cv::RNG& rng, cv::Size size, double sigmaX, double sigmaY)
{
    cv::Mat noise(size, CV_32F);
    rng.fill(noise, cv::RNG::NORMAL, 0.0, 1.0);
    cv::GaussianBlur(noise, noise, cv::Size(), sigmaX, sigmaY, cv::BORDER_REFLECT);
    cv::Scalar mean, stddev;
    cv::meanStdDev(noise, mean, stddev);
    noise -= mean[0];
    noise *= 1.0 / std::max(stddev[0], 1e-6);
    return noise;
}

// Combines a grey-level relief with a base colour: pixel = colour * (1 + relief), clamped to [0,1].
cv::Mat colourise(const cv::Mat& relief, const cv::Vec3f& colourBgr)
{
    cv::Mat channels[3];
    for (int c = 0; c < 3; ++c)
        channels[c] = (relief + 1.0f) * colourBgr[c];
    cv::Mat image;
    cv::merge(channels, 3, image);
    cv::min(cv::max(image, 0.0), 1.0, image);
    return image;
}

cv::Mat brushedMetal(cv::RNG& rng, cv::Size canvas, double scale)
{
    // Long polishing streaks, finer streaks, a faint isotropic grain and a gentle sheen across
    // rows.
    cv::Mat relief = 0.060f * smoothNoise(rng, canvas, 18.0 * scale, 0.6 * scale) +
                     0.035f * smoothNoise(rng, canvas, 4.0 * scale, 0.5 * scale) +
                     0.012f * smoothNoise(rng, canvas, 0.6, 0.6);
    const double phase = rng.uniform(0.0, 2.0 * CV_PI);
    for (int y = 0; y < canvas.height; ++y) {
        const float sheen =
            0.04f * static_cast<float>(std::sin(phase + 2.0 * CV_PI * y / canvas.height));
        relief.row(y) += sheen;
    }
    const float level = 0.60f + static_cast<float>(rng.gaussian(0.012));
    return colourise(relief, cv::Vec3f(level * 1.04f, level * 1.01f, level * 0.97f));
}

cv::Mat wovenFabric(cv::RNG& rng, cv::Size canvas, double scale)
{
    const double period = 9.0 * scale;  // one thread width in pixels
    const double angle = rng.uniform(-0.02, 0.02);
    const double offsetX = rng.uniform(0.0, 2.0 * period);
    const double offsetY = rng.uniform(0.0, 2.0 * period);
    const double cosA = std::cos(angle), sinA = std::sin(angle);

    // Each thread has its own thickness-dependent brightness; fibres run along the thread.
    const int threads = static_cast<int>(canvas.width * 1.5 / period) + 4;
    std::vector<float> warpShade(threads), weftShade(threads);
    for (int i = 0; i < threads; ++i) {
        warpShade[i] = static_cast<float>(rng.gaussian(0.035));
        weftShade[i] = static_cast<float>(rng.gaussian(0.035));
    }
    const cv::Mat warpFibres = smoothNoise(rng, canvas, 0.5, 3.0 * scale);
    const cv::Mat weftFibres = smoothNoise(rng, canvas, 3.0 * scale, 0.5);

    cv::Mat relief(canvas, CV_32F);
    for (int y = 0; y < canvas.height; ++y) {
        float* row = relief.ptr<float>(y);
        const float* warpF = warpFibres.ptr<float>(y);
        const float* weftF = weftFibres.ptr<float>(y);
        for (int x = 0; x < canvas.width; ++x) {
            const double u = (cosA * x + sinA * y + offsetX) / period;
            const double v = (-sinA * x + cosA * y + offsetY) / period;
            const double cu = std::floor(u), cv_ = std::floor(v);
            const double fu = u - cu, fv = v - cv_;
            const int iu = (static_cast<int>(cu) % threads + threads) % threads;
            const int iv = (static_cast<int>(cv_) % threads + threads) % threads;
            const bool warpOnTop = ((static_cast<long>(cu) + static_cast<long>(cv_)) & 1) == 0;
            // Across a thread: rounded profile; along it: the thread dips where it goes under.
            double across, along, shade, fibre;
            if (warpOnTop) {
                across = std::sin(CV_PI * fu);
                along = std::sin(CV_PI * fv);
                shade = warpShade[iu];
                fibre = warpF[x];
            } else {
                across = std::sin(CV_PI * fv);
                along = std::sin(CV_PI * fu);
                shade = weftShade[iv];
                fibre = weftF[x];
            }
            row[x] = static_cast<float>(-0.30 + 0.28 * std::sqrt(across) + 0.10 * along + shade +
                                        0.045 * fibre);
        }
    }
    cv::GaussianBlur(relief, relief, cv::Size(), 0.6 * scale);
    const float level = 0.70f + static_cast<float>(rng.gaussian(0.012));
    return colourise(relief, cv::Vec3f(level * 0.70f, level * 0.90f, level * 1.0f));
}

cv::Mat grainyPlastic(cv::RNG& rng, cv::Size canvas, double scale)
{
    // Fine sand-blasted grain over a soft mottling from the moulding process.
    cv::Mat relief = 0.070f * smoothNoise(rng, canvas, 0.8 * scale, 0.8 * scale) +
                     0.040f * smoothNoise(rng, canvas, 2.0 * scale, 2.0 * scale) +
                     0.030f * smoothNoise(rng, canvas, 12.0 * scale, 12.0 * scale);
    const float level = 0.34f + static_cast<float>(rng.gaussian(0.008));
    return colourise(relief, cv::Vec3f(level * 0.92f, level * 1.02f, level * 0.98f));
}

}  // namespace

std::string surfaceName(Surface surface)
{
    switch (surface) {
        case Surface::BrushedMetal:
            return "brushed_metal";
        case Surface::WovenFabric:
            return "woven_fabric";
        case Surface::GrainyPlastic:
            return "grainy_plastic";
    }
    throw std::invalid_argument("unknown surface");
}

std::vector<Surface> allSurfaces()
{
    return {Surface::BrushedMetal, Surface::WovenFabric, Surface::GrainyPlastic};
}

Surface surfaceFromName(const std::string& name)
{
    for (Surface surface : allSurfaces())
        if (surfaceName(surface) == name)
            return surface;
    throw std::invalid_argument("unknown surface '" + name +
                                "' (brushed_metal, woven_fabric or grainy_plastic)");
}

cv::Mat renderSurface(Surface surface, int size, uint64_t seed)
{
    if (size < 32)
        throw std::invalid_argument("image size must be at least 32 pixels");
    cv::RNG rng(seed);
    const double scale = size / 256.0;
    const int padding = paddingFor(scale);
    const cv::Size canvasSize(size + 2 * padding, size + 2 * padding);
    cv::Mat canvas;
    switch (surface) {
        case Surface::BrushedMetal:
            canvas = brushedMetal(rng, canvasSize, scale);
            break;
        case Surface::WovenFabric:
            canvas = wovenFabric(rng, canvasSize, scale);
            break;
        case Surface::GrainyPlastic:
            canvas = grainyPlastic(rng, canvasSize, scale);
            break;
    }
    return canvas(cv::Rect(padding, padding, size, size)).clone();
}

}  // namespace anomaly_synth
