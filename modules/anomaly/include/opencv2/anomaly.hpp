// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_HPP
#define OPENCV_ANOMALY_HPP

/** @defgroup anomaly Unsupervised anomaly detection

Learns what good parts look like from defect-free images only, then gives every image a score and an
OK/NG label and every pixel an anomaly value. The model (pretrained CNN backbone, dual-branch
local/global transformer, normalizing-flow or reconstruction head) runs through cv::dnn.
See cv::anomaly::LocalGlobalFlow.
*/

#include "opencv2/anomaly/dataset.hpp"
#include "opencv2/anomaly/local_global_flow.hpp"
#include "opencv2/anomaly/metrics.hpp"
#include "opencv2/anomaly/model_io.hpp"

#endif  // OPENCV_ANOMALY_HPP
