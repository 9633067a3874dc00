// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef OPENCV_ANOMALY_TEST_PRECOMP_HPP
#define OPENCV_ANOMALY_TEST_PRECOMP_HPP

#ifdef ANOMALY_STANDALONE_TESTS
#include <gtest/gtest.h>
/** Skips the current test with a reason (Debian's GoogleTest has GTEST_SKIP). */
#define ANOMALY_SKIP_TEST(reason) GTEST_SKIP() << (reason)
#else
#include "opencv2/ts.hpp"
/** Skips the current test with a reason (OpenCV's bundled GoogleTest predates GTEST_SKIP). */
#define ANOMALY_SKIP_TEST(reason) throw ::cvtest::SkipTestException(reason)
#endif

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "opencv2/anomaly.hpp"

namespace opencv_test {
using namespace cv;
using namespace cv::anomaly;
}  // namespace opencv_test

#endif  // OPENCV_ANOMALY_TEST_PRECOMP_HPP
