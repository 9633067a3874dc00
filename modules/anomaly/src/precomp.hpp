// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_PRECOMP_HPP
#define OPENCV_ANOMALY_PRECOMP_HPP

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "opencv2/anomaly.hpp"

#endif  // OPENCV_ANOMALY_PRECOMP_HPP
