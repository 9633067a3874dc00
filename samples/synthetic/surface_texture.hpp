// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Defect-free surface textures of the synthetic inspection dataset.
#ifndef ANOMALY_SYNTH_SURFACE_TEXTURE_HPP
#define ANOMALY_SYNTH_SURFACE_TEXTURE_HPP

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace anomaly_synth {

enum class Surface
{
    BrushedMetal,
    WovenFabric,
    GrainyPlastic
};

/** @brief Command-line names: "brushed_metal", "woven_fabric", "grainy_plastic". */
std::string surfaceName(Surface surface);
std::vector<Surface> allSurfaces();
/** @brief Inverse of surfaceName(); throws std::invalid_argument for an unknown name. */
Surface surfaceFromName(const std::string& name);

/** @brief Renders one defect-free sample of a surface.
Every sample of a surface is stationary (the same statistics everywhere in the image) and samples
differ only in their random realisation and a small brightness jitter, as parts from one line do.
@return CV_32FC3, BGR, values in [0, 1], size x size. Same seed => same pixels. */
cv::Mat renderSurface(Surface surface, int size, uint64_t seed);

}  // namespace anomaly_synth

#endif  // ANOMALY_SYNTH_SURFACE_TEXTURE_HPP
