// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The direction of a texture's grain (streaks, grinding or machining marks), from its gradients.
#ifndef ANOMALY_TRAIN_TEXTURE_GRAIN_HPP
#define ANOMALY_TRAIN_TEXTURE_GRAIN_HPP

#include "defect_synthesis.hpp"

#include <opencv2/core.hpp>

namespace anomaly_train {

/** Squared Sobel derivatives of an image's grey levels, summed over its pixels. A vertical grain
(streaks running from top to bottom) changes across x, so its horizontal energy is the larger. */
struct GrainEnergy
{
    double horizontal = 0;  // sum of (d/dx)^2
    double vertical = 0;    // sum of (d/dy)^2
};

/** image: CV_8U, CV_16U or CV_32F with 1, 3 or 4 channels (colour channels averaged, depth
scaled to [0, 1]), not empty; else std::invalid_argument. */
GrainEnergy grainEnergy(const cv::Mat& image);

/** The band edges whose bands have their inner border across the grain: TopBottom when the
horizontal energy is at least minRatio times the vertical (a vertical grain), LeftRight for the
reverse, All otherwise (no clear grain, or no gradients at all). minRatio >= 1, else
std::invalid_argument. */
BandEdges bandEdgesAcrossGrain(const GrainEnergy& energy, double minRatio = 2.0);

}  // namespace anomaly_train

#endif  // ANOMALY_TRAIN_TEXTURE_GRAIN_HPP
