// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#ifndef ANOMALY_TEST_EXPORT_TEST_HELPERS_HPP
#define ANOMALY_TEST_EXPORT_TEST_HELPERS_HPP

#include <torch/torch.h>
#include <opencv2/core.hpp>

#include <vector>

/** Smooth random colour textures, size x size, CV_8UC3, reproducible from seed. */
std::vector<cv::Mat> makeTextureImages(int count, int size, uint64_t seed);
/** cv::Mat (N-D float) -> tensor copy. */
torch::Tensor toTensor(const cv::Mat& m);

#endif  // ANOMALY_TEST_EXPORT_TEST_HELPERS_HPP
