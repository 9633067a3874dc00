// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Defects painted onto synthetic surfaces, each with the exact mask of the pixels it changes.
#ifndef ANOMALY_SYNTH_DEFECT_PAINTER_HPP
#define ANOMALY_SYNTH_DEFECT_PAINTER_HPP

#include "surface_texture.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace anomaly_synth {

enum class DefectType
{
    Scratch,
    Spot,
    Crack,
    MissingMaterial
};

/** @brief Folder names: "scratch", "spot", "crack", "missing_material". */
std::string defectName(DefectType type);
std::vector<DefectType> allDefectTypes();

/** @brief A defect as a layer over the clean surface: where it is and what it looks like. */
struct DefectLayer
{
    cv::Mat alpha;       //!< CV_32F in [0,1]: 0 exactly where the surface is untouched
    cv::Mat appearance;  //!< CV_32FC3: the surface's look where alpha is 1
};

/** @brief Designs one random defect of a type for a clean surface image (CV_32FC3 in [0,1]).
Alpha below the mask level is cut to 0, so every pixel the defect changes is in its mask. */
DefectLayer makeDefect(DefectType type, Surface surface, const cv::Mat& clean, uint64_t seed);

/** @brief Blends the layer over the clean image.
@param defective CV_32FC3: clean * (1 - alpha) + appearance * alpha; clean itself where alpha is 0.
@param mask CV_8U, 255 where alpha > 0, else 0 (the ground-truth mask). */
void applyDefect(const cv::Mat& clean, const DefectLayer& layer, cv::Mat& defective, cv::Mat& mask);

/** @brief The dataset's 8-bit form of a [0,1] CV_32FC3 image (rounded). */
cv::Mat toBgr8(const cv::Mat& image);

}  // namespace anomaly_synth

#endif  // ANOMALY_SYNTH_DEFECT_PAINTER_HPP
