// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// Default values of the public result and data set structs. They are set here, not by default
// member initializers in the headers, because OpenCV 4.6's Python binding generator misreads those.
#include "opencv2/anomaly.hpp"

namespace cv {
namespace anomaly {

DefectRegion::DefectRegion() : area(0), peakScore(0.f) {}

AnomalyResult::AnomalyResult()
    : score(0.f),
      normalizedScore(0.f),
      isAnomalous(false),
      localScore(0.f),
      globalScore(0.f),
      statisticsScore(0.f)
{
}

DatasetSample::DatasetSample() : isAnomalous(false) {}

DefectConfig::DefectConfig() : pixelValue(0), saturationThreshold(0), relativeSaturation(false) {}

TestSet::TestSet() : layout(DATASET_AUTO), hasMasks(false) {}

F1Max::F1Max() : f1(0), threshold(0), precision(0), recall(0) {}

PixelMetrics::PixelMetrics() : auroc(0), ap(0) {}

InputSpec::InputSpec() : rgb(true), std(Scalar::all(1)) {}

}  // namespace anomaly
}  // namespace cv
