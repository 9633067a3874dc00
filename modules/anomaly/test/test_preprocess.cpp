// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
#include "test_precomp.hpp"

namespace opencv_test {
namespace {

TEST(Anomaly_Preprocess, scales_swaps_and_normalises_by_hand)
{
    // One BGR pixel (B=51, G=102, R=255) at the network size: no resampling involved.
    Mat image(1, 1, CV_8UC3, Scalar(51, 102, 255));
    InputSpec spec;
    spec.size = Size(1, 1);
    spec.rgb = true;
    spec.mean = Scalar(0.5, 0.25, 0.0);
    spec.std = Scalar(0.5, 0.25, 2.0);
    Mat blob;
    makeInputBlob(image, spec, blob);
    ASSERT_EQ(blob.dims, 4);
    EXPECT_EQ(blob.size[0], 1);
    EXPECT_EQ(blob.size[1], 3);
    // RGB order: R = 1.0 -> (1 - 0.5) / 0.5 = 1; G = 0.4 -> (0.4 - 0.25) / 0.25 = 0.6;
    // B = 0.2 -> (0.2 - 0) / 2 = 0.1
    EXPECT_NEAR(blob.at<float>(Vec4i(0, 0, 0, 0)), 1.0f, 1e-6);
    EXPECT_NEAR(blob.at<float>(Vec4i(0, 1, 0, 0)), 0.6f, 1e-6);
    EXPECT_NEAR(blob.at<float>(Vec4i(0, 2, 0, 0)), 0.1f, 1e-6);
}

TEST(Anomaly_Preprocess, batch_of_mixed_images)
{
    InputSpec spec;
    spec.size = Size(8, 6);
    spec.rgb = false;
    spec.mean = Scalar::all(0);
    spec.std = Scalar::all(1);
    std::vector<Mat> images = {Mat(30, 40, CV_8UC1, Scalar(255)),
                               Mat(6, 8, CV_16UC3, Scalar(0, 0, 65535)),
                               Mat(3, 100, CV_32FC4, Scalar(0.25, 0.5, 0.75, 1.0))};
    Mat blob;
    makeInputBlob(images, spec, blob);
    ASSERT_EQ(blob.size[0], 3);
    EXPECT_EQ(blob.size[2], 6);
    EXPECT_EQ(blob.size[3], 8);
    EXPECT_NEAR(blob.at<float>(Vec4i(0, 1, 3, 3)), 1.0f, 1e-6);  // grey replicated
    EXPECT_NEAR(blob.at<float>(Vec4i(1, 2, 3, 3)), 1.0f, 1e-6);  // 16-bit red, BGR order
    EXPECT_NEAR(blob.at<float>(Vec4i(1, 0, 3, 3)), 0.0f, 1e-6);
    EXPECT_NEAR(blob.at<float>(Vec4i(2, 2, 2, 2)), 0.75f, 1e-6);  // alpha dropped
}

TEST(Anomaly_Preprocess, network_image_is_the_blob_before_normalisation)
{
    InputSpec spec;
    spec.size = Size(8, 6);
    spec.rgb = true;
    spec.mean = Scalar(0.5, 0.25, 0.0);  // not applied to the network image
    spec.std = Scalar(0.5, 0.25, 2.0);
    // 16-bit BGRA, pure red: 3 channels, RGB order, alpha dropped, 65535 -> 1.
    Mat network;
    makeNetworkImage(Mat(12, 16, CV_16UC4, Scalar(0, 0, 65535, 65535)), spec, network);
    ASSERT_EQ(network.type(), CV_32FC3);
    ASSERT_EQ(network.size(), Size(8, 6));
    EXPECT_EQ(network.at<Vec3f>(3, 4), Vec3f(1.f, 0.f, 0.f));
    // A grey ramp shrunk more than twofold: the same pixels makeInputBlob normalises.
    Mat ramp(40, 60, CV_8UC1);
    for (int y = 0; y < ramp.rows; ++y)
        for (int x = 0; x < ramp.cols; ++x)
            ramp.at<uchar>(y, x) = uchar(4 * x);
    makeNetworkImage(ramp, spec, network);
    Mat blob;
    makeInputBlob(ramp, spec, blob);
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 6; ++y)
            for (int x = 0; x < 8; ++x)
                EXPECT_NEAR((network.at<Vec3f>(y, x)[c] - spec.mean[c]) / spec.std[c],
                            blob.at<float>(Vec4i(0, c, y, x)), 1e-5);
    // Area averaging of 7.5 columns of the ramp (4 grey levels apart) around column 3.5 of 8.
    EXPECT_NEAR(network.at<Vec3f>(0, 3)[0], 4 * (3.5 * 7.5 - 0.5) / 255.0, 1e-4);
    EXPECT_THROW(makeNetworkImage(Mat(), spec, network), cv::Exception);
    spec.size = Size(0, 6);
    EXPECT_THROW(makeNetworkImage(ramp, spec, network), cv::Exception);
}

TEST(Anomaly_Preprocess, rejects_bad_input)
{
    InputSpec spec;
    spec.size = Size(4, 4);
    Mat blob;
    EXPECT_THROW(makeInputBlob(Mat(), spec, blob), cv::Exception);
    EXPECT_THROW(makeInputBlob(Mat(4, 4, CV_16SC3), spec, blob), cv::Exception);
    spec.std = Scalar(1, 0, 1);
    EXPECT_THROW(makeInputBlob(Mat(4, 4, CV_8UC3), spec, blob), cv::Exception);
}

}  // namespace
}  // namespace opencv_test
