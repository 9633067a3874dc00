// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Raw network maps -> scores, full-size maps, mask and regions (doc/model-format.md section 5).
#ifndef OPENCV_ANOMALY_POSTPROCESS_HPP
#define OPENCV_ANOMALY_POSTPROCESS_HPP

#include <opencv2/core.hpp>

#include "model_settings.hpp"
#include "opencv2/anomaly/local_global_flow.hpp"

namespace cv {
namespace anomaly {

/** Gaussian smoothing with sigma in map pixels (no-op for sigma <= 0). Border: reflect. */
Mat smoothMap(const Mat& map, double sigma);

/** Image score of a map: maximum or mean of the k largest values. */
float reduceMap(const Mat& map, const ScoreReduction& reduction);

/** clamp(0.5 + (raw - threshold) / (max - min), 0, 1). */
float normalizeScore(float raw, float threshold, float normMin, float normMax);

/** Connected regions of a 0/255 mask with their contour, box, area and peak of `map` inside. */
std::vector<DefectRegion> findDefectRegions(const Mat& map, const Mat& mask, double minArea);

}  // namespace anomaly
}  // namespace cv

#endif  // OPENCV_ANOMALY_POSTPROCESS_HPP
