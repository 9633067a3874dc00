// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "test_helpers.hpp"

#include <opencv2/imgproc.hpp>

std::vector<cv::Mat> makeTextureImages(int count, int size, uint64_t seed)
{
    cv::RNG rng(seed);
    std::vector<cv::Mat> images;
    for (int i = 0; i < count; ++i) {
        cv::Mat noise(size, size, CV_8UC3);
        rng.fill(noise, cv::RNG::UNIFORM, 0, 255);
        cv::GaussianBlur(noise, noise, cv::Size(0, 0), 2.0);
        cv::normalize(noise, noise, 0, 255, cv::NORM_MINMAX);
        images.push_back(noise);
    }
    return images;
}

torch::Tensor toTensor(const cv::Mat& m)
{
    std::vector<int64_t> sizes(m.size.p, m.size.p + m.dims);
    return torch::from_blob(const_cast<float*>(m.ptr<float>()), sizes).clone();
}
